"""Plotly figure dicts of the velocity pages, built from query results. Pure: no I/O, no ORM.

Each function returns `{"data": [...], "layout": {...}}`; templates embed it as JSON and
static/js/charts.js draws it. Timestamps are UTC and handed to Plotly as naive
"YYYY-MM-DD HH:MM:SS" strings (plotly.js has no time zones); axis titles say so.
"""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from html import escape
from typing import Any, Protocol

from app.velocity import metrics

Figure = dict[str, Any]

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
BRAND = "#17457a"
FONT = {"family": 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif',
        "color": "#1b2330"}


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


def _empty(layout: Figure, message: str) -> Figure:
    layout["annotations"] = [{"text": message, "showarrow": False, "xref": "paper",
                              "yref": "paper", "x": 0.5, "y": 0.5, "font": {"size": 14}}]
    layout["xaxis"] = layout.get("xaxis", {}) | {"visible": False}
    return {"data": [], "layout": layout}


def _base_layout(height: int) -> Figure:
    return {"height": height, "margin": {"l": 140, "r": 20, "t": 10, "b": 50},
            "font": FONT, "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
            "showlegend": False, "hovermode": "closest"}


def lifecycle_timeline(events: Sequence[TimelineEvent]) -> Figure:
    """A model's lifecycle events: x is when, y the event type in lifecycle order (ideated at
    the top), one marker per event, hover with version and source."""
    labels = [EVENT_LABELS[t] for t in EVENT_ORDER]
    layout = _base_layout(340) | {
        "xaxis": {"type": "date", "title": {"text": "When (UTC)"}, "gridcolor": "#e6eaf0",
                  "zeroline": False},
        # Every type keeps its row, so timelines of two models read alike.
        "yaxis": {"type": "category", "categoryorder": "array", "categoryarray": labels,
                  "range": [len(labels) - 0.5, -0.5], "gridcolor": "#e6eaf0",
                  "automargin": True, "fixedrange": True},
    }
    if not events:
        return _empty(layout, "No lifecycle events yet")
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
                  "tickformat": ",.0f", "gridcolor": "#e6eaf0", "fixedrange": True},
    }
    if not rows:
        return _empty(layout, "No compute cost recorded")
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
