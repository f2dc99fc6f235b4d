"""Writes audit entries; every service that changes data calls `record`."""

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from app.audit.models import AuditEntry


def snapshot(obj: Any, fields: list[str]) -> dict[str, Any]:
    """JSON-safe copy of the named attributes of a model, for before/after."""
    return {name: _jsonable(getattr(obj, name)) for name in fields}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        # "1", "1.0" and "1.00" are one value: what a form sends and what the column stores.
        return format(value.normalize(), "f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple, set, frozenset)):
        return sorted(_jsonable(v) for v in value)
    return value


def record(
    session: Session,
    *,
    actor: str,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            actor=actor, actor_id=actor_id, action=action, entity_type=entity,
            entity_id=str(entity_id), before=before, after=after,
        )
    )
