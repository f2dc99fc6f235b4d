"""The report as HTML: the context both templates share (the in-app printable page draws its
charts with charts.js; the standalone document, which is also the PDF's source, carries them as
PNG images and its print stylesheet inline)."""

import base64
from pathlib import Path
from typing import Any

from jinja2 import Environment

from app.reports import charts
from app.reports import formats as f
from app.reports.figures import report_figures
from app.reports.quarterly import QuarterlyReport
from app.reports.tables import prose, report_tables

# The sections in reading order, each with the chart drawn above its table (if any).
SECTIONS = ("top_pain_points", "cost_by_stage", "cost_by_persona", "opened", "resolved",
            "velocity_by_month", "maturity", "initiatives", "model_value", "value_at_risk")
CHART_LABELS = {
    "cost_by_stage": "Bar chart of the annual cost of friction per lifecycle stage, with its "
                     "low–high range",
    "cost_by_persona": "Bar chart of the annual cost of friction per persona, with its "
                       "low–high range",
    "velocity_by_month": "Bars of deployments per month and a line of the change failure rate",
    "maturity": "Bars of each team's maturity score at the end of the previous quarter and of "
                "this one",
}


def context(report: QuarterlyReport, *, charts_as: str,
            images: dict[str, bytes] | None = None) -> dict[str, Any]:
    """`charts_as`: "plotly" (figure JSON for charts.js), "images" (PNG data URIs) or "none"."""
    tables = {t.key: t for t in report_tables(report)}
    figures = report_figures(report) if charts_as == "plotly" else {}
    uris = {key: "data:image/png;base64," + base64.b64encode(png).decode("ascii")
            for key, png in (images or {}).items()}
    return {
        "report": report, "charts_as": charts_as, "figures": figures, "images": uris,
        "chart_labels": CHART_LABELS,
        "sections": [prose(tables[key], report.currency) for key in SECTIONS],
        "shown": lambda kind, value, unit=False: f.shown(kind, value, report.currency,
                                                         unit=unit),
        "plain": f.plain,
    }


def write_document(report: QuarterlyReport, env: Environment, static_dir: Path, *,
                   with_charts: bool = True) -> str:
    """A self-contained HTML document: print stylesheet inline, charts as PNG images (tables
    only when Chromium cannot draw them here)."""
    figures = report_figures(report) if with_charts else {}
    images = charts.render_png(figures)
    page = context(report, charts_as="images", images=images)
    page["css"] = (static_dir / "css" / "print.css").read_text(encoding="utf-8")
    page["charts_missing"] = bool(figures) and not images
    return env.get_template("reports/document.html").render(page)


def write_html(report: QuarterlyReport, env: Environment, static_dir: Path) -> bytes:
    return write_document(report, env, static_dir).encode("utf-8")
