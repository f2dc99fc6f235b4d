"""The ROI dashboard: expected vs realized savings per initiative, the payback curve (cumulative
realized savings against cumulative cost, quarter by quarter) and initiatives ranked by ROI.

The same queries as the initiative pages and the metrics API; the horizon and team filters
swap the charts through htmx and push the URL, so every view is a shareable link. An
organisation has thousands of initiatives: the bar charts show the top ones by their measure
and the ranking table is paged like the pain-point ledger, so the page stays the same size
however many there are. The payback curve is one aggregate of all of them.
"""

from fastapi import APIRouter, Request
from starlette.datastructures import QueryParams
from starlette.responses import Response

from app.auth.deps import Reader
from app.core.clock import today
from app.core.types import parse_id
from app.db import SessionDep
from app.initiatives import figures, queries
from app.initiatives.models import InitiativeStatus
from app.initiatives.routes import (
    HORIZONS,
    LABELS,
    STATUS_LABELS,
    ListQuery,
    initiative_scope,
    list_query,
    org_of,
    visible_teams,
)
from app.web.templating import render

router = APIRouter(prefix="/dashboards", include_in_schema=False)

# A cancelled initiative promises nothing any more; the dashboard weighs the live ones.
COUNTED = (InitiativeStatus.proposed, InitiativeStatus.in_progress, InitiativeStatus.delivered)
# The payback curve shows at most ten years of quarters (the latest ones).
MAX_QUARTERS = 40
# Bars per chart: more would be unreadable (and weigh a bar per initiative); the table pages.
TOP_BARS = 20
PAGE_SIZE = 20
MAX_PAGE = 100_000


def _page_number(params: QueryParams, query: ListQuery) -> int:
    raw = params.get("page", "").strip()
    if not raw:
        return 1
    page = parse_id(raw)
    if page is not None and page <= MAX_PAGE:
        return page
    query.errors["page"] = f"choose a page from 1 to {MAX_PAGE:,}"
    return 1


@router.get("/roi", name="dashboards.roi")
def roi_dashboard(request: Request, session: SessionDep, principal: Reader) -> Response:
    teams = visible_teams(session, principal)
    query = list_query(request, teams)
    page = _page_number(request.query_params, query)
    org = org_of(session)
    now = today()
    context = {"path_for": request.app.url_path_for, "query": query, "teams": teams,
               "horizons": HORIZONS, "labels": LABELS | {"page": "Page"},
               "status_labels": STATUS_LABELS, "currency": org.currency,
               "list_errors": query.errors, "rows": []}
    if query.errors:
        return render(request, "dashboards/roi.html", context, block="dashboard",
                      status_code=422)
    filters, team_ids = initiative_scope(principal, query, COUNTED)
    board = queries.roi_board(session, filters, team_ids=team_ids, weeks=org.weeks,
                              horizon_years=query.horizon, page=page, page_size=PAGE_SIZE,
                              top=TOP_BARS, today=now)
    points = queries.payback_curve(session, filters, team_ids=team_ids, weeks=org.weeks,
                                   today=now, first_started=board.first_started,
                                   fiscal_year_start_month=org.fiscal_year_start_month,
                                   max_quarters=MAX_QUARTERS)
    found = board.figures
    bars = [figures.SavingsBar(r.initiative.id, r.initiative.title, found[r.initiative.id].expected,
                               found[r.initiative.id].expected_low,
                               found[r.initiative.id].expected_high,
                               found[r.initiative.id].realized) for r in board.by_savings]
    ranked = [figures.RoiBar(r.initiative.id, r.initiative.title, found[r.initiative.id].roi)
              for r in board.by_roi]
    context |= {
        # The template counts the initiatives in scope; it lists only the rows below.
        "rows": range(board.total), "figures": found, "period": board.period,
        "points": points, "top_rows": board.by_savings, "ranked": ranked,
        "ranked_total": board.with_roi, "table": board.table,
        "first_rank": (board.page - 1) * PAGE_SIZE + 1, "page": board.page,
        "pages": board.pages, "page_size": PAGE_SIZE,
        "page_qs": {n: query.query_string(page=n) for n in (board.page - 1, board.page + 1)},
        "savings_figure": figures.expected_vs_realized(bars, org.currency),
        "curve_figure": figures.payback_curve(points, org.currency),
        "roi_figure": figures.roi_ranking(ranked, query.horizon),
    }
    return render(request, "dashboards/roi.html", context, block="dashboard")
