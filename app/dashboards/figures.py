"""Plotly figure dicts and number formats of the leader dashboards, built from query results.
Pure: no I/O, no ORM, no FastAPI.

Every figure is `{"data": [...], "layout": {...}}`; templates embed it as JSON in a
`<figure data-plotly>` and static/js/charts.js draws it. A trace whose points lead somewhere
carries the target URL in `customdata` (the figure is marked `data-drilldown`, and
static/js/drilldown.js follows the click). Labels are escaped (Plotly reads them as a little
HTML) and use no <b>/<i>: Plotly styles those with style attributes, which the CSP blocks.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from html import escape
from typing import Any, Protocol

from app.core.currency import SYMBOLS
Figure = dict[str, Any]

# --- one palette ------------------------------------------------------------------------------
# The brand blue for the main measure; Okabe–Ito colours (distinguishable with colour-vision
# deficiencies) for the others. Every chart also has a table, so colour is never the only cue.
BRAND = "#17457a"
INK = "#1b2330"
MUTED = "#4d5969"
GRID = "#e6eaf0"
COLOURS = {
    "cost": BRAND,
    "range": MUTED,
    "cumulative": "#D55E00",
    "unresolved": BRAND,
    "resolved": "#009E73",
    "median": BRAND,
    "p90": "#D55E00",
    "deployments": "#0072B2",
    "failure": "#D55E00",
    "llm": "#CC79A7",
    "other": "#8A96A6",
}
# One quantity deepening along the lifecycle: a sequential blue ramp, ideated lightest.
MILESTONE_COLOURS = ["#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"]
HEAT_SCALE = [[0.0, "#eef3f9"], [0.5, "#6f9bd1"], [1.0, BRAND]]
FONT = {"family": 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif',
        "color": INK, "size": 13}
MILESTONE_LABELS = {
    "ideated": "Ideated", "data_ready": "Data ready", "experiment_started": "Experiment started",
    "validated": "Validated", "registered": "Registered", "deployed": "Deployed",
}

# --- numbers ----------------------------------------------------------------------------------

UNITS = ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "K"))
MINUS = "−"


def _dec(value: Decimal | int | float) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _unit(value: Decimal) -> tuple[Decimal, str]:
    """The unit a short amount is written in: the largest it reaches, or would reach once
    rounded in the unit below (999,960 is $1.0M, not $1,000K)."""
    size = abs(value)
    for divisor, suffix in UNITS:
        below = (size / (divisor / 1000)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
        if size >= divisor or below >= 1000:
            return divisor, suffix
    return Decimal(1), ""


def _scaled(value: Decimal, divisor: Decimal, suffix: str) -> str:
    if not suffix:
        return f"{abs(value).quantize(Decimal(1), rounding=ROUND_HALF_EVEN):,}"
    number = abs(value) / divisor
    places = Decimal("0.1") if number < 100 else Decimal(1)
    return f"{number.quantize(places, rounding=ROUND_HALF_EVEN):,}{suffix}"


def _with_currency(text: str, negative: bool, currency: str) -> str:
    sign = MINUS if negative else ""
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def money_short(value: Decimal | int | float | None, currency: str = "USD") -> str:
    """$1.2M, $950K, $840: three significant figures at most, for tiles and hovers."""
    if value is None:
        return "—"
    amount = _dec(value)
    divisor, suffix = _unit(amount)
    return _with_currency(_scaled(amount, divisor, suffix), amount < 0, currency)


def money_range(value: Decimal | None, low: Decimal | None, high: Decimal | None,
                currency: str = "USD") -> str:
    """"$1.2M ($0.9M–$1.6M)": the expected amount, then low–high in the same unit."""
    if value is None:
        return "—"
    amount = _dec(value)
    divisor, suffix = _unit(amount)
    text = _with_currency(_scaled(amount, divisor, suffix), amount < 0, currency)
    if low is None or high is None or (low == amount and high == amount):
        return text
    low_text, high_text = (_with_currency(_scaled(_dec(v), divisor, suffix), _dec(v) < 0,
                                          currency) for v in (low, high))
    return f"{text} ({low_text}–{high_text})"


def number(value: Decimal | int | float | None, places: int = 0) -> str:
    if value is None:
        return "—"
    exponent = Decimal(1).scaleb(-places)
    amount = _dec(value).quantize(exponent, rounding=ROUND_HALF_EVEN)
    return f"{MINUS if amount < 0 else ''}{abs(amount):,}"


def percent(value: Decimal | int | float | None, places: int = 1) -> str:
    """A ratio as a percentage: 0.125 → "12.5%"."""
    if value is None:
        return "—"
    return f"{number(_dec(value) * 100, places)}%"


def plain(value: Decimal | int | float | None) -> str:
    """The raw figure for a data attribute: the exact decimal, never scientific notation."""
    return "" if value is None else format(_dec(value), "f")


def days(value: Decimal | int | float | None) -> str:
    return "—" if value is None else f"{number(value, 1)} days"


# --- change against the previous quarter ------------------------------------------------------

@dataclass(frozen=True)
class Change:
    arrow: str  # ▲, ▼ or "" (no change, or nothing to compare)
    text: str  # +12.5%, −3.0 pts, +0.20, no change, new, —
    tone: str  # good | bad | neutral
    words: str  # the change in words, for screen readers and tooltips


def change(current: Decimal | int | None, previous: Decimal | int | None, *, mode: str,
           better: str | None, previous_label: str = "the previous quarter") -> Change:
    """The change from `previous` to `current`: in percent ("percent"), in percentage points
    of a ratio ("points") or as a plain difference ("delta"); `better` says which way is good
    ("up", "down", or None when neither is)."""
    if current is None or previous is None:
        return Change("", "—", "neutral", f"no figure for {previous_label} to compare with")
    cur, prev = _dec(current), _dec(previous)
    diff = cur - prev
    if diff == 0:
        return Change("", "no change", "neutral", f"no change on {previous_label}")
    up = diff > 0
    tone = "neutral" if better is None else ("good" if up == (better == "up") else "bad")
    arrow = "▲" if up else "▼"
    sign = "+" if up else MINUS
    if mode == "percent":
        if prev == 0:
            text = "new"
        else:
            text = f"{sign}{number(abs(diff) / abs(prev) * 100, 1)}%"
    elif mode == "points":
        text = f"{sign}{number(abs(diff) * 100, 1)} pts"
    else:
        text = f"{sign}{number(abs(diff), 2)}"
    verdict = {"good": ", better", "bad": ", worse", "neutral": ""}[tone]
    direction = "up" if up else "down"
    if text == "new":
        words = f"new since {previous_label}{verdict}"
    else:
        words = f"{direction} {text.lstrip('+' + MINUS)} on {previous_label}{verdict}"
    return Change(arrow, text, tone, words)


# --- layout helpers ---------------------------------------------------------------------------

def _layout(height: int, **extra: Any) -> Figure:
    layout = {"height": height, "font": FONT, "paper_bgcolor": "#ffffff",
              "plot_bgcolor": "#ffffff", "showlegend": False, "hovermode": "closest",
              "margin": {"l": 20, "r": 20, "t": 10, "b": 50},
              "hoverlabel": {"font": {"family": FONT["family"], "size": 13}}}
    return layout | extra


def _money_axis(currency: str, title: str) -> Figure:
    axis: Figure = {"title": {"text": title}, "tickformat": "~s", "rangemode": "tozero",
                    "gridcolor": GRID, "zeroline": False, "fixedrange": True,
                    "automargin": True}
    if currency in SYMBOLS:
        axis["tickprefix"] = SYMBOLS[currency]
    return axis


def _category_axis(**extra: Any) -> Figure:
    return {"type": "category", "fixedrange": True, "automargin": True} | extra


def wrap(label: str, width: int = 16, lines: int = 2) -> str:
    """A long category label on at most `lines` lines of about `width` characters (escaped),
    the last one cut with an ellipsis: tick labels must not run into each other."""
    # A word longer than a line is cut: it would run into the next label otherwise.
    words = [w if len(w) <= width else w[:width - 1] + "…" for w in label.split()]
    rows, row = [], ""
    for word in words:
        if row and len(row) + 1 + len(word) > width:
            rows.append(row)
            row = word
        else:
            row = f"{row} {word}".strip()
    rows.append(row)
    if len(rows) > lines:
        rows = rows[:lines]
        rows[-1] = rows[-1][:max(1, width - 1)].rstrip() + "…"
    return "<br>".join(escape(r) for r in rows)


# No mode bar: the charts are read, not explored (axes are fixed), and its buttons would be
# focusable inside the plot that charts.js hides from screen readers (the table stands in).
CONFIG = {"displayModeBar": False}


def is_empty(figure: Figure) -> bool:
    return not figure.get("data")


def _float(value: Decimal | int | None) -> float | None:
    return None if value is None else float(value)


# --- cost -------------------------------------------------------------------------------------

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
    layout = _layout(max(220, 70 + 34 * len(shown)),
                     xaxis=_money_axis(currency, f"Annual run-rate ({currency}), low–high"),
                     yaxis=_category_axis(autorange="reversed"),
                     bargap=0.35)
    if not shown:
        return {"data": [], "layout": layout, "config": CONFIG}
    return {"data": [{
        "type": "bar", "orientation": "h", "name": "Annual run-rate",
        "y": [wrap(r.label or "", 28) for r in shown],
        "x": [float(r.annual_run_rate) for r in shown],
        "error_x": {"type": "data", "symmetric": False, "color": COLOURS["range"],
                    "thickness": 1.5, "width": 4,
                    "array": [float(r.annual_run_rate_high - r.annual_run_rate) for r in shown],
                    "arrayminus": [float(r.annual_run_rate - r.annual_run_rate_low)
                                   for r in shown]},
        "marker": {"color": COLOURS["cost"]},
        "customdata": [link(r.key or "") for r in shown],
        "hovertext": [f"{escape(r.label or '')}<br>"
                      f"{_run_rate_text(r, currency)} a year<br>Click to list its pain points"
                      for r in shown],
        "hovertemplate": "%{hovertext}<extra></extra>",
    }], "layout": layout, "config": CONFIG}


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
    layout = _layout(420, margin={"l": 20, "r": 20, "t": 30, "b": 20},
                     xaxis=_category_axis(tickangle=0, tickfont={"size": 11}),
                     yaxis=_money_axis(currency, f"Annual run-rate ({currency})"),
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
        return {"data": [], "layout": layout, "config": CONFIG}
    ticks = [wrap(f"{r.rank}. {r.title}", 14, 3) for r in rows]
    return {"data": [{
        "type": "bar", "name": "Annual run-rate", "x": ticks,
        "y": [float(r.cost) for r in rows],
        "error_y": {"type": "data", "symmetric": False, "color": COLOURS["range"],
                    "thickness": 1.5, "width": 4,
                    "array": [float(r.high - r.cost) for r in rows],
                    "arrayminus": [float(r.cost - r.low) for r in rows]},
        "marker": {"color": COLOURS["cost"]},
        "customdata": [link(r.id) for r in rows],
        "hovertext": [f"{escape(label)}<br>{money_range(r.cost, r.low, r.high, currency)} a year"
                      "<br>Click to open it" for label, r in zip(labels, rows, strict=True)],
        "hovertemplate": "%{hovertext}<extra></extra>",
    }, {
        "type": "scatter", "mode": "lines+markers", "name": "Cumulative share",
        "x": ticks, "yaxis": "y2",
        "y": [None if r.cumulative_share is None else float(r.cumulative_share * 100)
              for r in rows],
        "line": {"color": COLOURS["cumulative"], "width": 2},
        "marker": {"size": 7, "color": COLOURS["cumulative"]},
        "hovertemplate": "%{y:.1f}% of the run-rate<extra></extra>",
    }], "layout": layout, "config": CONFIG}


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
    layout = _layout(max(320, 90 + 40 * len(stages)),
                     margin={"l": 20, "r": 20, "t": 60, "b": 10},
                     xaxis=_category_axis(side="top", tickangle=0, showgrid=False, ticks=""),
                     yaxis=_category_axis(autorange="reversed", showgrid=False, ticks=""))
    if not any(c.annual_run_rate > 0 for c in cells):
        return {"data": [], "layout": layout, "config": CONFIG}
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
                f"{_plural(c.pain_points, 'pain point')} · click to list them")
            link_row.append(link(persona_slug, stage_slug))
        z.append(z_row)
        text.append(text_row)
        hover.append(hover_row)
        targets.append(link_row)
    return {"data": [{
        "type": "heatmap", "x": [wrap(name, 14) for _, name in personas],
        "y": [wrap(name, 24) for _, name in stages], "z": z, "text": text,
        "texttemplate": "%{text}", "textfont": {"size": 12},
        "hovertext": hover, "hovertemplate": "%{hovertext}<extra></extra>",
        "customdata": targets, "colorscale": HEAT_SCALE, "zmin": 0, "showscale": False,
        "xgap": 2, "ygap": 2, "hoverongaps": False,
    }], "layout": layout, "config": CONFIG}


class PeriodSplit(Protocol):
    unresolved: Decimal
    resolved: Decimal
    cost_low: Decimal
    cost_high: Decimal


def from_first_data(rows: Sequence[tuple[str, Any]],
                    has_data: Callable[[Any], bool]) -> list[tuple[str, Any]]:
    """A trend from its first quarter with data: the quarters before it are not zero, they
    are before anything was logged (the axis began with two empty quarters)."""
    first = next((i for i, (_, r) in enumerate(rows) if has_data(r)), len(rows))
    return list(rows[first:])


def cost_trend(rows: Sequence[tuple[str, PeriodSplit]], currency: str) -> Figure:
    """Cost per quarter, stacked: the pain points still unresolved at the quarter's end and
    those resolved by then (their cost up to the day they were resolved)."""
    layout = _layout(340, xaxis=_category_axis(title={"text": "Quarter"}),
                     yaxis=_money_axis(currency, f"Cost in the quarter ({currency})"),
                     barmode="stack", showlegend=True, bargap=0.35,
                     legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                     margin={"l": 20, "r": 20, "t": 30, "b": 50})
    if not any(r.unresolved + r.resolved > 0 for _, r in rows):
        return {"data": [], "layout": layout, "config": CONFIG}
    rows = from_first_data(rows, lambda r: r.unresolved + r.resolved > 0)
    labels = [label for label, _ in rows]

    def hover(r: PeriodSplit, part: Decimal, what: str) -> str:
        total = r.unresolved + r.resolved
        return (f"{what}: {money_short(part, currency)}<br>Quarter total: "
                f"{money_range(total, r.cost_low, r.cost_high, currency)}")

    return {"data": [
        {"type": "bar", "name": "Unresolved at the quarter's end", "x": labels,
         "y": [float(r.unresolved) for _, r in rows],
         "marker": {"color": COLOURS["unresolved"]},
         "hovertext": [hover(r, r.unresolved, "Unresolved") for _, r in rows],
         "hovertemplate": "%{x}<br>%{hovertext}<extra></extra>"},
        {"type": "bar", "name": "Resolved by the quarter's end", "x": labels,
         "y": [float(r.resolved) for _, r in rows],
         "marker": {"color": COLOURS["resolved"]},
         "hovertext": [hover(r, r.resolved, "Resolved") for _, r in rows],
         "hovertemplate": "%{x}<br>%{hovertext}<extra></extra>"},
    ], "layout": layout, "config": CONFIG}


# --- velocity ---------------------------------------------------------------------------------

class DistributionLike(Protocol):
    median: Decimal | None
    p90: Decimal | None
    count: int


def lead_time_trend(rows: Sequence[tuple[str, DistributionLike]]) -> Figure:
    """Median and p90 ideation-to-production days by quarter of first deployment."""
    layout = _layout(340, xaxis=_category_axis(title={"text": "Quarter of first deployment"}),
                     yaxis={"title": {"text": "Days from idea to production"},
                            "rangemode": "tozero", "gridcolor": GRID, "zeroline": False,
                            "fixedrange": True, "automargin": True},
                     showlegend=True, hovermode="x unified",
                     legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                     margin={"l": 20, "r": 20, "t": 30, "b": 50})
    if not any(d.median is not None for _, d in rows):
        return {"data": [], "layout": layout, "config": CONFIG}
    rows = from_first_data(rows, lambda d: d.median is not None)
    labels = [label for label, _ in rows]
    counts = [f"{d.count} model{'s' if d.count != 1 else ''}" for _, d in rows]
    return {"data": [
        {"type": "scatter", "mode": "lines+markers", "name": "Median", "x": labels,
         "y": [_float(d.median) for _, d in rows], "customdata": counts,
         "line": {"color": COLOURS["median"], "width": 3}, "marker": {"size": 8},
         "hovertemplate": "median %{y:.1f} days (%{customdata})<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "p90", "x": labels,
         "y": [_float(d.p90) for _, d in rows],
         "line": {"color": COLOURS["p90"], "width": 2, "dash": "dash"},
         "marker": {"size": 7, "symbol": "diamond"},
         "hovertemplate": "p90 %{y:.1f} days<extra></extra>"},
    ], "layout": layout, "config": CONFIG}


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
    layout = _layout(max(220, 70 + 38 * len(rows)),
                     xaxis={"title": {"text": "Median days"}, "rangemode": "tozero",
                            "gridcolor": GRID, "zeroline": False, "fixedrange": True},
                     yaxis=_category_axis(autorange="reversed"), bargap=0.35)
    if not shown:
        return {"data": [], "layout": layout, "config": CONFIG}
    # Room on the right for the "23.0 d" labels outside the longest bar.
    layout["xaxis"]["range"] = [0, max(float(r.median) for r in shown) * 1.18 or 1]
    return {"data": [{
        "type": "bar", "orientation": "h", "y": [escape(dwell_label(r)) for r in shown],
        "x": [float(r.median) for r in shown], "marker": {"color": COLOURS["cost"]},
        "text": [f"{number(r.median, 1)} d" for r in shown], "textposition": "outside",
        "cliponaxis": False,
        "customdata": [f"{r.count} model{'s' if r.count != 1 else ''}" for r in shown],
        "hovertemplate": "%{y}<br>median %{x:.1f} days (%{customdata})<extra></extra>",
    }], "layout": layout, "config": CONFIG}


class MonthDeploymentsLike(Protocol):
    month: date
    deployments: int
    rollbacks: int
    change_failure_rate: Decimal | None


def month_label(month: date) -> str:
    return f"{month:%b %Y}"


def deployments_by_month(rows: Sequence[MonthDeploymentsLike], *,
                         link: Callable[[date], str]) -> Figure:
    """Deployments per month (bars) and the change failure rate (line, second axis); a click
    on a bar opens the models deployed in that month."""
    layout = _layout(340, xaxis=_category_axis(tickangle=-45, tickfont={"size": 11}),
                     yaxis={"title": {"text": "Deployments"}, "rangemode": "tozero",
                            "gridcolor": GRID, "zeroline": False, "fixedrange": True,
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
        return {"data": [], "layout": layout, "config": CONFIG}
    labels = [month_label(r.month) for r in rows]
    return {"data": [
        {"type": "bar", "name": "Deployments", "x": labels, "y": [r.deployments for r in rows],
         "marker": {"color": COLOURS["deployments"]}, "customdata": [link(r.month) for r in rows],
         "hovertext": [f"{r.deployments} deployed, {r.rollbacks} rolled back" for r in rows],
         "hovertemplate": "%{x}<br>%{hovertext}<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "name": "Change failure rate",
         "x": labels, "y": [_float(r.change_failure_rate) for r in rows], "yaxis": "y2",
         "line": {"color": COLOURS["failure"], "width": 2}, "marker": {"size": 7},
         "connectgaps": False,
         "hovertemplate": "%{x}<br>change failure rate %{y:.1%}<extra></extra>"},
    ], "layout": layout, "config": CONFIG}


class FunnelLike(Protocol):
    quarter: Any  # a Quarter (label)
    reached: dict[str, int]


def funnel_bars(cohorts: Sequence[FunnelLike], milestones: Sequence[str], *,
                link: Callable[[str, str], str]) -> Figure:
    """Per ideation cohort, grouped bars of how many of its models reached each milestone so
    far, ideated first: the funnel from idea to production (plotly's cartesian bundle has no
    funnel trace). A click opens the models of that cohort that reached that milestone:
    link(cohort label, milestone)."""
    layout = _layout(360, xaxis=_category_axis(title={"text": "Cohort (quarter of ideation)"}),
                     yaxis={"title": {"text": "Models"}, "rangemode": "tozero",
                            "gridcolor": GRID, "zeroline": False, "fixedrange": True,
                            "automargin": True, "tickformat": ",d"},
                     barmode="group", bargap=0.25, bargroupgap=0.05, showlegend=True,
                     legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                     margin={"l": 20, "r": 20, "t": 50, "b": 50})
    if not any(c.reached.get(milestones[0], 0) for c in cohorts):
        return {"data": [], "layout": layout, "config": CONFIG}
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
    return {"data": data, "layout": layout, "config": CONFIG}


class MonthSpendLike(Protocol):
    month: date
    llm: Decimal
    other: Decimal


def months_between(first: date, last: date) -> list[date]:
    index, end, result = first.year * 12 + first.month - 1, last.year * 12 + last.month - 1, []
    while index <= end:
        result.append(date(index // 12, index % 12 + 1, 1))
        index += 1
    return result


def spend_by_month(rows: Sequence[MonthSpendLike], currency: str, first: date, last: date, *,
                   link: str) -> Figure:
    """LLM spend per month, stacked under the rest of the compute spend (grey), every month of
    [first, last] on the axis; a click opens the LLM models."""
    layout = _layout(320, xaxis=_category_axis(tickangle=-45, tickfont={"size": 11}),
                     yaxis=_money_axis(currency, f"Compute spend ({currency})"),
                     barmode="stack", showlegend=True, bargap=0.3,
                     legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                     margin={"l": 20, "r": 20, "t": 30, "b": 20})
    if not any(r.llm or r.other for r in rows):
        return {"data": [], "layout": layout, "config": CONFIG}
    by_month = {r.month: r for r in rows}
    months = months_between(first, last)
    labels = [month_label(m) for m in months]
    llm = [by_month[m].llm if m in by_month else Decimal(0) for m in months]
    other = [by_month[m].other if m in by_month else Decimal(0) for m in months]
    data = [
        {"type": "bar", "name": "LLM spend", "x": labels, "y": [float(v) for v in llm],
         "marker": {"color": COLOURS["llm"]}, "customdata": [link] * len(months),
         "hovertext": [f"LLM {money_short(v, currency)}" for v in llm],
         "hovertemplate": "%{x}<br>%{hovertext}<extra></extra>"},
    ]
    # No legend entry for a grey series that has no bar (only LLM models in scope).
    if any(other):
        data.append(
            {"type": "bar", "name": "Other compute", "x": labels, "y": [float(v) for v in other],
             "marker": {"color": COLOURS["other"]},
             "hovertext": [f"other models {money_short(v, currency)}" for v in other],
             "hovertemplate": "%{x}<br>%{hovertext}<extra></extra>"})
    return {"data": data, "layout": layout, "config": CONFIG}


# --- the overview's tiles ---------------------------------------------------------------------

class FigureLike(Protocol):
    value: Decimal | None
    low: Decimal | None
    high: Decimal | None
    n: int | None
    provisional: bool


@dataclass(frozen=True)
class Tile:
    metric: str  # the anchor on /metrics/definitions and the tile's data-metric
    label: str
    value: Decimal | None  # the raw figure (data-value), unrounded
    text: str  # as shown
    change: Change
    range_text: str = ""  # low–high, for estimates
    n_text: str = ""  # the sample behind the figure
    extra: tuple[tuple[str, Decimal | None, str], ...] = ()  # (metric, value, text) inside
    provisional: bool = False
    kind: str = "measured"  # estimated (pain points) or measured (events, costs, assessments)
    # The raw range and sample of the figure, for data attributes (tests compare them).
    low: Decimal | None = None
    high: Decimal | None = None
    n: int | None = None
    kind_text: str = ""  # what the figure rests on, when "estimated from pain points" is not it




def _plural(n: int | None, one: str, many: str | None = None) -> str:
    n = n or 0
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _provisional(found: Change, provisional: bool) -> Change:
    """A cohort still inside its 180 days may yet ship: its change is no verdict."""
    if not provisional or found.tone == "neutral":
        return found
    return replace(found, tone="neutral", words=f"{found.words.rsplit(',', 1)[0]}, "
                                               "provisional")


def build_tiles(current: Any, previous: Any, currency: str, previous_label: str, *,
                top_level: int = 2) -> list[Tile]:
    """The overview's KPI tiles from two QuarterKpis (the quarter shown and the one before):
    each with its change, coloured by whether it is good, and its range or sample size.
    `top_level`: the rubric's highest level, what the maturity score is out of."""

    def delta(name: str, mode: str, better: str | None) -> Change:
        return change(getattr(current, name).value, getattr(previous, name).value, mode=mode,
                      better=better, previous_label=previous_label)

    annual, quarter = current.annual_cost, current.quarter_cost
    hours, fte = current.hours_per_week, current.fte
    lead, p90 = current.lead_time_median, current.lead_time_p90
    rate, deploys = current.production_rate, current.deployments
    cfr, maturity = current.change_failure_rate, current.maturity

    def range_of(f: FigureLike) -> str:
        if f.low is None or f.high is None:
            return ""
        return f"{money_short(f.low, currency)}–{money_short(f.high, currency)}"

    tiles = [
        Tile("annual-cost", "Annual cost of friction", annual.value,
             money_short(annual.value, currency), delta("annual_cost", "percent", "down"),
             range_of(annual), f"from {_plural(annual.n, 'pain point')}", kind="estimated"),
        Tile("hours-per-week", "Hours lost per week", hours.value,
             f"{number(hours.value)} h", delta("hours_per_week", "percent", "down"),
             n_text=f"from {_plural(hours.n, 'pain point')}",
             extra=(("fte", fte.value, f"= {number(fte.value, 1)} full-time equivalents"),),
             kind="estimated"),
        Tile("quarter-cost", "Cost this quarter", quarter.value,
             money_short(quarter.value, currency), delta("quarter_cost", "percent", "down"),
             range_of(quarter), f"from {_plural(quarter.n, 'pain point')}", kind="estimated"),
        Tile("lead-time", "Median idea to production", lead.value, days(lead.value),
             delta("lead_time_median", "percent", "down"),
             n_text=f"{_plural(lead.n, 'model')} first deployed",
             extra=(("lead-time-p90", p90.value, f"p90 {days(p90.value)}"),)),
        Tile("production-rate", "Production rate", rate.value, percent(rate.value),
             _provisional(delta("production_rate", "points", "up"),
                          rate.provisional or previous.production_rate.provisional),
             n_text=f"of {_plural(rate.n, 'model')} ideated", provisional=rate.provisional),
        Tile("deployments", "Deployments", deploys.value, number(deploys.value),
             delta("deployments", "percent", "up"), n_text="deployed events"),
        Tile("change-failure-rate", "Change failure rate", cfr.value, percent(cfr.value),
             delta("change_failure_rate", "points", "down"),
             n_text=f"of {_plural(cfr.n, 'deployment')}"),
        Tile("realized-savings", "Realized savings", current.realized_savings.value,
             money_short(current.realized_savings.value, currency),
             delta("realized_savings", "percent", "up"), n_text="from delivered initiatives",
             kind="estimated"),
        Tile("llm-spend", "LLM spend", current.llm_spend.value,
             money_short(current.llm_spend.value, currency),
             delta("llm_spend", "percent", None), n_text="compute of LLM models"),
        Tile("maturity", "Average maturity level", maturity.value,
             number(maturity.value, 2) + (f" of {top_level}" if maturity.value is not None
                                          else ""),
             delta("maturity", "delta", "up"),
             n_text=f"over {_plural(maturity.n, 'assessed team')}"),
    ]
    sources = [annual, hours, quarter, lead, rate, deploys, cfr, current.realized_savings,
               current.llm_spend, maturity]
    return [replace(t, low=f.low, high=f.high, n=f.n)
            for t, f in zip(tiles, sources, strict=True)]
