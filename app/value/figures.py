"""Plotly figure dicts and tiles of model value (the value dashboard, the overview's value
tiles, the model page), built from query results. Pure: no I/O, no ORM, no FastAPI."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape
from typing import Any

from app.core import charts
from app.core.charts import BRAND, COLOURS, CONFIG, GRID, MUTED, Figure
from app.core.money import money_range, money_short, number, plotly_amount
from app.dashboards.tiles import Tile, change

MEASURED = "#009E73"
ESTIMATED = "#9ecae1"
ESTIMATED_DARK = "#4292c6"
DELAY = "#D55E00"


@dataclass(frozen=True)
class QuarterValue:
    label: str
    value: Decimal
    low: Decimal
    high: Decimal
    measured: Decimal
    estimated: Decimal


def value_by_quarter(rows: Sequence[QuarterValue], currency: str, *,
                     link: Callable[[str], str]) -> Figure:
    """Value delivered by quarter, stacked measured vs estimated, with the low–high range of
    the total; a click narrows the dashboard to that quarter."""
    layout = charts.layout(340, barmode="stack", showlegend=True,
                           xaxis=charts.category_axis(title={"text": "Quarter"}),
                           yaxis=charts.money_axis(currency, f"Value delivered ({currency})"),
                           legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                           margin={"l": 20, "r": 20, "t": 30, "b": 50})
    if not any(r.value or r.low or r.high for r in rows):
        return charts.no_data(layout, config=CONFIG)
    labels = [r.label for r in rows]
    hover = [f"{escape(r.label)}: {money_range(r.value, r.low, r.high, currency)}"
             for r in rows]
    links = [link(r.label) for r in rows]
    return {"data": [
        {"type": "bar", "name": "Measured (KPIs)", "x": labels,
         "y": [float(r.measured) for r in rows], "marker": {"color": MEASURED},
         "customdata": links, "hovertext": hover,
         "hovertemplate": "%{hovertext}<br>measured %{y:$,.0f}<extra></extra>"},
        {"type": "bar", "name": "Estimated (annual value)", "x": labels,
         "y": [float(r.estimated) for r in rows], "marker": {"color": ESTIMATED_DARK},
         "customdata": links, "hovertext": hover,
         "error_y": {"type": "data", "symmetric": False, "color": MUTED,
                     "array": [float(r.high - r.value) for r in rows],
                     "arrayminus": [float(r.value - r.low) for r in rows]},
         "hovertemplate": "%{hovertext}<br>estimated %{y:$,.0f}<extra></extra>"},
    ], "layout": layout, "config": CONFIG}


@dataclass(frozen=True)
class ModelPoint:
    name: str
    team: str
    kind: str
    value: Decimal
    compute: Decimal
    url: str


def value_vs_compute(points: Sequence[ModelPoint], currency: str) -> Figure:
    """Each model's value delivered against its compute cost, LLM and classical apart, with
    the diagonal "value = compute": below it, a model costs more than it earns."""
    axis = {"gridcolor": GRID, "zeroline": False, "fixedrange": True, "automargin": True,
            "tickformat": "~s"}
    layout = charts.layout(380, showlegend=True,
                           xaxis=axis | {"title": {"text": f"Compute cost ({currency})"}},
                           yaxis=axis | {"title": {"text": f"Value delivered ({currency})"}},
                           legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                           margin={"l": 20, "r": 20, "t": 30, "b": 50})
    if not points:
        return charts.no_data(layout, config=CONFIG)
    # The diagonal spans the compute axis: value is often orders of magnitude above compute,
    # and drawing it to the largest value would squash every dot against the left edge.
    top = max(float(p.compute) for p in points) * 1.15 or max(float(p.value) for p in points)
    traces = []
    for kind, label, colour in (("llm", "LLM", COLOURS["llm"]),
                                ("classical", "Classical ML", BRAND)):
        shown = [p for p in points if p.kind == kind]
        if not shown:
            continue
        traces.append({
            "type": "scatter", "mode": "markers", "name": label,
            "x": [float(p.compute) for p in shown], "y": [float(p.value) for p in shown],
            "customdata": [p.url for p in shown],
            "hovertext": [f"{escape(p.name)} ({escape(p.team)})<br>value "
                          f"{money_short(p.value, currency)}, compute "
                          f"{money_short(p.compute, currency)}" for p in shown],
            "hovertemplate": "%{hovertext}<extra></extra>",
            "marker": {"color": colour, "size": 10, "opacity": 0.85,
                       "symbol": "diamond" if kind == "llm" else "circle"}})
    traces.append({"type": "scatter", "mode": "lines", "name": "value = compute",
                   "x": [0, top], "y": [0, top], "hoverinfo": "skip",
                   "line": {"color": MUTED, "dash": "dot", "width": 1.5}})
    return {"data": traces, "layout": layout, "config": CONFIG}


@dataclass(frozen=True)
class QuarterDelay:
    label: str
    cost: Decimal
    low: Decimal
    high: Decimal
    week_value: Decimal
    models: int
    median_lead_days: Decimal | None


def delay_by_quarter(rows: Sequence[QuarterDelay], currency: str) -> Figure:
    """Cost of delay by quarter of first deployment (bars, with its range) beside the median
    lead time (line, right axis)."""
    layout = charts.layout(340, showlegend=True,
                           xaxis=charts.category_axis(
                               title={"text": "Quarter of first deployment"}),
                           yaxis=charts.money_axis(currency, f"Cost of delay ({currency})"),
                           yaxis2={"title": {"text": "Median lead time (days)"}, "overlaying": "y",
                                   "side": "right", "rangemode": "tozero", "showgrid": False,
                                   "fixedrange": True, "automargin": True},
                           legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                           margin={"l": 20, "r": 20, "t": 30, "b": 50})
    if not any(r.models for r in rows):
        return charts.no_data(layout, config=CONFIG)
    labels = [r.label for r in rows]
    return {"data": [
        {"type": "bar", "name": "Cost of delay", "x": labels, "y": [float(r.cost) for r in rows],
         "marker": {"color": DELAY},
         "error_y": {"type": "data", "symmetric": False, "color": MUTED,
                     "array": [float(r.high - r.cost) for r in rows],
                     "arrayminus": [float(r.cost - r.low) for r in rows]},
         "hovertext": [f"{money_range(r.cost, r.low, r.high, currency)} over {r.models} "
                       f"model{'s' if r.models != 1 else ''}; a week was worth "
                       f"{money_short(r.week_value, currency)}" for r in rows],
         "hovertemplate": "%{x}: %{hovertext}<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "Median lead time", "x": labels,
         "yaxis": "y2", "y": [charts.as_float(r.median_lead_days) for r in rows],
         "line": {"color": BRAND, "width": 3}, "marker": {"size": 8},
         "hovertemplate": "median %{y:.1f} days<extra></extra>"},
    ], "layout": layout, "config": CONFIG}


def week_sentence(week_value: Decimal, models: int, currency: str, quarter: str) -> str:
    """The cost of delay in one sentence a leader can repeat."""
    if not models:
        return f"No model with an annual value was first deployed in {quarter}."
    return (f"Each week cut from the lead time of the models shipped in {quarter} was worth "
            f"{money_short(week_value, currency)}.")


# --- the model page -------------------------------------------------------------------------

@dataclass(frozen=True)
class MonthBar:
    month: date
    value: Decimal
    measured: bool


def monthly_value(rows: Sequence[MonthBar], currency: str) -> Figure:
    """A model's value by month: measured months in green, estimated ones in blue."""
    layout = charts.layout(300, barmode="overlay", showlegend=True,
                           xaxis=charts.category_axis(title={"text": "Month"}),
                           yaxis=charts.money_axis(currency, f"Value ({currency})"),
                           legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                           margin={"l": 20, "r": 20, "t": 30, "b": 50})
    if not any(r.value for r in rows):
        return charts.no_data(layout, config=CONFIG)
    traces = []
    for measured, name, colour in ((True, "Measured (KPIs)", MEASURED),
                                   (False, "Estimated", ESTIMATED_DARK)):
        traces.append({"type": "bar", "name": name,
                       "x": [r.month.strftime("%b %Y") for r in rows],
                       "y": [float(r.value) if r.measured == measured else None for r in rows],
                       "marker": {"color": colour},
                       "hovertemplate": f"%{{x}}: {plotly_amount(currency)} ({name.lower()})"
                                        "<extra></extra>"})
    return {"data": traces, "layout": layout, "config": CONFIG}


