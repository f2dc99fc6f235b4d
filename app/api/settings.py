"""/api/v1/settings: the organisation's currency, fiscal year and working time."""

from fastapi import APIRouter

from app.api.types import Tenths, problem_responses
from app.auth.deps import Admin, Reader
from app.db import SessionDep
from app.settings import schemas, service
from app.settings.models import OrgSettings
from app.settings.schemas import OrgSettingsUpdate

router = APIRouter(prefix="/settings", tags=["settings"])


class OrgSettingsOut(schemas.OrgSettingsOut):
    working_weeks_per_year: Tenths
    working_hours_per_week: Tenths


def settings_out(org: OrgSettings) -> OrgSettingsOut:
    return OrgSettingsOut.model_validate(org, from_attributes=True)


@router.get("", name="api.settings.get", summary="Read the org settings",
            response_model=OrgSettingsOut, responses=problem_responses(401))
def get_settings(session: SessionDep, principal: Reader) -> OrgSettingsOut:
    return settings_out(service.get_org_settings(session))


@router.patch("", name="api.settings.update", summary="Change the org settings",
              response_model=OrgSettingsOut, responses=problem_responses(401, 403, 422))
def update_settings(session: SessionDep, principal: Admin,
                    data: OrgSettingsUpdate) -> OrgSettingsOut:
    """Changes the fields given; the others keep their values."""
    return settings_out(service.update_org_settings(session, data, actor=principal))
