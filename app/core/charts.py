"""What every Plotly figure of the app shares: the palette, the layout defaults, the axes,
the "no data" figure and the label helpers. Pure: no I/O, no ORM, no FastAPI.

Every figure is `{"data": [...], "layout": {...}}`; templates embed it as JSON in a
`<figure data-plotly>` and static/js/charts.js draws it. A trace whose points lead somewhere
carries the target URL in `customdata` (the figure is marked `data-drilldown`, and
static/js/drilldown.js follows the click). Labels are escaped (Plotly reads them as a little
HTML) and use no <b>/<i>: Plotly styles those with style attributes, which the CSP blocks.
Each domain builds its own charts in its `figures.py` from these pieces.
"""

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from html import escape
from typing import Any

from app.core import money

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
HEAT_SCALE = [[0.0, "#eef3f9"], [0.5, "#6f9bd1"], [1.0, BRAND]]
FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif'
FONT = {"family": FONT_FAMILY, "color": INK, "size": 13}
# The detail pages' charts (a model, an initiative, a team) keep Plotly's own 12px.
DETAIL_FONT = {"family": FONT_FAMILY, "color": INK}

# No mode bar: the charts are read, not explored (axes are fixed), and its buttons would be
# focusable inside the plot that charts.js hides from screen readers (the table stands in).
CONFIG = {"displayModeBar": False}


# --- layout and axes --------------------------------------------------------------------------

def layout(height: int, **extra: Any) -> Figure:
    """The dashboards' layout: white, no legend unless asked, room for axis titles."""
    found = {"height": height, "font": FONT, "paper_bgcolor": "#ffffff",
             "plot_bgcolor": "#ffffff", "showlegend": False, "hovermode": "closest",
             "margin": {"l": 20, "r": 20, "t": 10, "b": 50},
             "hoverlabel": {"font": {"family": FONT["family"], "size": 13}}}
    return found | extra


def money_axis(currency: str, title: str) -> Figure:
    """A value axis in the organisation's money, ticks written like the short amounts."""
    axis: Figure = {"title": {"text": title}, "tickformat": "~s", "rangemode": "tozero",
                    "gridcolor": GRID, "zeroline": False, "fixedrange": True,
                    "automargin": True}
    return axis | money.axis_format(currency)


def category_axis(**extra: Any) -> Figure:
    return {"type": "category", "fixedrange": True, "automargin": True} | extra


def no_data(layout_: Figure, message: str | None = None, *,
            config: Figure | None = None) -> Figure:
    """The figure of a chart with nothing to draw. The dashboards say why beside it (an empty
    state with a next step) and pass no message; elsewhere the message sits in the middle of
    the plot, whose axes are hidden."""
    if message:
        layout_["annotations"] = [{"text": message, "showarrow": False, "xref": "paper",
                                   "yref": "paper", "x": 0.5, "y": 0.5, "font": {"size": 14}}]
        layout_["xaxis"] = layout_.get("xaxis", {}) | {"visible": False}
        layout_["yaxis"] = layout_.get("yaxis", {}) | {"visible": False}
    found: Figure = {"data": [], "layout": layout_}
    if config is not None:
        found["config"] = config
    return found


def is_empty(figure: Figure) -> bool:
    return not figure.get("data")


# --- labels and values ------------------------------------------------------------------------

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


def as_float(value: Decimal | int | None) -> float | None:
    """Plotly only draws the figure: a float is enough, the tables show the exact one."""
    return None if value is None else float(value)


def plural(n: int | None, one: str, many: str | None = None) -> str:
    n = n or 0
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def from_first_data(rows: Sequence[tuple[str, Any]],
                    has_data: Callable[[Any], bool]) -> list[tuple[str, Any]]:
    """A trend from its first quarter with data: the quarters before it are not zero, they
    are before anything was logged (the axis began with two empty quarters)."""
    first = next((i for i, (_, r) in enumerate(rows) if has_data(r)), len(rows))
    return list(rows[first:])


def month_label(month: date) -> str:
    return f"{month:%b %Y}"


def months_between(first: date, last: date) -> list[date]:
    index, end, result = first.year * 12 + first.month - 1, last.year * 12 + last.month - 1, []
    while index <= end:
        result.append(date(index // 12, index % 12 + 1, 1))
        index += 1
    return result
