"""Savings of initiatives, computed by the database from the pain points' run-rates."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from app.core.sql import SQL, day_number
from app.initiatives.models import Initiative, InitiativeLink
from app.pain_points import cost
from app.pain_points.models import PainPoint, PainPointKind, PainPointStatus
from app.pain_points.queries import _sum, _with_costs, run_rate, to_decimal


@dataclass
class Savings:
    initiative_id: int
    expected: Decimal
    expected_low: Decimal
    expected_high: Decimal
    realized: Decimal
    linked: int


def _reduction() -> object:
    return InitiativeLink.expected_reduction / SQL.num(100)


def savings(session: Session, initiative_ids: list[int] | None, *, weeks: Decimal,
            first: date, last: date, team_ids: frozenset[int] | None = None,
            ) -> dict[int, Savings]:
    """Expected annual savings (low/expected/high) and realized savings in [first, last] of
    each initiative, in one aggregate statement.

    Expected: Σ linked pain points' run-rate computed as if open × expected reduction.
    Realized: for linked pain points resolved on or after the initiative's delivery, the same
    product pro-rated over [resolved_on, ∞) exactly like cost in a period; nothing for a pain
    point resolved before delivery. One-time and deleted pain points save nothing a year.
    `team_ids` keeps only the links to those teams' pain points (the team filter).
    """
    recurring = and_(PainPoint.kind == PainPointKind.recurring, PainPoint.deleted_at.is_(None))
    realized_share = cost.period_share(day_number(PainPoint.resolved_on), cost.OPEN_ENDED,
                                       cost.year_slices(first, last), SQL)
    realizes = and_(recurring, Initiative.delivered_on.is_not(None),
                    PainPoint.status == PainPointStatus.resolved,
                    PainPoint.resolved_on >= Initiative.delivered_on)

    def expected(which: str):
        return _sum(case((recurring, run_rate(which, weeks) * _reduction()), else_=SQL.num(0)))

    query = _with_costs(
        select(Initiative.id, expected("expected"), expected("low"), expected("high"),
               _sum(case((realizes, run_rate("expected", weeks) * _reduction() * realized_share),
                         else_=SQL.num(0))),
               func.count(PainPoint.id))
        .select_from(Initiative)
        .join(InitiativeLink, InitiativeLink.initiative_id == Initiative.id)
        .join(PainPoint, PainPoint.id == InitiativeLink.pain_point_id)
    ).group_by(Initiative.id)
    query = query.where(Initiative.deleted_at.is_(None))
    if initiative_ids is not None:
        query = query.where(Initiative.id.in_(initiative_ids))
    if team_ids is not None:
        query = query.where(PainPoint.team_id.in_(team_ids))
    result = {
        i: Savings(i, to_decimal(e), to_decimal(lo), to_decimal(hi), to_decimal(r), n)
        for i, e, lo, hi, r, n in session.execute(query)
    }
    for i in initiative_ids or []:
        result.setdefault(i, Savings(i, *(Decimal(0),) * 4, 0))
    return result