@dataclass(frozen=True)
class QualityPoint:
    at: Any  # datetime
    value: float
    version: str | None


@dataclass(frozen=True)
class QualitySeries:
    metric: str
    higher_is_better: bool
    tolerance: Decimal
    points: Sequence[QualityPoint]
    baseline: float | None
    status: str


def quality_over_time(series: QualitySeries, deployments: Sequence[Any]) -> Figure:
    """One metric over time, the deployments as vertical lines, the baseline and the band of
    tolerance around it (beyond the band on the bad side: degraded)."""
    layout = charts.layout(280, showlegend=False,
                           xaxis={"type": "date", "gridcolor": GRID, "fixedrange": True,
                                  "automargin": True},
                           yaxis={"title": {"text": series.metric}, "gridcolor": GRID,
                                  "zeroline": False, "fixedrange": True, "automargin": True},
                           margin={"l": 20, "r": 20, "t": 10, "b": 40})
    if not series.points:
        return charts.no_data(layout, config=CONFIG)
    xs = [p.at.isoformat() for p in series.points]
    traces = [{"type": "scatter", "mode": "lines+markers", "name": series.metric, "x": xs,
               "y": [p.value for p in series.points],
               "line": {"color": BRAND, "width": 2}, "marker": {"size": 6},
               "hovertext": [f"version {escape(p.version)}" if p.version else ""
                             for p in series.points],
               "hovertemplate": "%{x|%Y-%m-%d}: %{y:.4g} %{hovertext}<extra></extra>"}]
    shapes = []
    if series.baseline is not None:
        margin = abs(series.baseline) * float(series.tolerance)
        lo, hi = series.baseline - margin, series.baseline + margin
        traces.append({"type": "scatter", "mode": "lines", "name": "baseline",
                       "x": [xs[0], xs[-1]], "y": [series.baseline] * 2, "hoverinfo": "skip",
                       "line": {"color": COLOURS["resolved"], "dash": "dash", "width": 1.5}})
        shapes.append({"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "yref": "y",
                       "y0": lo, "y1": hi, "fillcolor": "rgba(0,158,115,0.12)",
                       "line": {"width": 0}, "layer": "below"})
    for at in deployments:
        shapes.append({"type": "line", "xref": "x", "x0": at.isoformat(), "x1": at.isoformat(),
                       "yref": "paper", "y0": 0, "y1": 1,
                       "line": {"color": MUTED, "width": 1, "dash": "dot"}})
    layout["shapes"] = shapes
    return {"data": traces, "layout": layout, "config": CONFIG}


