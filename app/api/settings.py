"""/api/v1/settings: the organisation's currency, fiscal year and working time."""

from fastapi import APIRouter, Response

from app.api.locking import IfMatch, locking_responses, set_etag, versioned
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
def get_settings(response: Response, session: SessionDep, principal: Reader) -> OrgSettingsOut:
    """With its version as the `ETag`, to send back as `If-Match` when changing them."""
    org = service.get_org_settings(session)
    set_etag(response, org.version)
    return settings_out(org)


@router.patch("", name="api.settings.update", summary="Change the org settings",
              response_model=OrgSettingsOut,
              responses=problem_responses(401, 403, 422) | locking_responses("settings"))
def update_settings(response: Response, session: SessionDep, principal: Admin,
                    data: OrgSettingsUpdate, if_match: IfMatch = None) -> OrgSettingsOut:
    """Changes the fields given; the others keep their values. Optimistic locking: the
    version you read is required, as `If-Match` or `version`; a stale one is refused (409)."""
    data = versioned(data, if_match)
    org = service.update_org_settings(session, data, actor=principal,
                                       require_version=True)
    set_etag(response, org.version)
    return settings_out(org)
