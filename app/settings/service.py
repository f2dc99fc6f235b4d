"""Reads and writes of the organisation's settings (one row, created by the first migration)."""

from sqlalchemy.orm import Session

from app.audit.service import record, snapshot
from app.auth.permissions import Principal
from app.core.locking import expect_version, flush_or_stale
from app.settings.models import ORG_SETTINGS_ID, OrgSettings
from app.settings.schemas import OrgSettingsUpdate

FIELDS = ["name", "currency", "fiscal_year_start_month", "working_weeks_per_year",
          "working_hours_per_week", "target_lead_time_days", "staleness_days"]


def get_org_settings(session: Session) -> OrgSettings:
    org = session.get(OrgSettings, ORG_SETTINGS_ID)
    if org is None:  # a database that was stamped rather than migrated
        org = OrgSettings(id=ORG_SETTINGS_ID)
        session.add(org)
        session.flush()
    # The identity map holds objects weakly: a caller that reads one field drops the row, and
    # the next call in the same request selected it again (twice a metrics request). Held for
    # the session's life, a later call is a lookup; after a commit the row is still expired
    # and reloaded, so nothing stale is read.
    session.info["org_settings"] = org
    return org


def update_org_settings(session: Session, data: OrgSettingsUpdate, *,
                        actor: Principal, require_version: bool = False) -> OrgSettings:
    org = get_org_settings(session)
    expect_version(org, data.version, "organisation's settings", required=require_version)
    before = snapshot(org, FIELDS)
    for field, value in data.model_dump(exclude_none=True, exclude={"version"}).items():
        setattr(org, field, value)
    flush_or_stale(session, org, "organisation's settings")
    after = snapshot(org, FIELDS)
    if after != before:
        record(session, actor=actor.actor_label, actor_id=actor.user_id, action="update",
               entity="org_settings", entity_id=org.id, before=before, after=after)
    return org
