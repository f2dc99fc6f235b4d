"""Reads of the audit log for the admin page: filtered, newest first, each entry with the
fields it changed and the entity it names (label and page)."""

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.auth.models import ApiToken, User
from app.core.types import parse_id
from app.initiatives.models import Initiative
from app.maturity.models import MaturityAssessment
from app.ml_models.models import ComputeCost, LifecycleEvent, MLModel
from app.pain_points.models import PainPoint
from app.teams.models import Persona, Team


@dataclass(frozen=True)
class AuditFilters:
    entity_type: str = ""
    actor: str = ""  # text within the actor, any case
    action: str = ""
    first: date | None = None  # UTC days, both inclusive
    last: date | None = None


@dataclass(frozen=True)
class Change:
    field: str
    before: str | None  # as shown; None: no value
    after: str | None


@dataclass(frozen=True)
class EntityRef:
    """What an entry is about: a label, and the page that shows it (route name and params)."""

    label: str
    route: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    changes: list[Change]
    entity: EntityRef | None


def _apply(query: Any, filters: AuditFilters) -> Any:
    if filters.entity_type:
        query = query.where(AuditEntry.entity_type == filters.entity_type)
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.actor:
        # autoescape: a % or _ typed by the admin matches itself, not everything
        query = query.where(func.lower(AuditEntry.actor).contains(filters.actor.lower(),
                                                                  autoescape=True))
    if filters.first is not None:
        query = query.where(AuditEntry.at >= datetime.combine(filters.first, time.min, UTC))
    if filters.last is not None:
        query = query.where(
            AuditEntry.at < datetime.combine(filters.last + timedelta(days=1), time.min, UTC))
    return query


def list_entries(session: Session, filters: AuditFilters, *, offset: int,
                 limit: int) -> tuple[list[AuditRow], int]:
    """One page of entries, newest first, and how many match in all."""
    total = session.scalar(_apply(select(func.count()).select_from(AuditEntry), filters)) or 0
    entries = session.scalars(
        _apply(select(AuditEntry), filters)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).offset(offset).limit(limit)
    ).all()
    refs = entity_refs(session, [(e.entity_type, e.entity_id) for e in entries])
    rows = [AuditRow(e, changes(e.before, e.after), refs.get((e.entity_type, e.entity_id)))
            for e in entries]
    return rows, total


def filter_choices(session: Session) -> tuple[list[str], list[str]]:
    """The entity types and the actions present in the log, for the filter lists."""
    pairs = session.execute(select(AuditEntry.entity_type, AuditEntry.action).distinct()).all()
    return sorted({p[0] for p in pairs}), sorted({p[1] for p in pairs})


# --- what changed -----------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    # Snapshots keep decimals as text: "2.00" read back and "2" as typed are one value.
    if isinstance(a, str | int) and isinstance(b, str | int) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        try:
            return Decimal(str(a)) == Decimal(str(b))
        except InvalidOperation:
            return False
    return False


def shown(value: Any) -> str | None:
    """A snapshot value as one line of text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Change]:
    """The fields whose value differs between the two snapshots, in the snapshots' order."""
    before, after = before or {}, after or {}
    names = list(dict.fromkeys([*before, *after]))
    return [Change(name, shown(before.get(name)), shown(after.get(name)))
            for name in names if not _same(before.get(name), after.get(name))]


# --- what an entry is about -------------------------------------------------------------------

Lookup = Callable[[Session, list[int]], dict[int, EntityRef]]


def _named(model: Any, label: Any, route: str, param: str) -> Lookup:
    def lookup(session: Session, ids: list[int]) -> dict[int, EntityRef]:
        return {id_: EntityRef(str(name), route, {param: id_}) for id_, name in
                session.execute(select(model.id, label).where(model.id.in_(ids)))}
    return lookup


