"""Organisation settings pages (admin): the overview of the settings area and the organisation's
name, currency, fiscal year, working time and model-value thresholds. Teams and personas are
app/teams/routes.py, users and tokens app/auth/admin_routes.py, single sign-on sso_routes.py.

Plain form posts with Post/Redirect/Get. A refused form is rendered again with 422, the values
as typed and each message beside its field; services validate before they write, so nothing is
stored then.
"""

import calendar
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.auth.deps import Admin
from app.core.errors import ValidationFailed
from app.core.locking import StaleVersion, form_version
from app.db import SessionDep
from app.web.forms import (
    Errors, FormDep, admin_field_errors, admin_page, conflict_rows, error_context, form_text,
    plain_number, redirect_with_flash, typed_version,
)
from app.settings import service as settings_service
from app.settings.schemas import OrgSettingsUpdate

router = APIRouter(prefix="/settings", include_in_schema=False)

MONTHS = [(str(i), calendar.month_name[i]) for i in range(1, 13)]


# --- overview ---------------------------------------------------------------------------------


@router.get("", name="settings.index")
def index(request: Request, session: SessionDep, principal: Admin) -> Response:
    org = settings_service.get_org_settings(session)
    return admin_page(request, "settings/index.html", {"org": org})


# --- organisation -----------------------------------------------------------------------------

ORG_FIELDS = ["name", "currency", "fiscal_year_start_month", "working_weeks_per_year",
              "working_hours_per_week", "target_lead_time_days", "staleness_days"]


ORG_LABELS = {"name": "Name", "currency": "Currency",
              "fiscal_year_start_month": "Fiscal year starts in",
              "working_weeks_per_year": "Working weeks per year",
              "working_hours_per_week": "Working hours per week",
              "target_lead_time_days": "Target lead time (days)",
              "staleness_days": "Stale after (days)"}


def _org_values(session: Session) -> dict[str, str]:
    org = settings_service.get_org_settings(session)
    return {f: str(getattr(org, f)) for f in ORG_FIELDS}


def _organisation_page(request: Request, session: Session, *,
                       values: dict[str, str] | None = None, errors: Errors | None = None,
                       status_code: int = 200, version: int | None = None,
                       conflict: dict[str, Any] | None = None) -> Response:
    if values is None:
        values = _org_values(session)
    if version is None:
        version = settings_service.get_org_settings(session).version
    return admin_page(request, "settings/organisation.html", {
        "values": values, "months": MONTHS, "version": version, "conflict": conflict,
        **error_context(errors or {}, ORG_FIELDS),
    }, status_code=status_code)


@router.get("/organisation", name="settings.organisation")
def organisation(request: Request, session: SessionDep, principal: Admin) -> Response:
    return _organisation_page(request, session)


@router.post("/organisation", name="settings.organisation_update")
def organisation_update(request: Request, session: SessionDep, principal: Admin,
                        form: FormDep) -> Response:
    values = {f: form_text(form, f) for f in ORG_FIELDS}
    try:
        version = form_version(form_text(form, "version"))
        # The model-value thresholds came later: a form without them keeps the stored ones.
        data = OrgSettingsUpdate(**{f: v for f, v in values.items()
                                    if v != "" or f not in ("target_lead_time_days",
                                                            "staleness_days")}, version=version)
        settings_service.update_org_settings(session, data, actor=principal,
                                             require_version=True)
    except (ValidationError, ValidationFailed) as exc:
        return _organisation_page(request, session, values=values, errors=admin_field_errors(exc),
                                  version=typed_version(form), status_code=422)
    except StaleVersion as exc:
        months = dict(MONTHS)

        def shown(v: dict[str, str]) -> dict[str, str]:
            return v | {"fiscal_year_start_month": months.get(v["fiscal_year_start_month"],
                                                              v["fiscal_year_start_month"]),
                        "working_weeks_per_year": plain_number(v["working_weeks_per_year"]),
                        "working_hours_per_week": plain_number(v["working_hours_per_week"]),
                        "currency": v["currency"].upper()}

        theirs = _org_values(session)
        return _organisation_page(request, session, values=values, status_code=409,
                                  version=exc.current.version, conflict={
                                      "message": exc.message,
                                      "rows": conflict_rows(ORG_LABELS, shown(theirs),
                                                            shown(values))})
    url = request.app.url_path_for("settings.organisation")
    return redirect_with_flash(request, url, "Organisation settings saved.")
