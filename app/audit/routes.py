"""The admin's audit log page: who changed what, before and after, when; filtered and paged."""

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.responses import Response

from app.audit import queries
from app.audit.queries import AuditFilters
from app.auth.deps import Admin
from app.core.types import Day
from app.db import SessionDep
from app.web.templating import render

router = APIRouter(prefix="/settings", include_in_schema=False)

PAGE_SIZE = 50
ENTITY_LABELS = {
    "api_token": "API token", "compute_cost": "Compute cost", "demo": "Demo data",
    "initiative": "Initiative", "lifecycle_event": "Lifecycle event",
    "maturity_assessment": "Maturity assessment", "ml_model": "Model",
    "org_settings": "Organisation", "pain_point": "Pain point", "persona": "Persona",
    "team": "Team", "user": "User", "sso": "Single sign-on refusal",
    "sso_group_mapping": "SSO group mapping",
}


def _blank_is_none(value: Any) -> Any:
    # An empty date field of the filter form arrives as "from=".
    return None if isinstance(value, str) and not value.strip() else value


OptionalDay = Annotated[Day | None, BeforeValidator(_blank_is_none)]


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    entity: str = Field("", max_length=60)
    actor: str = Field("", max_length=200)
    action: str = Field("", max_length=40)
    from_: OptionalDay = Field(None, alias="from")
    to: OptionalDay = None
    page: int = Field(1, ge=1, le=1_000_000)

    def pairs(self, **overrides: Any) -> str:
        values = {"entity": self.entity, "actor": self.actor.strip(), "action": self.action,
                  "from": self.from_.isoformat() if self.from_ else "",
                  "to": self.to.isoformat() if self.to else "", "page": self.page} | overrides
        return urlencode([(k, v) for k, v in values.items() if v not in ("", None, 1)])


@router.get("/audit", name="settings.audit")
def audit_log(request: Request, session: SessionDep, principal: Admin,
              query: Annotated[AuditQuery, Query()]) -> Response:
    errors: dict[str, str] = {}
    if query.from_ and query.to and query.to < query.from_:
        errors["to"] = "is before the first day"
    rows: list[queries.AuditRow] = []
    total = 0
    if not errors:
        filters = AuditFilters(entity_type=query.entity, actor=query.actor.strip(),
                               action=query.action, first=query.from_, last=query.to)
        rows, total = queries.list_entries(session, filters,
                                           offset=(query.page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    entity_types, actions = queries.filter_choices(session)
    pages = max(1, -(-total // PAGE_SIZE))
    return render(request, "settings/audit.html", {
        "path_for": request.app.url_path_for, "query": query, "rows": rows, "total": total,
        "page": query.page, "pages": pages, "page_size": PAGE_SIZE, "errors": errors,
        "entity_types": sorted(set(entity_types) | set(queries.known_entity_types())),
        "actions": actions, "entity_labels": ENTITY_LABELS,
        "page_qs": {n: query.pairs(page=n) for n in (query.page - 1, query.page + 1)},
    }, block="results", status_code=422 if errors else 200)
