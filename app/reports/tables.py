"""The report as typed tables: what the XLSX (a sheet each), the CSV zip (a file each), the
Markdown and the JSON write, so that every format carries the same rows. Pure: no I/O.

A cell holds the exact value; its column's kind (or a `Typed` cell's own, in the headline
table where each row is another kind of figure) says how formats.py rounds and shows it.
"""

from dataclasses import dataclass, field
from typing import Any

from app.reports import formats as f
from app.reports.quarterly import QuarterlyReport


@dataclass(frozen=True)
class Column:
    key: str  # CSV header and JSON key
    title: str  # what a person reads
    kind: str = f.TEXT


@dataclass(frozen=True)
class Typed:
    """A cell whose kind is not its column's (the headline's values)."""

    value: Any
    kind: str


@dataclass
class Table:
    key: str  # sheet and file name
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""
    total: int | None = None  # the rows there are, when `rows` lists only the first of them
    more_what: str = ""  # what the unlisted rows are: "initiatives, with smaller savings"

    @property
    def more(self) -> str:
        """"And 4,466 more initiatives, …", said after the rows when some are left out."""
        hidden = (self.total or 0) - len(self.rows)
        return f"And {hidden:,} more {self.more_what}." if hidden > 0 else ""


def cell_kind(column: Column, value: Any) -> tuple[Any, str]:
    if isinstance(value, Typed):
        return value.value, value.kind
    return value, column.kind


def _about(r: QuarterlyReport, sections: list[Table]) -> Table:
    rows = [
        ["organisation", r.org_name], ["quarter", r.quarter.label],
        ["first_day", r.first.isoformat()], ["last_day", r.last.isoformat()],
        ["previous_quarter", r.previous.label], ["scope", r.scope.label],
        ["team", r.scope.team_slug or ""], ["currency", r.currency],
        ["generated_on", r.today.isoformat()],
        ["in_progress", "yes" if r.in_progress else "no"],
    ]
    if r.scope.note:
        rows.append(["note", r.scope.note])
    # The CSV files carry no prose: how many rows a capped table lists, of how many, is here.
    for table in sections:
        if table.total is not None:
            rows += [[f"{table.key}_listed", str(len(table.rows))],
                     [f"{table.key}_total", str(table.total)]]
    return Table("about", "About this report",
                 [Column("field", "Field"), Column("value", "Value")], rows)


def _headline(r: QuarterlyReport) -> Table:
    table = Table("headline", f"Headline figures, {r.quarter.label} against {r.previous.label}", [
        Column("metric", "Metric"), Column("figure", "Figure"), Column("unit", "Unit"),
        Column("value", r.quarter.label), Column("low", "Low"), Column("high", "High"),
        Column("previous", r.previous.label), Column("change", "Change"),
        Column("verdict", "Better or worse"), Column("n", "Based on", f.COUNT),
        Column("provisional", "Provisional"),
    ])
    for h in r.headline:
        kind = h.metric.kind
        table.rows.append([
            h.key, h.metric.label, h.metric.unit.format(currency=r.currency),
            Typed(h.value, kind), Typed(h.low if h.has_range else None, kind),
            Typed(h.high if h.has_range else None, kind), Typed(h.previous, kind),
            h.change_words, h.verdict, h.n, "yes" if h.provisional else "",
        ])
    return table


def _narrative(r: QuarterlyReport) -> Table:
    return Table("narrative", "In a few sentences", [Column("sentence", "Sentence")],
                 [[s] for s in r.narrative])


