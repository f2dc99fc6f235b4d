"""The report as Markdown, for a wiki or a chat: the header, the narrative, the headline
figures and every section as a table. Text from the database is escaped, so a title can
neither break a table nor inject a link or HTML."""

import re

from app.reports import formats as f
from app.reports.quarterly import QuarterlyReport
from app.reports.tables import ProseHeader, ProseTable, prose, report_tables

# Inline Markdown and raw HTML: a title can neither break the table nor become a link or a tag.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
PROSE_TABLES = ("top_pain_points", "cost_by_stage", "cost_by_persona", "opened", "resolved",
                "velocity_by_month", "maturity", "initiatives", "model_value", "value_at_risk")


def escape(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _table(headers: list[ProseHeader], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(escape(h.title) for h in headers) + " |",
             "|" + "|".join("---:" if h.numeric else "---" for h in headers) + "|"]
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
    return lines


def _section(table: ProseTable) -> list[str]:
    lines = [f"## {escape(table.title)}", ""]
    if table.note:
        lines += [f"*{escape(table.note)}*", ""]
    if table.rows:
        lines += _table(table.headers, table.rows)
    else:
        lines.append("Nothing to list.")
    if table.more:
        lines += ["", f"*{escape(table.more)}*"]
    return lines + [""]


def write_md(report: QuarterlyReport) -> bytes:
    r = report
    period = (f"{escape(r.org_name)} · {r.first:%-d %b %Y} – {r.last:%-d %b %Y} · compared "
              f"with {r.previous.label} · generated {r.today.isoformat()}")
    lines = [f"# {escape(r.title)}", "", period, ""]
    if r.in_progress:
        lines += [(f"> {r.quarter.label} is still in progress: its figures are those known "
                   f"on {r.today.isoformat()}."), ""]
    if r.scope.note:
        lines += [f"> {escape(r.scope.note)}", ""]
    lines += ["## Summary", "", escape(" ".join(r.narrative)), "", "## Headline figures", ""]
    rows = []
    for h in r.headline:
        kind = h.metric.kind
        rows.append([h.metric.label, f.shown(kind, h.value, r.currency, unit=True),
                     (f"{f.shown(kind, h.low, r.currency)} – {f.shown(kind, h.high, r.currency)}"
                      if h.has_range else ""),
                     f.shown(kind, h.previous, r.currency, unit=True),
                     " ".join(filter(None, [h.change_words, h.verdict and f"({h.verdict})"]))])
    lines += _table([ProseHeader("Figure", False), ProseHeader(r.quarter.label, True),
                     ProseHeader("Range", True, True), ProseHeader(r.previous.label, True),
                     ProseHeader("Change", False)], rows) + [""]
    by_key = {t.key: t for t in report_tables(r)}
    for key in PROSE_TABLES:
        lines += _section(prose(by_key[key], r.currency))
    return "\n".join(lines).encode("utf-8")
