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
from app.core.periods import quarter_of, quarters_between
from app.core.types import parse_id
from app.db import SessionDep
from app.initiatives import figures, queries, roi
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
    # Rank every initiative in scope by expected savings and by ROI from their expected
    # savings alone (read off the stored run-rates), then compute the full figures only for the
    # ones shown: the top bars and the table's page.
    filters, team_ids = initiative_scope(principal, query, COUNTED)
    rows, _ = queries.list_initiatives(session, filters, with_links=False)
    expected = queries.expected_savings(session, [r.initiative.id for r in rows],
                                        weeks=org.weeks, team_ids=team_ids)
    rois = {r.initiative.id: roi.roi(expected[r.initiative.id], r.initiative.one_time_cost,
                                     r.initiative.yearly_run_cost, query.horizon)
            for r in rows}
    rows.sort(key=lambda r: (-expected[r.initiative.id], r.initiative.title))
    top_rows = rows[:TOP_BARS]
    # The table: every initiative by ROI, those without one (costing nothing) last.
    by_roi = sorted(rows, key=lambda r: (rois[r.initiative.id] is None,
                                         -(rois[r.initiative.id] or 0),
                                         r.initiative.title, r.initiative.id))
    pages = max(1, -(-len(by_roi) // PAGE_SIZE))
    page = min(page, pages)
    table = by_roi[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    shown = {r.initiative.id: r for r in [*top_rows, *by_roi[:TOP_BARS], *table]}
    period = queries.realized_period(rows, now)
    found = queries.initiative_figures(session, list(shown.values()), weeks=org.weeks,
                                       horizon_years=query.horizon, first=period[0],
                                       last=period[1], team_ids=team_ids)
    bars = [figures.SavingsBar(r.initiative.id, r.initiative.title, found[r.initiative.id].expected,
                               found[r.initiative.id].expected_low,
                               found[r.initiative.id].expected_high,
                               found[r.initiative.id].realized) for r in top_rows]
    ranked = [figures.RoiBar(r.initiative.id, r.initiative.title, found[r.initiative.id].roi)
              for r in by_roi[:TOP_BARS] if rois[r.initiative.id] is not None]
    ranked_total = sum(1 for value in rois.values() if value is not None)

    started = [r for r in rows if r.initiative.started_on and r.initiative.started_on <= now]
    points: list[figures.CurvePoint] = []
    if started:
        first = quarter_of(min(r.initiative.started_on for r in started),
                           org.fiscal_year_start_month)
        quarters = quarters_between(first, quarter_of(now, org.fiscal_year_start_month))
        quarters = quarters[-MAX_QUARTERS:]
        periods = [(q.first_day, min(q.last_day, now)) for q in quarters]
        realized = queries.realized_by_period(
            session, [r.initiative.id for r in started], weeks=org.weeks, periods=periods,
            team_ids=team_ids)
        points = figures.payback_points(
            [(q.label, a, b) for q, (a, b) in zip(quarters, periods, strict=True)],
            [figures.CurveInitiative(r.initiative.one_time_cost, r.initiative.yearly_run_cost,
                                     r.initiative.started_on, r.initiative.delivered_on,
                                     realized[r.initiative.id]) for r in started])
    context |= {
        "rows": rows, "figures": found, "period": period, "points": points,
        "top_rows": top_rows, "ranked": ranked, "ranked_total": ranked_total,
        "table": table,
        "first_rank": (page - 1) * PAGE_SIZE + 1, "page": page, "pages": pages,
        "page_size": PAGE_SIZE,
        "page_qs": {n: query.query_string(page=n) for n in (page - 1, page + 1)},
        "savings_figure": figures.expected_vs_realized(bars, org.currency),
        "curve_figure": figures.payback_curve(points, org.currency),
        "roi_figure": figures.roi_ranking(ranked, query.horizon),
    }
    return render(request, "dashboards/roi.html", context, block="dashboard")