def _top(r: QuarterlyReport) -> Table:
    total = r.figure("annual_cost").value
    table = Table("top_pain_points", "Top 10 pain points by annual cost", [
        Column("rank", "#", f.COUNT), Column("title", "Pain point"), Column("team", "Team"),
        Column("persona", "Persona"), Column("stage", "Stage"),
        Column("annual_cost", "Annual cost", f.MONEY), Column("low", "Low", f.MONEY),
        Column("high", "High", f.MONEY), Column("hours_per_week", "Hours a week", f.HOURS),
        Column("share", "Share of the cost", f.RATIO),
    ], note=f"Recurring pain points open at the end of {r.quarter.label}, by annual run-rate.")
    for rank, p in enumerate(r.top_pain_points, start=1):
        table.rows.append([rank, p.title, p.team, p.persona, p.stage, p.annual_run_rate,
                           p.annual_run_rate_low, p.annual_run_rate_high, p.hours_per_week,
                           p.annual_run_rate / total if total else None])
    return table


def _listed(key: str, title: str, listing, date_column: Column, *, note: str) -> Table:
    table = Table(key, title, [
        Column("id", "Id", f.COUNT), Column("title", "Pain point"), Column("team", "Team"),
        Column("persona", "Persona"), Column("stage", "Stage"), Column("kind", "Kind"),
        Column("status", "Status"), date_column,
        Column("annual_cost", "Annual cost", f.MONEY), Column("low", "Low", f.MONEY),
        Column("high", "High", f.MONEY),
    ], note=note)
    for row in listing.rows:
        pp = row.pain_point
        day = pp.observed_since if date_column.key == "observed_since" else pp.resolved_on
        table.rows.append([pp.id, pp.title, row.team, row.persona, row.stage,
                           pp.kind.value.replace("_", "-"), pp.status.value.replace("_", " "),
                           day, row.annual_cost, row.annual_cost_low, row.annual_cost_high])
    if listing.total > len(listing.rows):
        table.note += f" The {len(listing.rows)} costliest of {listing.total} are listed."
    table.total, table.more_what = listing.total, "pain points, costing less: see the ledger"
    return table


def _by_group(key: str, title: str, label: str, rows) -> Table:
    table = Table(key, title, [
        Column("key", "Key"), Column("label", label),
        Column("cost", "Cost in the quarter", f.MONEY),
        Column("cost_low", "Cost low", f.MONEY), Column("cost_high", "Cost high", f.MONEY),
        Column("annual_cost", "Annual cost at the end", f.MONEY),
        Column("annual_cost_low", "Annual cost low", f.MONEY),
        Column("annual_cost_high", "Annual cost high", f.MONEY),
        Column("hours_per_week", "Hours a week", f.HOURS),
        Column("pain_points", "Pain points", f.COUNT),
    ])
    for g in rows:
        table.rows.append([g.key, g.label, g.cost, g.cost_low, g.cost_high, g.annual_run_rate,
                           g.annual_run_rate_low, g.annual_run_rate_high, g.hours_per_week,
                           g.pain_points])
    return table


def _months(r: QuarterlyReport) -> Table:
    table = Table("velocity_by_month", "Deployments by month", [
        Column("month", "Month", f.MONTH), Column("deployments", "Deployments", f.COUNT),
        Column("rollbacks", "Rollbacks", f.COUNT),
        Column("change_failure_rate", "Change failure rate", f.RATIO),
    ], note="Calendar months in UTC.")
    for m in r.months:
        table.rows.append([m.month, m.deployments, m.rollbacks, m.change_failure_rate])
    return table


def _maturity(r: QuarterlyReport) -> Table:
    table = Table("maturity", "Maturity at the quarter's end", [
        Column("team", "Team"), Column("team_slug", "Slug"),
        Column("previous_level", f"Level, end of {r.previous.label}", f.COUNT),
        Column("previous_score", f"Score, end of {r.previous.label}", f.SCORE),
        Column("level", f"Level, end of {r.quarter.label}", f.COUNT),
        Column("score", f"Score, end of {r.quarter.label}", f.SCORE),
        Column("change", "Change", f.SCORE), Column("assessed_on", "Assessed on", f.DATE),
    ], note="Each team's latest assessment on or before the quarter's last day.",
        total=r.maturity_total,
        more_what="teams, whose maturity moved less or not at all: see the maturity dashboard")
    if r.maturity_total > len(r.maturity):
        table.note += (f" The {len(r.maturity)} teams of {r.maturity_total:,} whose maturity "
                       "moved most (a change of level first) are listed.")
    for m in r.maturity:
        table.rows.append([m.team, m.team_slug, m.previous_level, m.previous_score, m.level,
                           m.score, m.change, m.assessed_on])
    return table


