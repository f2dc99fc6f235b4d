"""/api/v1/reports/quarterly: the quarterly summary in any of its formats, from the same report
model as the reports page and `northstar export`."""

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.api.types import PROBLEM_SCHEMA, problem_responses
from app.auth.deps import Exporter
from app.core import clock
from app.db import SessionDep
from app.reports import export
from app.reports.export import FORMATS

router = APIRouter(tags=["reports"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The report in the format asked for; every format but JSON as an "
                         "attachment with a file name like northstar-2026-Q3-fraud-detection.xlsx.",
          "content": {f.media_type.split(";")[0]: {} for f in FORMATS.values()}},
    400: {"description": "A malformed quarter (write it like 2026-Q3), a quarter that has not "
                         "started, an unknown team or format; `errors` names each field.",
          "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}},
    **problem_responses(401, 403),
}


@router.get("/reports/quarterly", name="api.reports.quarterly", summary="Quarterly summary",
            response_class=Response, responses=RESPONSES)
def quarterly_report(
    request: Request, session: SessionDep, principal: Exporter,
    quarter: Annotated[str | None, Query(
        description="Quarter, e.g. 2026-Q3 (fiscal, per the org settings); defaults to the "
                    "last complete quarter. A quarter that has not started is refused.")] = None,
    team: Annotated[str | None, Query(
        description="Team slug; without it the whole organisation, or a viewer's own teams "
                    "(the report says so).")] = None,
    fmt: Annotated[str | None, Query(
        alias="format", description="json (default), csv (a zip of CSV files), xlsx, pdf, md "
                                    "or html.")] = None,
) -> Response:
    """The quarterly summary of docs/product.md for one quarter and the whole organisation or one
    team: headline figures against the previous quarter (the dashboards' own), the top 10 pain
    points by cost with their ranges, pain points opened and resolved, cost by stage and
    persona, deployments by month, maturity changes, initiatives with expected and realized
    savings, and a short narrative. In JSON, money is a decimal string rounded half-even to
    cents, ratios have four decimals. A team the caller may not read is refused exactly like
    an unknown one (400 naming `team`)."""
    today = clock.today()
    wanted = export.parse_request(session, principal, quarter=quarter, team=team, fmt=fmt,
                                  today=today)
    report = export.build(session, wanted, today=today)
    file = export.write(report, wanted.format, env=request.app.state.templates.env,
                        static_dir=Path(request.app.state.settings.static_dir))
    disposition = file.content_disposition
    if wanted.format.key == "json":
        disposition = disposition.replace("attachment", "inline", 1)
    return Response(file.body, media_type=file.media_type, headers={
        "Content-Disposition": disposition, "Cache-Control": "no-store"})
