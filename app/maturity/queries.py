"""Reads of maturity assessments: each team's latest, history by quarter, answers grid."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from app.maturity.models import MaturityAnswer, MaturityAssessment
from app.teams.models import Team


@dataclass
class Latest:
    team_id: int
    team_slug: str
    team_name: str
    assessment_id: int | None
    assessed_on: date | None
    level: int | None
    score: Decimal | None


def latest_per_team(session: Session, *, team_ids: frozenset[int] | None = None,
                    as_of: date | None = None) -> list[Latest]:
    """Every active team with its latest assessment on or before `as_of` (None if never)."""
    newest = select(MaturityAssessment.team_id,
                    func.max(MaturityAssessment.assessed_on).label("on"))
    if as_of is not None:
        newest = newest.where(MaturityAssessment.assessed_on <= as_of)
    newest = newest.group_by(MaturityAssessment.team_id).subquery()
    # Two assessments on the same day: the later one (highest id) counts.
    last_id = (select(func.max(MaturityAssessment.id))
               .where(MaturityAssessment.team_id == newest.c.team_id,
                      MaturityAssessment.assessed_on == newest.c.on)
               .scalar_subquery())
    a = aliased(MaturityAssessment)
    query = (select(Team.id, Team.slug, Team.name, a.id, a.assessed_on, a.level, a.score)
             .outerjoin(newest, newest.c.team_id == Team.id)
             .outerjoin(a, and_(a.team_id == Team.id, a.id == last_id))
             .where(Team.is_archived.is_(False)).order_by(Team.name))
    if team_ids is not None:
        query = query.where(Team.id.in_(team_ids))
    return [Latest(*row) for row in session.execute(query)]


def answers_of(session: Session, assessment_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    rows = session.execute(select(MaturityAnswer.assessment_id, MaturityAnswer.capability,
                                  MaturityAnswer.answer)
                           .where(MaturityAnswer.assessment_id.in_(assessment_ids))).all()
    result: dict[int, dict[str, str]] = {i: {} for i in assessment_ids}
    for assessment_id, capability, answer in rows:
        result[assessment_id][capability] = answer.value
    return result


def history(session: Session, *, team_ids: frozenset[int] | None = None,
            since: date | None = None) -> list[tuple[int, date, int, Decimal]]:
    """(team id, assessed_on, level, score) of every assessment, oldest first."""
    query = select(MaturityAssessment.team_id, MaturityAssessment.assessed_on,
                   MaturityAssessment.level, MaturityAssessment.score)
    if team_ids is not None:
        query = query.where(MaturityAssessment.team_id.in_(team_ids))
    if since is not None:
        query = query.where(MaturityAssessment.assessed_on >= since)
    return [tuple(r) for r in session.execute(
        query.order_by(MaturityAssessment.assessed_on, MaturityAssessment.id))]