def _initiatives(r: QuarterlyReport) -> Table:
    table = Table("initiatives", "Initiatives: expected and realized savings", [
        Column("id", "Id", f.COUNT), Column("title", "Initiative"), Column("team", "Team"),
        Column("status", "Status"), Column("delivered_on", "Delivered on", f.DATE),
        Column("expected", "Expected savings a year", f.MONEY),
        Column("expected_low", "Low", f.MONEY), Column("expected_high", "High", f.MONEY),
        Column("realized", f"Realized in {r.quarter.label}", f.MONEY),
        Column("one_time_cost", "One-time cost", f.MONEY),
        Column("yearly_run_cost", "Yearly run cost", f.MONEY),
        Column("roi", "ROI over 3 years", f.RATIO),
        Column("payback_months", "Payback (months)", f.NUMBER),
    ], note="Savings count the links to the pain points in the report's scope; payback is "
            "empty when the savings never exceed the run cost.", total=r.initiatives_total,
        more_what="initiatives, with smaller expected savings: see the ROI dashboard")
    if r.initiatives_total > len(r.initiatives):
        table.note += (f" The {len(r.initiatives)} of {r.initiatives_total:,} with the largest "
                       "expected savings are listed.")
    for i in r.initiatives:
        fig = i.figures
        table.rows.append([i.id, i.title, i.team, i.status.replace("_", " "), i.delivered_on,
                           fig.expected, fig.expected_low, fig.expected_high, fig.realized,
                           i.one_time_cost, i.yearly_run_cost, fig.roi, fig.payback_months])
    return table


def _value(r: QuarterlyReport) -> Table:
    table = Table("model_value", "Model value", [
        Column("key", "Key"), Column("figure", "Figure"),
        Column("value", r.quarter.label, f.MONEY), Column("low", "Low", f.MONEY),
        Column("high", "High", f.MONEY), Column("models", "Models", f.COUNT),
    ], note="What the models earn: measured from their KPIs in the months recorded, else "
            "estimated from their annual value; the same figures as the metrics API.")
    v = r.value
    if v is None:
        return table
    fig, delay, risk = v.figures, v.delay, v.risk
    share = fig.measured / fig.value.expected if fig.value.expected else None
    per_dollar = fig.per_compute_dollar
    table.rows = [
        ["value_delivered", "Value delivered", fig.value.expected, fig.value.low, fig.value.high,
         None],
        ["value_measured", "of which measured by KPIs", fig.measured, None, None, None],
        ["value_estimated", "of which estimated from annual values", fig.estimated, None, None,
         None],
        ["measured_share", "Measured share", Typed(share, f.RATIO), None, None, None],
        ["compute_cost", "Compute cost", fig.compute, None, None, None],
        ["net_value", "Net value (value delivered − compute)", fig.net, None, None, None],
        ["value_per_compute_dollar", f"Value per {r.currency} of compute",
         Typed(per_dollar, f.NUMBER), None, None, None],
        ["cost_of_delay", "Cost of delay (lead time beyond the target)", delay.cost.expected,
         delay.cost.low, delay.cost.high, delay.models],
        ["week_value", "Value of a week cut from their lead time", delay.week_value.expected,
         delay.week_value.low, delay.week_value.high, delay.models],
        ["value_at_risk", f"Value at risk on {risk.day.isoformat()} (a year)",
         risk.value.expected, risk.value.low, risk.value.high, risk.count],
    ]
    return table


