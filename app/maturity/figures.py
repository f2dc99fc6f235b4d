"""Plotly figure dicts of the maturity pages, and the words for a score. Pure: no I/O, no ORM.

Each figure function returns `{"data": [...], "layout": {...}}`; templates embed it as JSON and
static/js/charts.js draws it.
"""

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from html import escape
from typing import Any, Protocol

from app.core import charts
from app.core.charts import BRAND, Figure
# Answer points (docs/product.md: no = 0, partial = ½, yes = 1) and the colours of the grid:
# Okabe–Ito vermillion, orange and bluish green; every cell also says its answer in words.
ANSWER_POINTS = {"no": 0.0, "partial": 0.5, "yes": 1.0}
ANSWER_COLOURS = [[0.0, "#f4c7b5"], [0.25, "#f4c7b5"], [0.25, "#f7dc9c"], [0.75, "#f7dc9c"],
                  [0.75, "#9fd8c3"], [1.0, "#9fd8c3"]]
# Okabe–Ito, for one line per team.
TEAM_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#4D5969",
                "#F0E442"]


class CapabilityLike(Protocol):
    key: str
    level: int
    title: str


def score_text(score: Decimal) -> str:
    """1.40 → "1.4", 1.42 → "1.42", 1.00 → "1.0": as many decimals as the score has."""
    text = f"{score.normalize():f}"
    return text if "." in text else f"{text}.0"


def score_label(level: int, score: Decimal, top_level: int) -> str:
    """"1.4 — between level 1 and 2", or "1.0 — level 1" when no point of the next is earned."""
    if level >= top_level:
        return f"{score_text(score)} — level {level}, the top level"
    if score == level:
        return f"{score_text(score)} — level {level}"
    return f"{score_text(score)} — between level {level} and {level + 1}"


def _base_layout(height: int, left: int = 60) -> Figure:
    return {"height": height, "margin": {"l": left, "r": 20, "t": 10, "b": 50},
            "font": charts.DETAIL_FONT, "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
            "showlegend": False, "hovermode": "closest"}


def _level_axis(top_level: int, *, pad: float = 0.0) -> Figure:
    # Lines get a margin below 0 so that a score of 0 is not drawn over the axis labels.
    return {"range": [-pad, top_level + max(pad, 0.05)], "tickmode": "array",
            "tickvals": list(range(top_level + 1)),
            "ticktext": [f"Level {n}" for n in range(top_level + 1)],
            "gridcolor": "#d5dbe3", "zeroline": False, "fixedrange": True}


class TeamScore(Protocol):
    team_name: str
    team_slug: str
    level: int | None
    score: Decimal | None


def level_score_bars(rows: Sequence[TeamScore], top_level: int) -> Figure:
    """One bar per assessed team: its score on a 0…top-level axis, its level in the label."""
    assessed = [r for r in rows if r.score is not None]
    layout = _base_layout(max(220, 90 + 36 * len(assessed)), left=170)
    if not assessed:
        return charts.no_data(layout, "No team has been assessed yet.")
    layout |= {"xaxis": _level_axis(top_level) | {"title": {"text": "Maturity score"}},
               "yaxis": {"autorange": "reversed", "automargin": True, "fixedrange": True},
               "bargap": 0.35}
    return {"data": [{
        "type": "bar", "orientation": "h",
        "y": [escape(r.team_name) for r in assessed], "x": [float(r.score) for r in assessed],
        "text": [f"level {r.level} · {score_text(r.score)}" for r in assessed],
        "textposition": "outside", "cliponaxis": False, "marker": {"color": BRAND},
        "customdata": [r.team_slug for r in assessed],
        "hovertemplate": "<b>%{y}</b><br>%{text}<extra></extra>",
    }], "layout": layout}


def capability_heatmap(teams: Sequence[tuple[str, Mapping[str, str]]],
                       capabilities: Sequence[CapabilityLike]) -> Figure:
    """Capabilities (rows, by level) × teams (columns), coloured by answer, each cell labelled
    no / partial / yes. `teams`: (team name, answers by capability key) of assessed teams."""
    layout = _base_layout(max(260, 70 + 30 * len(capabilities)), left=60)
    if not teams:
        return charts.no_data(layout, "No team has been assessed yet.")
    rows = [f"L{c.level} · {c.title}" for c in capabilities]
    # Plotly reads labels as a little HTML: escape what people typed.
    names = [escape(name) for name, _ in teams]
    z = [[ANSWER_POINTS.get(answers.get(c.key, ""), None) for _, answers in teams]
         for c in capabilities]
    text = [[answers.get(c.key, "—") for _, answers in teams] for c in capabilities]
    layout |= {
        "xaxis": {"side": "top", "fixedrange": True, "tickangle": 0, "automargin": True},
        "yaxis": {"autorange": "reversed", "automargin": True, "fixedrange": True},
        "margin": {"l": 20, "r": 20, "t": 40, "b": 20},
    }
    return {"data": [{
        "type": "heatmap", "x": names, "y": rows, "z": z, "text": text,
        "texttemplate": "%{text}", "zmin": 0, "zmax": 1, "colorscale": ANSWER_COLOURS,
        "showscale": False, "xgap": 2, "ygap": 2,
        "hovertemplate": "<b>%{x}</b><br>%{y}<br>%{text}<extra></extra>",
    }], "layout": layout}


