"""The reports page (/reports: pick quarter, team and format), the download behind it and the
printable quarterly page (/reports/quarterly). Plain `def` handlers: FastAPI runs them in its
threadpool, so a PDF being laid out does not hold up anybody else's request."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.auth.deps import Exporter
from app.auth.permissions import Principal
from app.core import clock
from app.core.errors import FieldError
from app.core.periods import last_quarters, quarter_of
from app.db import SessionDep
from app.reports import export
from app.reports.export import FORMATS, BadReportRequest
from app.reports.writers import html
from app.settings.service import get_org_settings
from app.teams import queries as team_queries
from app.web.templating import render

router = APIRouter(prefix="/reports", include_in_schema=False)

# The page offers the formats a person downloads; JSON is for programs (the API).
PAGE_FORMATS = ("pdf", "xlsx", "csv", "md", "html")
DEFAULT_FORMAT = "pdf"
QUARTERS_OFFERED = 12
LABELS = {"quarter": "Quarter", "team": "Team", "format": "Format"}
FORMAT_HINTS = {
    "pdf": "A4 document with the charts, for a business review deck.",
    "xlsx": "A sheet per section, numbers as numbers with currency and percent formats.",
    "csv": "A zip with one CSV file per table, for your own analysis.",
    "md": "Tables and narrative in Markdown, for a wiki page or a chat.",
    "html": "A single self-contained HTML file with the charts as images.",
}

QuarterQuery = Annotated[str | None, Query(description="Quarter, e.g. 2026-Q3.")]
TeamQuery = Annotated[str | None, Query(description="Team slug.")]
FormatQuery = Annotated[str | None, Query(alias="format")]


def _form(request: Request, session: Session, principal: Principal, *, quarter: str | None,
          team: str | None, fmt: str | None, errors: list[FieldError] | None = None,
          status_code: int = 200) -> Response:
    org = get_org_settings(session)
    today = clock.today()
    current = quarter_of(today, org.fiscal_year_start_month)
    default = export.last_complete_quarter(today, org.fiscal_year_start_month)
    teams, _ = team_queries.list_teams(session, visible_team_ids=principal.visible_team_ids)
    return render(request, "reports/index.html", {
        "quarters": last_quarters(current, QUARTERS_OFFERED)[::-1], "current": current,
        "chosen": {"quarter": (quarter or "").strip() or default.label,
                   "team": (team or "").strip(),
                   "format": (fmt or "").strip().lower() or DEFAULT_FORMAT},
        "teams": teams, "all_teams": principal.visible_team_ids is None,
        "formats": [FORMATS[key] for key in PAGE_FORMATS], "format_hints": FORMAT_HINTS,
        "errors": errors or [], "labels": LABELS,
        "paths": {"download": request.app.url_path_for("reports.download"),
                  "quarterly": request.app.url_path_for("reports.quarterly"),
                  "api": request.app.url_path_for("api.reports.quarterly")},
    }, status_code=status_code)


@router.get("", name="reports.index")
def index(request: Request, session: SessionDep, principal: Exporter,
          quarter: QuarterQuery = None, team: TeamQuery = None,
          fmt: FormatQuery = None) -> Response:
    return _form(request, session, principal, quarter=quarter, team=team, fmt=fmt)


@router.get("/quarterly", name="reports.quarterly")
def quarterly(request: Request, session: SessionDep, principal: Exporter,
              quarter: QuarterQuery = None, team: TeamQuery = None) -> Response:
    """The printable page: the report with its charts drawn by charts.js and print CSS."""
    today = clock.today()
    try:
        wanted = export.parse_request(session, principal, quarter=quarter, team=team,
                                      fmt="html", today=today)
    except BadReportRequest as exc:
        return _form(request, session, principal, quarter=quarter, team=team, fmt=None,
                     errors=exc.errors, status_code=400)
    report = export.build(session, wanted, today=today)
    context = html.context(report, charts_as="plotly")
    context["downloads"] = [(FORMATS[key], request.app.url_path_for("reports.download"))
                            for key in PAGE_FORMATS]
    context["index_path"] = request.app.url_path_for("reports.index")
    return render(request, "reports/quarterly.html", context)


@router.get("/download", name="reports.download")
def download(request: Request, session: SessionDep, principal: Exporter,
             quarter: QuarterQuery = None, team: TeamQuery = None,
             fmt: FormatQuery = None) -> Response:
    """The file itself; bad input shows the form again with what is wrong (400)."""
    today = clock.today()
    try:
        wanted = export.parse_request(session, principal, quarter=quarter, team=team, fmt=fmt,
                                      today=today, default_format=DEFAULT_FORMAT)
    except BadReportRequest as exc:
        return _form(request, session, principal, quarter=quarter, team=team, fmt=fmt,
                     errors=exc.errors, status_code=400)
    report = export.build(session, wanted, today=today)
    file = export.write(report, wanted.format, env=request.app.state.templates.env,
                        static_dir=Path(request.app.state.settings.static_dir))
    return Response(file.body, media_type=file.media_type, headers={
        "Content-Disposition": file.content_disposition, "Cache-Control": "no-store"})