def _at_risk(r: QuarterlyReport) -> Table:
    risk = r.value.risk if r.value else None
    table = Table("value_at_risk", "Models whose value is at risk", [
        Column("model", "Model"), Column("team", "Team"), Column("reasons", "Why"),
        Column("annual_value", "Annual value", f.MONEY), Column("low", "Low", f.MONEY),
        Column("high", "High", f.MONEY),
    ], note="In production and stale, or with a quality metric degraded since the last "
            "deployment; annual value measured over the last three months, else estimated.",
        total=risk.count if risk else 0,
        more_what="models at risk, with a smaller annual value: see the value dashboard")
    for m in (risk.models if risk else []):
        table.rows.append([m.name, m.team_name, "; ".join(m.reasons), m.annual_value.expected,
                           m.annual_value.low, m.annual_value.high])
    return table


def report_tables(r: QuarterlyReport) -> list[Table]:
    """Every table of the report, in reading order."""
    sections = [
        _listed("opened", f"Pain points opened in {r.quarter.label}", r.opened,
                Column("observed_since", "Observed since", f.DATE),
                note="First observed in the quarter; annual cost is the run-rate of a "
                     "recurring pain point, the cost of a one-time one."),
        _listed("resolved", f"Pain points resolved in {r.quarter.label}", r.resolved,
                Column("resolved_on", "Resolved on", f.DATE),
                note="Annual cost is what each cost a year while open."),
        _by_group("cost_by_stage", "Cost by lifecycle stage", "Stage", r.cost_by_stage),
        _by_group("cost_by_persona", "Cost by persona", "Persona", r.cost_by_persona),
        _months(r), _maturity(r), _initiatives(r), _value(r), _at_risk(r),
    ]
    return [_about(r, sections), _headline(r), _narrative(r), _top(r), *sections]


# --- for people: the page, the PDF and Markdown ------------------------------------------------

# Keys for programs (slugs, ids) that a reader does not need.
NOT_FOR_READERS = frozenset({"key", "team_slug", "id", "metric"})


@dataclass(frozen=True)
class ProseHeader:
    title: str
    numeric: bool  # right-aligned
    is_range: bool = False  # "low – high": may wrap at the dash
    kind: str = f.TEXT

    @property
    def css(self) -> str:
        """The cell's classes: numbers right-aligned, dates kept on one line."""
        return " ".join(filter(None, ["num" if self.numeric else "",
                                      "range" if self.is_range else "",
                                      "date" if self.kind in (f.DATE, f.MONTH) else ""]))


@dataclass
class ProseTable:
    key: str
    title: str
    note: str
    headers: list[ProseHeader]
    rows: list[list[str]]
    more: str = ""  # "And N more …", after the rows


def _is_range(columns: list[Column], i: int) -> bool:
    """A money column followed by its low and high: shown as one "low – high" column."""
    return (i + 2 < len(columns) and columns[i + 1].key.endswith("low")
            and columns[i + 2].key.endswith("high") and columns[i].kind == f.MONEY)


def _shown(column: Column, cell: Any, currency: str) -> str:
    value, kind = cell_kind(column, cell)
    return value if isinstance(value, str) else f.shown(kind, value, currency)


def prose(table: Table, currency: str) -> ProseTable:
    """The table as text a person reads: figures formatted, a range in one column."""
    plan: list[tuple[str, list[int], bool]] = []  # (header, source columns, numeric)
    columns, i = table.columns, 0
    while i < len(columns):
        column = columns[i]
        if column.key in NOT_FOR_READERS:
            i += 1
            continue
        plan.append((column.title, [i], column.kind in f.NUMERIC))
        if _is_range(columns, i):
            plan.append(("Range", [i + 1, i + 2], True))
            i += 3
        else:
            i += 1
    rows = []
    for row in table.rows:
        cells = []
        for _, sources, _ in plan:
            texts = [_shown(columns[s], row[s], currency) for s in sources]
            if len(sources) == 2:
                cells.append("" if "—" in texts else f"{texts[0]} – {texts[1]}")
            else:
                cells.append(texts[0])
        rows.append(cells)
    return ProseTable(table.key, table.title, table.note,
                      [ProseHeader(title, numeric, len(sources) == 2, columns[sources[0]].kind)
                       for title, sources, numeric in plan], rows, table.more)