def score_history_lines(quarters: Sequence[str], teams: Sequence[tuple[str, Sequence[Any]]],
                        top_level: int) -> Figure:
    """One line per team: its score at the end of each quarter (a gap before its first
    assessment)."""
    layout = _base_layout(340)
    shown = [(name, values) for name, values in teams if any(v is not None for v in values)]
    if not shown:
        return charts.no_data(layout, "No assessment in these quarters.")
    layout |= {"showlegend": True,
               "margin": {"l": 70, "r": 20, "t": 10, "b": 100},
               "legend": {"orientation": "h", "y": -0.32},
               "xaxis": {"type": "category", "title": {"text": "Quarter (score at its end)"},
                         "fixedrange": True},
               "yaxis": _level_axis(top_level, pad=0.12) | {"title": {"text": "Score"}},
               "hovermode": "x unified"}
    return {"data": [{
        "type": "scatter", "mode": "lines+markers", "name": escape(name),
        "x": list(quarters), "y": [None if v is None else float(v) for v in values],
        "line": {"color": TEAM_COLOURS[i % len(TEAM_COLOURS)], "width": 2},
        "marker": {"size": 7},
        "hovertemplate": "%{y:.2f}<extra>" + escape(name) + "</extra>",
    } for i, (name, values) in enumerate(shown)], "layout": layout}


def team_history_line(rows: Sequence[tuple[date, int, Decimal]], top_level: int) -> Figure:
    """A team's score at each assessment, oldest first: (assessed_on, level, score) rows."""
    layout = _base_layout(260)
    if not rows:
        return charts.no_data(layout, "Not assessed yet.")
    layout |= {"xaxis": {"type": "date", "title": {"text": "Assessed on"}, "fixedrange": True},
               "yaxis": _level_axis(top_level, pad=0.12) | {"title": {"text": "Score"}}}
    return {"data": [{
        "type": "scatter", "mode": "lines+markers",
        "x": [d.isoformat() for d, _, _ in rows], "y": [float(s) for _, _, s in rows],
        "text": [f"level {lvl} · {score_text(s)}" for _, lvl, s in rows],
        "line": {"color": BRAND, "width": 2, "shape": "hv"}, "marker": {"size": 8},
        "hovertemplate": "%{x|%Y-%m-%d}<br>%{text}<extra></extra>",
    }], "layout": layout}


class LevelLeadTimeLike(Protocol):
    level: int | None
    teams: int
    lead_time: Any  # a Distribution: median, p90, count


def level_name(level: int | None) -> str:
    return "Not assessed" if level is None else f"Level {level}"


def lead_time_by_level_bars(rows: Sequence[LevelLeadTimeLike]) -> Figure:
    """Median ideation-to-production days per current maturity level, with the model count."""
    layout = _base_layout(300)
    measured = [r for r in rows if r.lead_time.median is not None]
    if not measured:
        return charts.no_data(layout, "No model was first deployed in these quarters.")
    layout |= {"xaxis": {"type": "category", "title": {"text": "Team's current maturity level"},
                         "fixedrange": True},
               "yaxis": {"title": {"text": "Median lead time (days)"}, "rangemode": "tozero",
                         "gridcolor": "#d5dbe3", "fixedrange": True},
               "bargap": 0.45}
    return {"data": [{
        "type": "bar", "x": [level_name(r.level) for r in measured],
        "y": [float(r.lead_time.median) for r in measured],
        "text": [f"{float(r.lead_time.median):.1f} d · {r.lead_time.count} "
                 f"model{'s' if r.lead_time.count != 1 else ''}" for r in measured],
        "textposition": "outside", "cliponaxis": False, "marker": {"color": BRAND},
        "hovertemplate": "%{x}<br>%{text}<extra></extra>",
    }], "layout": layout}
