"""Plotly figure dicts of the velocity pages, built from query results. Pure: no I/O, no ORM.

Each function returns `{"data": [...], "layout": {...}}`; templates embed it as JSON and
static/js/charts.js draws it. Timestamps are UTC and handed to Plotly as naive
"YYYY-MM-DD HH:MM:SS" strings (plotly.js has no time zones); axis titles say so.
"""

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from html import escape
from typing import Any, Protocol

from app.core import charts
from app.core.charts import BRAND, Figure
from app.core.money import money_short, number
from app.velocity import metrics

# Every event type, in lifecycle order: the milestones, then what can follow a deployment.
EVENT_ORDER = (*metrics.MILESTONES, "rolled_back", "retired")
EVENT_LABELS = {
    "ideated": "Ideated", "data_ready": "Data ready", "experiment_started": "Experiment started",
    "validated": "Validated", "registered": "Registered", "deployed": "Deployed",
    "rolled_back": "Rolled back", "retired": "Retired",
}
# Okabe–Ito colours (distinguishable with colour-vision deficiencies); the row says the type
# anyway, so colour is never the only cue.
EVENT_COLOURS = {
    "ideated": "#0072B2", "data_ready": "#56B4E9", "experiment_started": "#009E73",
    "validated": "#E69F00", "registered": "#CC79A7", "deployed": "#0B6E4F",
    "rolled_back": "#D55E00", "retired": "#4D5969",
}
MILESTONE_LABELS = {m: EVENT_LABELS[m] for m in metrics.MILESTONES}
# One quantity deepening along the lifecycle: a sequential blue ramp, ideated lightest.
MILESTONE_COLOURS = ["#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"]


class TimelineEvent(Protocol):
    type: Any  # an EventType or its value
    occurred_at: datetime
    version: str | None
    source: Any  # an EventSource or its value


class MonthlySpend(Protocol):
    month: date
    amount: Decimal
    gpu_hours: Decimal


def event_label(event_type: Any) -> str:
    value = str(getattr(event_type, "value", event_type))
    return EVENT_LABELS.get(value, value)