def _listed(model: Any, label: Any, route: str) -> Lookup:
    """Entities without a page of their own link to the settings list that holds them."""
    def lookup(session: Session, ids: list[int]) -> dict[int, EntityRef]:
        return {id_: EntityRef(str(name), route) for id_, name in
                session.execute(select(model.id, label).where(model.id.in_(ids)))}
    return lookup


def _teams(session: Session, ids: list[int]) -> dict[int, EntityRef]:
    rows = session.execute(select(Team.id, Team.name, Team.slug).where(Team.id.in_(ids)))
    return {id_: EntityRef(name, "teams.edit", {"slug": slug}) for id_, name, slug in rows}


def _assessments(session: Session, ids: list[int]) -> dict[int, EntityRef]:
    rows = session.execute(
        select(MaturityAssessment.id, MaturityAssessment.assessed_on, Team.name, Team.slug)
        .join(Team, Team.id == MaturityAssessment.team_id)
        .where(MaturityAssessment.id.in_(ids)))
    return {id_: EntityRef(f"{name}, {on.isoformat()}", "maturity.team", {"slug": slug})
            for id_, on, name, slug in rows}


def _events(session: Session, ids: list[int]) -> dict[int, EntityRef]:
    rows = session.execute(
        select(LifecycleEvent.id, LifecycleEvent.type, MLModel.id, MLModel.name)
        .join(MLModel, MLModel.id == LifecycleEvent.model_id)
        .where(LifecycleEvent.id.in_(ids)))
    return {id_: EntityRef(f"{kind.value} of {name}", "ml_models.detail", {"model_id": model_id})
            for id_, kind, model_id, name in rows}


def _compute_costs(session: Session, ids: list[int]) -> dict[int, EntityRef]:
    rows = session.execute(
        select(ComputeCost.id, ComputeCost.month, MLModel.id, MLModel.name)
        .join(MLModel, MLModel.id == ComputeCost.model_id)
        .where(ComputeCost.id.in_(ids)))
    return {id_: EntityRef(f"{name}, {month:%Y-%m}", "ml_models.detail", {"model_id": model_id})
            for id_, month, model_id, name in rows}


LOOKUPS: dict[str, Lookup] = {
    "pain_point": _named(PainPoint, PainPoint.title, "pain_points.detail", "pain_point_id"),
    "ml_model": _named(MLModel, MLModel.name, "ml_models.detail", "model_id"),
    "initiative": _named(Initiative, Initiative.title, "initiatives.detail", "initiative_id"),
    "user": _named(User, User.email, "auth.user_edit", "user_id"),
    "team": _teams,
    "persona": _listed(Persona, Persona.name, "teams.personas"),
    "api_token": _listed(ApiToken, ApiToken.name, "auth.tokens"),
    "maturity_assessment": _assessments,
    "lifecycle_event": _events,
    "compute_cost": _compute_costs,
}
FIXED = {"org_settings": EntityRef("Organisation settings", "settings.organisation"),
         # Refused single sign-ons (by provider subject) and group mappings (some deleted).
         "sso": EntityRef("Single sign-on", "settings.sso"),
         "sso_group_mapping": EntityRef("Single sign-on group mapping", "settings.sso")}


def entity_refs(session: Session, keys: Iterable[tuple[str, str]]
                ) -> dict[tuple[str, str], EntityRef]:
    """Label and page of each (entity type, id): one query per entity type on the page."""
    wanted: dict[str, set[int]] = defaultdict(set)
    result: dict[tuple[str, str], EntityRef] = {}
    for kind, key in keys:
        if kind in FIXED:
            result[(kind, key)] = FIXED[kind]
        elif kind in LOOKUPS and parse_id(key) is not None:
            wanted[kind].add(int(key))
    for kind, ids in wanted.items():
        for id_, ref in LOOKUPS[kind](session, sorted(ids)).items():
            result[(kind, str(id_))] = ref
    return result


def known_entity_types() -> Sequence[str]:
    return sorted([*LOOKUPS, *FIXED])
