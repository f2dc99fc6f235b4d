"""Reads the report needs beyond the shared ones: the pain points opened and resolved in a
period, with their costs computed by the same expressions as the ledger."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.pain_points.models import PainPoint, PainPointStatus
from app.pain_points.measures import (
    PainPointFilters, annual_cost, hourly_cost, hours_of, to_decimal, with_costs,
)
from app.pain_points.queries import LedgerRow, _apply
from app.teams.models import Persona, Stage, Team


@dataclass
class Listing:
    rows: list[LedgerRow]
    total: int  # all that match; `rows` holds at most the limit


def _listing(session: Session, filters: PainPointFilters, condition, *, weeks: Decimal,
             limit: int) -> Listing:
    expected = annual_cost("expected", weeks)
    total = session.scalar(select(func.count()).select_from(
        _apply(select(PainPoint.id), filters).where(condition).subquery())) or 0
    query = _apply(with_costs(select(
        PainPoint, Team.name, Team.slug, Persona.name, Stage.name, hourly_cost(), expected,
        annual_cost("low", weeks), annual_cost("high", weeks), hours_of("expected"),
    ).join(Team, Team.id == PainPoint.team_id).join(Stage, Stage.id == PainPoint.stage_id)),
        filters).where(condition).order_by(expected.desc(), PainPoint.id.desc()).limit(limit)
    rows = [LedgerRow(pp, team, slug, persona, stage, to_decimal(rate), to_decimal(exp),
                      to_decimal(low), to_decimal(high), to_decimal(hours))
            for pp, team, slug, persona, stage, rate, exp, low, high, hours
            in session.execute(query)]
    return Listing(rows, total)


def opened_in(session: Session, filters: PainPointFilters, first: date, last: date, *,
              weeks: Decimal, limit: int) -> Listing:
    """Pain points first observed in [first, last] (not deleted), costliest first: the
    ledger's annual cost (run-rate of a recurring one, the cost of a one-time one)."""
    return _listing(session, filters, PainPoint.observed_since.between(first, last),
                    weeks=weeks, limit=limit)


def resolved_in(session: Session, filters: PainPointFilters, first: date, last: date, *,
                weeks: Decimal, limit: int) -> Listing:
    """Pain points resolved in [first, last] (not deleted), costliest first, with the annual
    cost they had while open."""
    condition = ((PainPoint.status == PainPointStatus.resolved)
                 & PainPoint.resolved_on.between(first, last))
    return _listing(session, filters, condition, weeks=weeks, limit=limit)