def plotly_time(moment: datetime) -> str:
    """A UTC timestamp as plotly.js reads dates."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _hover(event: TimelineEvent) -> str:
    # Plotly renders hover text as a little HTML: escape what people and pipelines typed.
    # No <b>/<i>: Plotly styles them with style attributes, which the CSP blocks.
    lines = [escape(event_label(event.type)),
             f"{event.occurred_at:%Y-%m-%d %H:%M} UTC"]
    if event.version:
        lines.append(f"version {escape(event.version)}")
    lines.append(f"source: {escape(str(getattr(event.source, 'value', event.source)))}")
    return "<br>".join(lines)


def _base_layout(height: int) -> Figure:
    return {"height": height, "margin": {"l": 140, "r": 20, "t": 10, "b": 50},
            "font": charts.DETAIL_FONT, "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
            "showlegend": False, "hovermode": "closest"}


def lifecycle_timeline(events: Sequence[TimelineEvent]) -> Figure:
    """A model's lifecycle events: x is when, y the event type in lifecycle order (ideated at
    the top), one marker per event, hover with version and source."""
    labels = [EVENT_LABELS[t] for t in EVENT_ORDER]
    layout = _base_layout(340) | {
        "xaxis": {"type": "date", "title": {"text": "When (UTC)"}, "gridcolor": charts.GRID,
                  "zeroline": False},
        # Every type keeps its row, so timelines of two models read alike.
        "yaxis": {"type": "category", "categoryorder": "array", "categoryarray": labels,
                  "range": [len(labels) - 0.5, -0.5], "gridcolor": charts.GRID,
                  "automargin": True, "fixedrange": True},
    }
    if not events:
        return charts.no_data(layout, "No lifecycle events yet")
    by_type: dict[str, list[TimelineEvent]] = {}
    for event in events:
        by_type.setdefault(str(getattr(event.type, "value", event.type)), []).append(event)
    data = []
    for event_type in [*EVENT_ORDER, *sorted(set(by_type) - set(EVENT_ORDER))]:
        group = sorted(by_type.get(event_type, []), key=lambda e: e.occurred_at)
        if not group:
            continue
        data.append({
            "type": "scatter", "mode": "markers", "name": event_label(event_type),
            "x": [plotly_time(e.occurred_at) for e in group],
            "y": [event_label(event_type)] * len(group),
            "text": [_hover(e) for e in group],
            "hovertemplate": "%{text}<extra></extra>",
            "marker": {"size": 13, "color": EVENT_COLOURS.get(event_type, BRAND),
                       "line": {"width": 1, "color": "#ffffff"}},
        })
    return {"data": data, "layout": layout}


# Three quarters of a month (in ms, plotly's unit on a date axis): a bar with a gap around it.
BAR_WIDTH_MS = 22 * 24 * 3600 * 1000
# The cost chart spans at least this many months, so that one month is not one huge bar.
MIN_MONTHS_SHOWN = 6


def _add_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_window(months: Sequence[date]) -> list[str]:
    """The x range of a monthly bar chart: from the first month shown to the end of the last,
    reaching back far enough to show at least MIN_MONTHS_SHOWN months."""
    first, last = min(months).replace(day=1), max(months).replace(day=1)
    first = min(first, _add_months(last, 1 - MIN_MONTHS_SHOWN))
    return [first.isoformat(), _add_months(last, 1).isoformat()]


def compute_cost_bars(rows: Sequence[MonthlySpend], currency: str) -> Figure:
    """Compute spend per calendar month (a bar per month), with GPU hours in the hover."""
    layout = _base_layout(300) | {
        "margin": {"l": 80, "r": 20, "t": 10, "b": 50},
        # A tick per month, its label in the middle of the month, like the bars.
        "xaxis": {"type": "date", "tickformat": "%b %Y", "dtick": "M1",
                  "ticklabelmode": "period", "title": {"text": "Month"}, "zeroline": False,
                  "fixedrange": True},
        "yaxis": {"title": {"text": f"Compute cost ({currency})"}, "rangemode": "tozero",
                  "tickformat": ",.0f", "gridcolor": charts.GRID, "fixedrange": True},
    }
    if not rows:
        return charts.no_data(layout, "No compute cost recorded")
    layout["xaxis"]["range"] = month_window([r.month for r in rows])
    return {"data": [{
        "type": "bar", "name": "Compute cost",
        "x": [r.month.isoformat() for r in rows],
        "y": [float(r.amount) for r in rows],
        # A bar spans its month rather than sitting on its first day.
        "xperiod": "M1", "xperiodalignment": "middle",
        # Plotly cannot infer a bar's width from a single month: give it in milliseconds.
        "width": [BAR_WIDTH_MS] * len(rows),
        "customdata": [float(r.gpu_hours) for r in rows],
        "hovertemplate": ("%{x|%B %Y}<br>%{y:,.2f} " + escape(currency)
                          + "<br>%{customdata:,.2f} GPU hours<extra></extra>"),
        "marker": {"color": BRAND},
    }], "layout": layout}


# --- the velocity dashboard ------------------------------------------------------------------

class DistributionLike(Protocol):
    median: Decimal | None
    p90: Decimal | None
    count: int


def lead_time_trend(rows: Sequence[tuple[str, DistributionLike]]) -> Figure:
    """Median and p90 ideation-to-production days by quarter of first deployment."""
    layout = charts.layout(340,
                           xaxis=charts.category_axis(
                               title={"text": "Quarter of first deployment"}),
                           yaxis={"title": {"text": "Days from idea to production"},
                                  "rangemode": "tozero", "gridcolor": charts.GRID,
                                  "zeroline": False, "fixedrange": True, "automargin": True},
                           showlegend=True, hovermode="x unified",
                           legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                           margin={"l": 20, "r": 20, "t": 30, "b": 50})
    if not any(d.median is not None for _, d in rows):
        return charts.no_data(layout, config=charts.CONFIG)
    rows = charts.from_first_data(rows, lambda d: d.median is not None)
    labels = [label for label, _ in rows]
    counts = [f"{d.count} model{'s' if d.count != 1 else ''}" for _, d in rows]
    return {"data": [
        {"type": "scatter", "mode": "lines+markers", "name": "Median", "x": labels,
         "y": [charts.as_float(d.median) for _, d in rows], "customdata": counts,
         "line": {"color": charts.COLOURS["median"], "width": 3}, "marker": {"size": 8},
         "hovertemplate": "median %{y:.1f} days (%{customdata})<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "p90", "x": labels,
         "y": [charts.as_float(d.p90) for _, d in rows],
         "line": {"color": charts.COLOURS["p90"], "width": 2, "dash": "dash"},
         "marker": {"size": 7, "symbol": "diamond"},
         "hovertemplate": "p90 %{y:.1f} days<extra></extra>"},
    ], "layout": layout, "config": charts.CONFIG}


class DwellLike(Protocol):
    from_milestone: str
    to_milestone: str
    median: Decimal | None
    count: int


def dwell_label(row: DwellLike) -> str:
    return (f"{MILESTONE_LABELS.get(row.from_milestone, row.from_milestone)} → "
            f"{MILESTONE_LABELS.get(row.to_milestone, row.to_milestone)}")


def stage_dwell_bars(rows: Sequence[DwellLike]) -> Figure:
    """Median days between adjacent milestones, in lifecycle order: where the time goes."""
    shown = [r for r in rows if r.median is not None]
    layout = charts.layout(max(220, 70 + 38 * len(rows)),
                           xaxis={"title": {"text": "Median days"}, "rangemode": "tozero",
                                  "gridcolor": charts.GRID, "zeroline": False, "fixedrange": True},
                           yaxis=charts.category_axis(autorange="reversed"), bargap=0.35)
    if not shown:
        return charts.no_data(layout, config=charts.CONFIG)
    # Room on the right for the "23.0 d" labels outside the longest bar.
    layout["xaxis"]["range"] = [0, max(float(r.median) for r in shown) * 1.18 or 1]
    return {"data": [{
        "type": "bar", "orientation": "h", "y": [escape(dwell_label(r)) for r in shown],
        "x": [float(r.median) for r in shown], "marker": {"color": charts.COLOURS["cost"]},
        "text": [f"{number(r.median, 1)} d" for r in shown], "textposition": "outside",
        "cliponaxis": False,
        "customdata": [f"{r.count} model{'s' if r.count != 1 else ''}" for r in shown],
        "hovertemplate": "%{y}<br>median %{x:.1f} days (%{customdata})<extra></extra>",
    }], "layout": layout, "config": charts.CONFIG}


class MonthDeploymentsLike(Protocol):
    month: date
    deployments: int
    rollbacks: int
    change_failure_rate: Decimal | None



def deployments_by_month(rows: Sequence[MonthDeploymentsLike], *,
                         link: Callable[[date], str]) -> Figure:
    """Deployments per month (bars) and the change failure rate (line, second axis); a click
    on a bar opens the models deployed in that month."""
    layout = charts.layout(340, xaxis=charts.category_axis(tickangle=-45, tickfont={"size": 11}),
                           yaxis={"title": {"text": "Deployments"}, "rangemode": "tozero",
                                  "gridcolor": charts.GRID, "zeroline": False, "fixedrange": True,
                                  "automargin": True, "tickformat": ",d"},
                           yaxis2={"title": {"text": "Change failure rate"}, "overlaying": "y",
                                   "side": "right", "rangemode": "tozero", "tickformat": ".0%",
                                   "tickmode": "auto", "nticks": 6,
                                   "showgrid": False, "zeroline": False, "fixedrange": True,
                                   "automargin": True},
                           showlegend=True, bargap=0.3,
                           legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                           margin={"l": 20, "r": 20, "t": 30, "b": 20})
    if not any(r.deployments or r.rollbacks for r in rows):
        return charts.no_data(layout, config=charts.CONFIG)
    labels = [charts.month_label(r.month) for r in rows]
    return {"data": [
        {"type": "bar", "name": "Deployments", "x": labels, "y": [r.deployments for r in rows],
         "marker": {"color": charts.COLOURS["deployments"]},
         "customdata": [link(r.month) for r in rows],
         "hovertext": [f"{r.deployments} deployed, {r.rollbacks} rolled back" for r in rows],
         "hovertemplate": "%{x}<br>%{hovertext}<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "Change failure rate",
         "x": labels, "y": [charts.as_float(r.change_failure_rate) for r in rows], "yaxis": "y2",
         "line": {"color": charts.COLOURS["failure"], "width": 2}, "marker": {"size": 7},
         "connectgaps": False,
         "hovertemplate": "%{x}<br>change failure rate %{y:.1%}<extra></extra>"},
    ], "layout": layout, "config": charts.CONFIG}


class FunnelLike(Protocol):
    quarter: Any  # a Quarter (label)
    reached: dict[str, int]


def funnel_bars(cohorts: Sequence[FunnelLike], milestones: Sequence[str], *,
                link: Callable[[str, str], str]) -> Figure:
    """Per ideation cohort, grouped bars of how many of its models reached each milestone so
    far, ideated first: the funnel from idea to production (plotly's cartesian bundle has no
    funnel trace). A click opens the models of that cohort that reached that milestone:
    link(cohort label, milestone)."""
    layout = charts.layout(360,
                           xaxis=charts.category_axis(
                               title={"text": "Cohort (quarter of ideation)"}),
                           yaxis={"title": {"text": "Models"}, "rangemode": "tozero",
                                  "gridcolor": charts.GRID, "zeroline": False, "fixedrange": True,
                                  "automargin": True, "tickformat": ",d"},
                           barmode="group", bargap=0.25, bargroupgap=0.05, showlegend=True,
                           legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                           margin={"l": 20, "r": 20, "t": 50, "b": 50})
    if not any(c.reached.get(milestones[0], 0) for c in cohorts):
        return charts.no_data(layout, config=charts.CONFIG)
    labels = [getattr(c.quarter, "label", str(c.quarter)) for c in cohorts]
    data = []
    for i, name in enumerate(milestones):
        label = MILESTONE_LABELS.get(name, name)
        data.append({
            "type": "bar", "name": label, "x": labels,
            "y": [c.reached.get(name, 0) for c in cohorts],
            "marker": {"color": MILESTONE_COLOURS[i % len(MILESTONE_COLOURS)]},
            "customdata": [link(q, name) for q in labels],
            "hovertext": [f"{c.reached.get(name, 0)} of {c.reached.get(milestones[0], 0)} "
                          f"reached {label.lower()}" for c in cohorts],
            "hovertemplate": "%{x} cohort<br>%{hovertext}<extra></extra>",
        })
    return {"data": data, "layout": layout, "config": charts.CONFIG}


class MonthSpendLike(Protocol):
    month: date
    llm: Decimal
    other: Decimal



def spend_by_month(rows: Sequence[MonthSpendLike], currency: str, first: date, last: date, *,
                   link: str) -> Figure:
    """LLM spend per month, stacked under the rest of the compute spend (grey), every month of
    [first, last] on the axis; a click opens the LLM models."""
    layout = charts.layout(320, xaxis=charts.category_axis(tickangle=-45, tickfont={"size": 11}),
                           yaxis=charts.money_axis(currency, f"Compute spend ({currency})"),
                           barmode="stack", showlegend=True, bargap=0.3,
                           legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                           margin={"l": 20, "r": 20, "t": 30, "b": 20})
    if not any(r.llm or r.other for r in rows):
        return charts.no_data(layout, config=charts.CONFIG)
    by_month = {r.month: r for r in rows}
    months = charts.months_between(first, last)
    labels = [charts.month_label(m) for m in months]
    llm = [by_month[m].llm if m in by_month else Decimal(0) for m in months]
    other = [by_month[m].other if m in by_month else Decimal(0) for m in months]
    data = [
        {"type": "bar", "name": "LLM spend", "x": labels, "y": [float(v) for v in llm],
         "marker": {"color": charts.COLOURS["llm"]}, "customdata": [link] * len(months),
         "hovertext": [f"LLM {money_short(v, currency)}" for v in llm],
         "hovertemplate": "%{x}<br>%{hovertext}<extra></extra>"},
    ]
    # No legend entry for a grey series that has no bar (only LLM models in scope).
    if any(other):
        data.append(
            {"type": "bar", "name": "Other compute", "x": labels, "y": [float(v) for v in other],
             "marker": {"color": charts.COLOURS["other"]},
             "hovertext": [f"other models {money_short(v, currency)}" for v in other],
             "hovertemplate": "%{x}<br>%{hovertext}<extra></extra>"})
    return {"data": data, "layout": layout, "config": charts.CONFIG}
