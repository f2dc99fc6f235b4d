"""Plotly figure dicts of friction's cost (the overview, the cost dashboard and the quarterly
report), built from query results. Pure: no I/O, no ORM, no FastAPI; the shared pieces are in
app/core/charts.py, money is written by app/core/money.py."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Any, Protocol

from app.core import charts
from app.core.charts import Figure
from app.core.money import money_range, money_short


def _run_rate_text(row: Any, currency: str) -> str:
    return money_range(row.annual_run_rate, row.annual_run_rate_low, row.annual_run_rate_high,
                       currency)


class CostGroup(Protocol):
    key: str | None
    label: str | None
    annual_run_rate: Decimal
    annual_run_rate_low: Decimal
    annual_run_rate_high: Decimal


def cost_bars(rows: Sequence[CostGroup], currency: str, *, link: Callable[[str], str],
              sort_by_cost: bool = False) -> Figure:
    """Horizontal bars of the annual run-rate per group (stage, team or persona), with the
    low–high range as whiskers; a click lists the group's pain points. Stages keep lifecycle
    order (first at the top); other groups are sorted, costliest at the top."""
    shown = [r for r in rows if r.annual_run_rate > 0]
    if sort_by_cost:
        shown.sort(key=lambda r: (-r.annual_run_rate, r.label or ""))
    layout = charts.layout(max(220, 70 + 34 * len(shown)),
                           xaxis=charts.money_axis(currency,
                                                   f"Annual run-rate ({currency}), low–high"),
                           yaxis=charts.category_axis(autorange="reversed"),
                           bargap=0.35)
    if not shown:
        return charts.no_data(layout, config=charts.CONFIG)
    return {"data": [{
        "type": "bar", "orientation": "h", "name": "Annual run-rate",
        "y": [charts.wrap(r.label or "", 28) for r in shown],
        "x": [float(r.annual_run_rate) for r in shown],
        "error_x": {"type": "data", "symmetric": False, "color": charts.COLOURS["range"],
                    "thickness": 1.5, "width": 4,
                    "array": [float(r.annual_run_rate_high - r.annual_run_rate) for r in shown],
                    "arrayminus": [float(r.annual_run_rate - r.annual_run_rate_low)
                                   for r in shown]},
        "marker": {"color": charts.COLOURS["cost"]},
        "customdata": [link(r.key or "") for r in shown],
        "hovertext": [f"{escape(r.label or '')}<br>"
                      f"{_run_rate_text(r, currency)} a year<br>Click to list its pain points"
                      for r in shown],
        "hovertemplate": "%{hovertext}<extra></extra>",
    }], "layout": layout, "config": charts.CONFIG}


class RankedCost(Protocol):
    id: int
    title: str
    annual_run_rate: Decimal
    annual_run_rate_low: Decimal
    annual_run_rate_high: Decimal


@dataclass(frozen=True)
class ParetoRow:
    rank: int
    id: int
    title: str
    cost: Decimal
    low: Decimal
    high: Decimal
    cumulative_share: Decimal | None  # of the total run-rate, 0..1


def pareto_rows(rows: Sequence[RankedCost], total: Decimal) -> list[ParetoRow]:
    """The costliest pain points with the running share of the total run-rate they make up."""
    result, running = [], Decimal(0)
    for rank, r in enumerate(rows, start=1):
        running += r.annual_run_rate
        share = running / total if total > 0 else None
        result.append(ParetoRow(rank, r.id, r.title, r.annual_run_rate, r.annual_run_rate_low,
                                r.annual_run_rate_high, share))
    return result


def pareto(rows: Sequence[ParetoRow], currency: str, *, link: Callable[[int], str]) -> Figure:
    """Bars of the costliest pain points' run-rates, costliest first, and a line of the
    cumulative share of the whole run-rate on a second axis (0–100 %)."""
    labels = [f"{r.rank}. {r.title}" for r in rows]
    layout = charts.layout(420, margin={"l": 20, "r": 20, "t": 30, "b": 20},
                           xaxis=charts.category_axis(tickangle=0, tickfont={"size": 11}),
                           yaxis=charts.money_axis(currency, f"Annual run-rate ({currency})"),
                           yaxis2={"title": {"text": "Cumulative share of the run-rate"},
                                   "overlaying": "y", "side": "right", "range": [0, 105],
                                   # Whole tens of percent, not ticks aligned with the money axis.
                                   "tickmode": "array", "tickvals": [0, 20, 40, 60, 80, 100],
                                   "ticktext": ["0%", "20%", "40%", "60%", "80%", "100%"],
                                   "fixedrange": True, "showgrid": False,
                                   "zeroline": False, "automargin": True},
                           showlegend=True,
                           legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                           bargap=0.3)
    if not rows:
        return charts.no_data(layout, config=charts.CONFIG)
    ticks = [charts.wrap(f"{r.rank}. {r.title}", 14, 3) for r in rows]
    return {"data": [{
        "type": "bar", "name": "Annual run-rate", "x": ticks,
        "y": [float(r.cost) for r in rows],
        "error_y": {"type": "data", "symmetric": False, "color": charts.COLOURS["range"],
                    "thickness": 1.5, "width": 4,
                    "array": [float(r.high - r.cost) for r in rows],
                    "arrayminus": [float(r.cost - r.low) for r in rows]},
        "marker": {"color": charts.COLOURS["cost"]},
        "customdata": [link(r.id) for r in rows],
        "hovertext": [f"{escape(label)}<br>{money_range(r.cost, r.low, r.high, currency)} a year"
                      "<br>Click to open it" for label, r in zip(labels, rows, strict=True)],
        "hovertemplate": "%{hovertext}<extra></extra>",
    }, {
        "type": "scatter", "mode": "lines+markers", "name": "Cumulative share",
        "x": ticks, "yaxis": "y2",
        "y": [None if r.cumulative_share is None else float(r.cumulative_share * 100)
              for r in rows],
        "line": {"color": charts.COLOURS["cumulative"], "width": 2},
        "marker": {"size": 7, "color": charts.COLOURS["cumulative"]},
        "hovertemplate": "%{y:.1f}% of the run-rate<extra></extra>",
    }], "layout": layout, "config": charts.CONFIG}


class Cell(Protocol):
    row_key: str
    column_key: str
    annual_run_rate: Decimal
    annual_run_rate_low: Decimal
    annual_run_rate_high: Decimal
    pain_points: int


def journey_heatmap(cells: Sequence[Cell], personas: Sequence[tuple[str, str]],
                    stages: Sequence[tuple[str, str]], currency: str, *,
                    link: Callable[[str, str], str]) -> Figure:
    """Lifecycle stages (rows, in order) × personas (columns), each cell the annual run-rate
    of that persona's friction at that stage: where in the lifecycle each persona loses time.
    `cells` come keyed persona (row_key) × stage (column_key); empty pairs stay blank."""
    found = {(c.row_key, c.column_key): c for c in cells}
    layout = charts.layout(max(320, 90 + 40 * len(stages)),
                           margin={"l": 20, "r": 20, "t": 60, "b": 10},
                           xaxis=charts.category_axis(side="top", tickangle=0, showgrid=False,
                                                      ticks=""),
                           yaxis=charts.category_axis(autorange="reversed", showgrid=False,
                                                      ticks=""))
    if not any(c.annual_run_rate > 0 for c in cells):
        return charts.no_data(layout, config=charts.CONFIG)
    z, text, hover, targets = [], [], [], []
    for stage_slug, stage_name in stages:
        z_row, text_row, hover_row, link_row = [], [], [], []
        for persona_slug, persona_name in personas:
            c = found.get((persona_slug, stage_slug))
            if c is None or c.annual_run_rate <= 0:
                z_row.append(None)
                text_row.append("")
                hover_row.append(f"{escape(persona_name)} · {escape(stage_name)}<br>"
                                 "no friction logged")
                link_row.append("")
                continue
            z_row.append(float(c.annual_run_rate))
            text_row.append(money_short(c.annual_run_rate, currency))
            hover_row.append(
                f"{escape(persona_name)} · {escape(stage_name)}<br>"
                f"{_run_rate_text(c, currency)} a year<br>"
                f"{charts.plural(c.pain_points, 'pain point')} · click to list them")
            link_row.append(link(persona_slug, stage_slug))
        z.append(z_row)
        text.append(text_row)
        hover.append(hover_row)
        targets.append(link_row)
    return {"data": [{
        "type": "heatmap", "x": [charts.wrap(name, 14) for _, name in personas],
        "y": [charts.wrap(name, 24) for _, name in stages], "z": z, "text": text,
        "texttemplate": "%{text}", "textfont": {"size": 12},
        "hovertext": hover, "hovertemplate": "%{hovertext}<extra></extra>",
        "customdata": targets, "colorscale": charts.HEAT_SCALE, "zmin": 0, "showscale": False,
        "xgap": 2, "ygap": 2, "hoverongaps": False,
    }], "layout": layout, "config": charts.CONFIG}


class PeriodSplit(Protocol):
    unresolved: Decimal
    resolved: Decimal
    cost_low: Decimal
    cost_high: Decimal



def cost_trend(rows: Sequence[tuple[str, PeriodSplit]], currency: str) -> Figure:
    """Cost per quarter, stacked: the pain points still unresolved at the quarter's end and
    those resolved by then (their cost up to the day they were resolved)."""
    layout = charts.layout(340, xaxis=charts.category_axis(title={"text": "Quarter"}),
                           yaxis=charts.money_axis(currency, f"Cost in the quarter ({currency})"),
                           barmode="stack", showlegend=True, bargap=0.35,
                           legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                           margin={"l": 20, "r": 20, "t": 30, "b": 50})
    if not any(r.unresolved + r.resolved > 0 for _, r in rows):
        return charts.no_data(layout, config=charts.CONFIG)
    rows = charts.from_first_data(rows, lambda r: r.unresolved + r.resolved > 0)
    labels = [label for label, _ in rows]

    def hover(r: PeriodSplit, part: Decimal, what: str) -> str:
        total = r.unresolved + r.resolved
        return (f"{what}: {money_short(part, currency)}<br>Quarter total: "
                f"{money_range(total, r.cost_low, r.cost_high, currency)}")

    return {"data": [
        {"type": "bar", "name": "Unresolved at the quarter's end", "x": labels,
         "y": [float(r.unresolved) for _, r in rows],
         "marker": {"color": charts.COLOURS["unresolved"]},
         "hovertext": [hover(r, r.unresolved, "Unresolved") for _, r in rows],
         "hovertemplate": "%{x}<br>%{hovertext}<extra></extra>"},
        {"type": "bar", "name": "Resolved by the quarter's end", "x": labels,
         "y": [float(r.resolved) for _, r in rows],
         "marker": {"color": charts.COLOURS["resolved"]},
         "hovertext": [hover(r, r.resolved, "Resolved") for _, r in rows],
         "hovertemplate": "%{x}<br>%{hovertext}<extra></extra>"},
    ], "layout": layout, "config": charts.CONFIG}

