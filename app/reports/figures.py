"""The report's charts as Plotly figure dicts: the dashboards' own builders where they exist,
made static (a report has nothing to drill down into). Pure: no I/O, no ORM."""

import copy
from decimal import Decimal
from html import escape
from typing import Any

from app.core import charts
from app.pain_points import figures as cost_figures
from app.reports.quarterly import QuarterlyReport
from app.velocity import figures as velocity_figures

Figure = dict[str, Any]
CLICK_HINTS = ("<br>Click to list its pain points", "<br>Click to open it")
# Okabe–Ito grey and the brand blue: the previous quarter's bar, then this quarter's.
PREVIOUS_COLOUR, CURRENT_COLOUR = "#8A96A6", charts.BRAND


def static(figure: Figure) -> Figure:
    """The figure without drill-down targets and without hovers that invite a click."""
    figure = copy.deepcopy(figure)
    for trace in figure.get("data", []):
        trace.pop("customdata", None)
        if isinstance(trace.get("hovertext"), list):
            texts = trace["hovertext"]
            for hint in CLICK_HINTS:
                texts = [t.replace(hint, "") if isinstance(t, str) else t for t in texts]
            trace["hovertext"] = texts
    return figure


def maturity_bars(report: QuarterlyReport) -> Figure:
    """Each team's score at the end of the previous quarter and of this one, side by side."""
    rows = [m for m in report.maturity if m.score is not None or m.previous_score is not None]
    layout = {"height": max(240, 90 + 46 * len(rows)), "font": charts.FONT,
              "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff", "barmode": "group",
              "bargap": 0.3, "showlegend": True, "hovermode": "closest",
              "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
              "margin": {"l": 20, "r": 20, "t": 30, "b": 50},
              "xaxis": {"title": {"text": "Maturity score (level 0–2)"}, "range": [0, 2.05],
                        "dtick": 0.5, "gridcolor": charts.GRID, "zeroline": False,
                        "fixedrange": True},
              "yaxis": {"type": "category", "autorange": "reversed", "automargin": True,
                        "fixedrange": True}}
    if not rows:
        return charts.no_data(layout)
    names = [charts.wrap(m.team, 24) for m in rows]

    def values(scores: list[Decimal | None]) -> list[float | None]:
        return [None if s is None else float(s) for s in scores]

    return {"data": [
        {"type": "bar", "orientation": "h", "name": f"End of {report.previous.label}",
         "y": names, "x": values([m.previous_score for m in rows]),
         "marker": {"color": PREVIOUS_COLOUR},
         "hovertemplate": "%{y}<br>%{x:.2f}<extra>" + escape(report.previous.label)
                          + "</extra>"},
        {"type": "bar", "orientation": "h", "name": f"End of {report.quarter.label}",
         "y": names, "x": values([m.score for m in rows]), "marker": {"color": CURRENT_COLOUR},
         "hovertemplate": "%{y}<br>%{x:.2f}<extra>" + escape(report.quarter.label)
                          + "</extra>"},
    ], "layout": layout}


def report_figures(report: QuarterlyReport) -> dict[str, Figure]:
    """The charts of the report by section, only those with something to draw."""
    def no_link(*_: Any) -> str:
        return ""

    found = {
        "cost_by_stage": cost_figures.cost_bars(report.cost_by_stage, report.currency,
                                                link=no_link),
        "cost_by_persona": cost_figures.cost_bars(report.cost_by_persona, report.currency,
                                                  link=no_link, sort_by_cost=True),
        "velocity_by_month": velocity_figures.deployments_by_month(report.months, link=no_link),
        "maturity": maturity_bars(report),
    }
    return {key: static(fig) for key, fig in found.items() if fig.get("data")}
