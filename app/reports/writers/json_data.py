"""The report as JSON, in the API's conventions: decimals as strings at the API's places (money
to cents), counts as integers, dates ISO, no figure as null."""

import json
from typing import Any

from app.reports import formats as f
from app.reports.quarterly import QuarterlyReport
from app.reports.tables import Column, cell_kind, report_tables

SKIPPED = ("about", "headline", "narrative")  # carried at the top level instead


def _json_value(kind: str, value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if kind == f.COUNT:
        return int(value)
    return f.plain(kind, value)


def _cell(column: Column, raw: Any) -> Any:
    value, kind = cell_kind(column, raw)  # a Typed cell (a ratio in a money column) keeps its kind
    return _json_value(kind, value)


def report_dict(report: QuarterlyReport) -> dict[str, Any]:
    r = report
    sections, listed = {}, {}
    for table in report_tables(r):
        if table.key in SKIPPED:
            continue
        if table.total is not None:
            listed[table.key] = {"listed": len(table.rows), "total": table.total}
        sections[table.key] = [
            {c.key: _cell(c, v) for c, v in zip(table.columns, row, strict=True)}
            for row in table.rows
        ]
    return {
        "organisation": r.org_name, "quarter": r.quarter.label, "from": r.first.isoformat(),
        "to": r.last.isoformat(), "previous_quarter": r.previous.label,
        "scope": {"label": r.scope.label, "team": r.scope.team_slug, "note": r.scope.note or None},
        "currency": r.currency, "generated_on": r.today.isoformat(),
        "in_progress": r.in_progress, "narrative": r.narrative,
        "headline": {
            h.key: {"label": h.metric.label, "unit": h.metric.unit.format(currency=r.currency),
                    "value": _json_value(h.metric.kind, h.value),
                    "low": _json_value(h.metric.kind, h.low if h.has_range else None),
                    "high": _json_value(h.metric.kind, h.high if h.has_range else None),
                    "previous": _json_value(h.metric.kind, h.previous),
                    "change": h.change_words, "verdict": h.verdict or None, "n": h.n,
                    "provisional": h.provisional}
            for h in r.headline
        },
        "sections": sections,
        # Sections that list only the first of their rows: how many, of how many.
        "listed": listed,
    }


def write_json(report: QuarterlyReport) -> bytes:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2).encode("utf-8")
