"""The model value dashboard: value delivered by quarter (measured vs estimated), value vs
compute per model, the models ranked by net value, cost of delay beside the median lead time,
and value at risk with each model's reason.

The same queries as GET /api/v1/metrics/value; the team and quarter filters swap the charts
through htmx and push the URL (the dashboards' shared filters), so every view is a link.
"""

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.auth.deps import Reader
from app.core.types import parse_id
from app.dashboards.routes import _page, _respond
from app.db import SessionDep
from app.value import figures, queries
from app.value.queries import ValueFilters
from app.velocity import queries as velocity
from app.velocity.queries import VelocityFilters

router = APIRouter(prefix="/dashboards", include_in_schema=False)

PAGE_SIZE = 20
MAX_PAGE = 100_000
# The scatter shows the most valuable models: beyond a few hundred points it is a blot.
SCATTER_POINTS = 300


def _page_number(raw: str) -> int:
    page = parse_id(raw)
    return page if page is not None and page <= MAX_PAGE else 1


@router.get("/value", name="dashboards.value")
def value_dashboard(request: Request, session: SessionDep, principal: Reader) -> Response:
    filters, org, context = _page(request, session, principal)
    if filters.errors:
        return _respond(request, "dashboards/value.html", filters, context)
    today = context["today"]
    scope = ValueFilters(team_ids=filters.team_ids)
    quarters = filters.quarters
    first, last = filters.first, filters.last
    buckets = [(i, q.first_day, q.last_day) for i, q in enumerate(quarters)]
    by_quarter = queries.value_by_bucket(session, scope, buckets)
    delays = queries.delay_by_bucket(session, scope, buckets, org.target_lead_time_days)
    lead = velocity.lead_time_by_quarter(session, VelocityFilters(team_ids=filters.team_ids),
                                         quarters)
    page = _page_number(request.query_params.get("page", ""))
    # The period shown is the chart's quarters end to end: its figures are theirs, summed.
    report = queries.value_report(
        session, scope, first, last, today=today,
        target_lead_time_days=org.target_lead_time_days, staleness_days=org.staleness_days,
        offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, order="net", top=SCATTER_POINTS,
        figures=queries.tiled_figures(by_quarter.values()),
        delay=queries.tiled_delay(delays.values()))
    points = report.top
    base_qs = filters.query_string()

    def quarter_link(label: str) -> str:
        pairs = [("team", slug) for slug in filters.team_slugs] + [("from", label), ("to", label)]
        return f"{request.url.path}?{urlencode(pairs)}#ranked"

    value_rows = [figures.QuarterValue(q.label, v.value.expected, v.value.low, v.value.high,
                                       v.measured, v.estimated)
                  for q, v in zip(quarters, by_quarter.values(), strict=True)]
    delay_rows = [figures.QuarterDelay(q.label, d.cost.expected, d.cost.low, d.cost.high,
                                       d.week_value.expected, d.models, lead[q].median)
                  for q, d in zip(quarters, delays.values(), strict=True)]
    last_delay = delay_rows[-1]
    context |= {
        "report": report, "page": page, "page_size": PAGE_SIZE,
        "pages": max(1, -(-report.models_total // PAGE_SIZE)), "base_qs": base_qs,
        "value_rows": value_rows, "delay_rows": delay_rows,
        "week_sentence": figures.week_sentence(last_delay.week_value, last_delay.models,
                                               org.currency, last_delay.label),
        "value_figure": figures.value_by_quarter(value_rows, org.currency, link=quarter_link),
        "scatter_figure": figures.value_vs_compute(
            [figures.ModelPoint(m.name, m.team_name, m.kind.value, m.figures.value.expected,
                                m.figures.compute, f"/models/{m.model_id}") for m in points],
            org.currency),
        "scatter_points": points,
        "delay_figure": figures.delay_by_quarter(delay_rows, org.currency),
    }
    response = _respond(request, "dashboards/value.html", filters, context)
    if page > 1 and "HX-Push-Url" in response.headers:
        response.headers["HX-Push-Url"] += f"&page={page}"
    return response
