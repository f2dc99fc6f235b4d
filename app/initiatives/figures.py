"""Plotly figure dicts of the initiative pages and the ROI dashboard. Pure: no I/O, no ORM.

Each builder returns `{"data": [...], "layout": {...}}`; templates embed it as JSON and
static/js/charts.js draws it. Money goes to Plotly as floats (it only draws them); the tables
beside each chart show the exact amounts.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from html import escape
from typing import Any

from app.core import charts
from app.core.charts import GRID, Figure
from app.core.money import axis_format
from app.pain_points import cost

# Okabe–Ito colours (distinguishable with colour-vision deficiencies); legends and tables name
# every series, so colour is never the only cue.
EXPECTED = "#0072B2"
REALIZED = "#009E73"
COST = "#D55E00"
NEGATIVE = "#D55E00"


def _base_layout(height: int, left: int = 80) -> Figure:
    return {"height": height, "margin": {"l": left, "r": 20, "t": 10, "b": 50},
            "font": charts.DETAIL_FONT, "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
            "hovermode": "closest"}


def _short(title: str, limit: int = 38) -> str:
    """Axis labels stay on one line; the hover and the table carry the full title."""
    return title if len(title) <= limit else title[:limit - 1].rstrip() + "…"


def _category_axis(rows: Sequence[Any]) -> Figure:
    """Bars keyed by initiative id (two initiatives may share a title), labelled by title;
    the first row at the top, as in the table."""
    return {"type": "category", "autorange": "reversed", "automargin": True,
            "fixedrange": True, "tickmode": "array", "tickvals": [str(r.id) for r in rows],
            "ticktext": [_short(r.title) for r in rows]}


def _money_axis(title: str, currency: str) -> Figure:
    # $200k, as on every other chart (it read "100,000" here).
    return {"title": {"text": title}, **axis_format(currency), "gridcolor": GRID,
            "zeroline": True, "zerolinecolor": "#8a96a6", "rangemode": "tozero",
            "fixedrange": True}


# --- expected vs realized savings, per initiative ------------------------------------------

@dataclass
class SavingsBar:
    id: int
    title: str
    expected: Decimal
    expected_low: Decimal
    expected_high: Decimal
    realized: Decimal


def expected_vs_realized(rows: Sequence[SavingsBar], currency: str) -> Figure:
    """Grouped horizontal bars: expected annual savings (with its low–high range as an error
    bar) beside the savings realized to date, one pair per initiative, in the order given."""
    layout = _base_layout(max(260, 70 + 56 * len(rows)), left=260) | {
        "barmode": "group", "bargap": 0.3, "bargroupgap": 0.05,
        "xaxis": _money_axis(f"Savings ({currency})", currency),
        "yaxis": _category_axis(rows),
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        "showlegend": True, "margin": {"l": 260, "r": 20, "t": 30, "b": 50},
    }
    if not rows:
        return charts.no_data(layout, "No initiatives yet")
    labels = [str(r.id) for r in rows]
    titles = [escape(r.title) for r in rows]
    unit = escape(currency)
    return {"data": [
        {"type": "bar", "orientation": "h", "name": "Expected annual savings",
         "y": labels, "x": [float(r.expected) for r in rows],
         "error_x": {"type": "data", "symmetric": False, "color": "#1b2330",
                     "array": [float(r.expected_high - r.expected) for r in rows],
                     "arrayminus": [float(r.expected - r.expected_low) for r in rows]},
         "customdata": [[t, float(r.expected_low), float(r.expected_high)]
                        for t, r in zip(titles, rows, strict=True)],
         "hovertemplate": ("%{customdata[0]}<br>Expected: %{x:,.0f} " + unit
                           + " a year<br>Range: %{customdata[1]:,.0f} – %{customdata[2]:,.0f}"
                           "<extra></extra>"),
         "marker": {"color": EXPECTED}},
        {"type": "bar", "orientation": "h", "name": "Realized to date",
         "y": labels, "x": [float(r.realized) for r in rows],
         "customdata": titles,
         "hovertemplate": "%{customdata}<br>Realized to date: %{x:,.0f} " + unit
                          + "<extra></extra>",
         "marker": {"color": REALIZED}},
    ], "layout": layout}


# --- the payback curve --------------------------------------------------------------------

@dataclass
class CurveInitiative:
    """An initiative on the payback curve: its costs, dates and the savings it realized in
    each period of the curve."""

    one_time_cost: Decimal
    yearly_run_cost: Decimal
    started_on: date | None
    delivered_on: date | None
    realized: Sequence[Decimal] = field(default_factory=list)


@dataclass
class CurvePoint:
    label: str  # the quarter, "2026-Q3"
    last: date  # the last day counted (today in the current quarter)
    realized: Decimal  # cumulative
    cost: Decimal  # cumulative

    @property
    def net(self) -> Decimal:
        return self.realized - self.cost


def payback_points(periods: Sequence[tuple[str, date, date]],
                   initiatives: Sequence[CurveInitiative]) -> list[CurvePoint]:
    """Cumulative realized savings and cumulative cost at the end of each period.

    Cost: the one-time cost falls on the start date; the yearly run cost accrues from the
    delivery date (nothing runs before), pro-rated by weekdays exactly like cost in a period
    (cost.period_share), so that savings and run cost are pro-rated alike.
    """
    # Grouped, not initiative by initiative in every period (5 000 initiatives × 40 quarters):
    # a run cost delivered before a period accrues the period's whole share, the same for all of
    # them, so only those delivered inside a period are pro-rated one by one.
    running = sorted((i.delivered_on, i.yearly_run_cost) for i in initiatives
                     if i.delivered_on is not None and i.yearly_run_cost)
    starts = sorted((i.started_on, i.one_time_cost) for i in initiatives
                    if i.started_on is not None)
    # Each period's realized savings, summed over the initiatives in one pass (in their order).
    realized_in = [Decimal(0)] * len(periods)
    for i in initiatives:
        for n, amount in enumerate(i.realized[:len(periods)]):
            realized_in[n] += amount
    points, realized, spent = [], Decimal(0), Decimal(0)
    running_before, r, s = Decimal(0), 0, 0  # yearly run cost delivered before the period
    for n, (label, first, last) in enumerate(periods):
        slices = cost.year_slices(first, last)
        realized += realized_in[n]
        # The first period also takes what started before the curve begins.
        while s < len(starts) and starts[s][0] <= last:
            spent += starts[s][1]
            s += 1
        while r < len(running) and running[r][0] < first:
            running_before += running[r][1]
            r += 1
        whole = cost.period_share(cost.day_number(first), cost.OPEN_ENDED, slices)
        spent += running_before * whole
        inside = r
        while inside < len(running) and running[inside][0] <= last:
            delivered, yearly = running[inside]
            spent += yearly * cost.period_share(cost.day_number(delivered), cost.OPEN_ENDED,
                                                slices)
            inside += 1
        points.append(CurvePoint(label, last, realized, spent))
    return points


def payback_curve(points: Sequence[CurvePoint], currency: str) -> Figure:
    """Two lines over the quarters: cumulative realized savings and cumulative cost; the
    investment has paid back where the savings line crosses above the cost line."""
    layout = _base_layout(340) | {
        "xaxis": {"type": "category", "title": {"text": "Quarter (cumulative to its end)"},
                  "fixedrange": True},
        "yaxis": _money_axis(f"Cumulative ({currency})", currency),
        "showlegend": True, "hovermode": "x unified",
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        "margin": {"l": 90, "r": 20, "t": 30, "b": 60},
    }
    if not points:
        return charts.no_data(layout, "No initiative has started yet")
    x = [p.label for p in points]
    unit = escape(currency)
    return {"data": [
        {"type": "scatter", "mode": "lines+markers", "name": "Cumulative cost",
         "x": x, "y": [float(p.cost) for p in points],
         "line": {"color": COST, "width": 3, "dash": "dash"},
         "marker": {"symbol": "square", "size": 7},
         "hovertemplate": "Cost: %{y:,.0f} " + unit + "<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "Cumulative realized savings",
         "x": x, "y": [float(p.realized) for p in points],
         "line": {"color": REALIZED, "width": 3}, "marker": {"size": 7},
         "hovertemplate": "Realized savings: %{y:,.0f} " + unit + "<extra></extra>"},
    ], "layout": layout}


# --- initiatives ranked by ROI ---------------------------------------------------------------

@dataclass
class RoiBar:
    id: int
    title: str
    roi: Decimal  # a ratio: 0.5 is +50 %


def roi_ranking(rows: Sequence[RoiBar], horizon_years: int) -> Figure:
    """Horizontal bars of ROI over the horizon in percent, highest at the top; initiatives
    that lose money in red. Rows without an ROI (costing nothing) are the caller's to leave
    out."""
    ranked = sorted(rows, key=lambda r: (-r.roi, r.title))
    years = f"{horizon_years} year{'s' if horizon_years != 1 else ''}"
    layout = _base_layout(max(240, 60 + 40 * len(ranked)), left=260) | {
        "xaxis": {"title": {"text": f"ROI over {years} (%)"}, "ticksuffix": " %",
                  "gridcolor": GRID, "zeroline": True, "zerolinecolor": "#8a96a6",
                  "fixedrange": True},
        "yaxis": _category_axis(ranked),
        "showlegend": False, "bargap": 0.35,
        "margin": {"l": 260, "r": 20, "t": 10, "b": 50},
    }
    if not ranked:
        return charts.no_data(layout, "No initiative with a cost to compare")
    return {"data": [{
        "type": "bar", "orientation": "h", "name": f"ROI over {years}",
        "y": [str(r.id) for r in ranked],
        "x": [float(r.roi * 100) for r in ranked],
        "customdata": [escape(r.title) for r in ranked],
        "hovertemplate": "%{customdata}<br>ROI: %{x:,.1f} %<extra></extra>",
        "marker": {"color": [REALIZED if r.roi >= 0 else NEGATIVE for r in ranked]},
    }], "layout": layout}


# --- realized savings per quarter (the initiative page) ------------------------------------

@dataclass
class QuarterBar:
    label: str  # "2026-Q3"
    realized: Decimal
    partial: bool = False  # the current quarter, counted to today


def realized_by_quarter(rows: Sequence[QuarterBar], currency: str) -> Figure:
    """A bar per quarter of the savings realized in it; the current quarter (to date) is
    drawn lighter."""
    layout = _base_layout(280) | {
        "xaxis": {"type": "category", "title": {"text": "Quarter"}, "fixedrange": True},
        "yaxis": _money_axis(f"Realized savings ({currency})", currency),
        "showlegend": False, "bargap": 0.35,
    }
    if not rows:
        return charts.no_data(layout, "No quarters to show")
    unit = escape(currency)
    return {"data": [{
        "type": "bar", "name": "Realized savings",
        "x": [r.label for r in rows], "y": [float(r.realized) for r in rows],
        "customdata": ["to date" if r.partial else "" for r in rows],
        "hovertemplate": "%{x} %{customdata}<br>%{y:,.0f} " + unit + "<extra></extra>",
        "marker": {"color": [REALIZED if not r.partial else "#7fcdb4" for r in rows]},
    }], "layout": layout}
