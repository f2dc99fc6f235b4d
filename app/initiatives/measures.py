"""The per-link expressions of an initiative's savings (docs/product.md), shared by the live
queries (queries.py) and the rows kept in step (savings.py)."""

from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case

from app.core.sql import SQL
from app.initiatives.models import Initiative, InitiativeLink
from app.pain_points.measures import run_rate
from app.pain_points.models import PainPoint, PainPointKind, PainPointStatus


def reduction() -> object:
    return InitiativeLink.expected_reduction / SQL.num(100)


def recurring():
    return and_(PainPoint.kind == PainPointKind.recurring, PainPoint.deleted_at.is_(None))


def saving(which: str, weeks: Decimal, share: Any = None):
    """A link's expected yearly saving (docs/product.md): its pain point's run-rate as if open ×
    the reduction (`share`: another one, as a scenario's); one-time and deleted pain points save
    nothing a year."""
    share = reduction() if share is None else share
    return case((recurring(), run_rate(which, weeks) * share), else_=SQL.num(0))


def realizes():
    """A link realizes savings: its pain point was resolved on or after the delivery."""
    return and_(recurring(), Initiative.delivered_on.is_not(None),
                PainPoint.status == PainPointStatus.resolved,
                PainPoint.resolved_on >= Initiative.delivered_on)