# --- the overview's tiles -------------------------------------------------------------------

@dataclass(frozen=True)
class ValueTileFigures:
    """What the three value tiles show for one quarter."""

    value: Decimal
    low: Decimal
    high: Decimal
    measured: Decimal
    delay: Decimal
    delay_low: Decimal
    delay_high: Decimal
    delay_models: int
    at_risk: Decimal
    at_risk_low: Decimal
    at_risk_high: Decimal
    at_risk_models: int


def _range_text(low: Decimal, high: Decimal, currency: str) -> str:
    return "" if low == high else f"{money_short(low, currency)}–{money_short(high, currency)}"


def value_tiles(current: ValueTileFigures, previous: ValueTileFigures, currency: str,
                previous_label: str) -> list[Tile]:
    """Value delivered, cost of delay and value at risk, each with its change on the
    previous quarter, its range and whether it is measured (KPIs) or estimated."""
    share = current.measured / current.value if current.value else Decimal(0)
    kind = "measured" if current.value and share >= Decimal("0.5") else "estimated"
    return [
        Tile("value-delivered", "Value delivered", current.value,
             money_short(current.value, currency),
             change(current.value, previous.value, mode="percent", better="up",
                    previous_label=previous_label),
             _range_text(current.low, current.high, currency),
             f"{number(share * 100)}% measured by KPIs", kind=kind, kind_text=(
                 "measured by KPIs" if kind == "measured" else "estimated from annual values"),
             low=current.low, high=current.high),
        Tile("cost-of-delay", "Cost of delay", current.delay, money_short(current.delay, currency),
             change(current.delay, previous.delay, mode="percent", better="down",
                    previous_label=previous_label),
             _range_text(current.delay_low, current.delay_high, currency),
             f"over {current.delay_models:,} model{'s' if current.delay_models != 1 else ''} "
             "first deployed", kind="estimated", kind_text="estimated from annual values",
             low=current.delay_low, high=current.delay_high, n=current.delay_models),
        Tile("value-at-risk", "Value at risk", current.at_risk,
             money_short(current.at_risk, currency),
             change(current.at_risk, previous.at_risk, mode="percent", better="down",
                    previous_label=previous_label),
             _range_text(current.at_risk_low, current.at_risk_high, currency),
             f"{current.at_risk_models:,} stale or degraded model"
             f"{'s' if current.at_risk_models != 1 else ''}", kind="estimated",
             kind_text="annual value of models at risk",
             low=current.at_risk_low, high=current.at_risk_high, n=current.at_risk_models),
    ]


def with_delay_hover(figure: Figure, delays: dict[str, tuple[Decimal, int]],
                     currency: str) -> Figure:
    """The lead-time trend with each quarter's cost of delay in the median's hover."""
    if not figure.get("data"):
        return figure
    median = figure["data"][0]
    extra = [delays.get(label) for label in median["x"]]
    median["hovertext"] = [f"cost of delay {money_short(d[0], currency)}" if d and d[1] else ""
                           for d in extra]
    median["hovertemplate"] = ("median %{y:.1f} days (%{customdata})<br>%{hovertext}"
                               "<extra></extra>")
    return figure
