"""Reads of maturity assessments: each team's latest, history by quarter, answers grid."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, and_, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from app.maturity.models import Answer, MaturityAnswer, MaturityAssessment
from app.maturity.rubric import load_rubric
from app.maturity.scoring import Capability, score
from app.pain_points.models import PainPointStatus
from app.pain_points.measures import CostFigures, GroupBy, PainPointFilters
from app.pain_points.queries import cost_figures
from app.teams.models import Stage, Team
from app.velocity.queries import Distribution, VelocityFilters, lead_time


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


# --- reads for the maturity pages and the API (appended) ----------------------------------

@dataclass
class Assessed:
    """A team's latest assessment (or none) with its answers over the current rubric and the
    capabilities that block its next level."""

    latest: Latest
    answers: dict[str, str]
    gaps: tuple[str, ...]


def complete_answers(answers: dict[str, str]) -> dict[str, str]:
    """The answers over the current rubric: a capability added after the assessment counts as
    "no" (nobody said otherwise), one since removed is left out."""
    return {key: answers.get(key, "no") for key in load_rubric().keys()}


def latest_with_gaps(session: Session, *, team_ids: frozenset[int] | None = None,
                     as_of: date | None = None) -> list[Assessed]:
    """`latest_per_team` with each assessment's answers and gaps, in two statements."""
    rubric = load_rubric()
    rows = latest_per_team(session, team_ids=team_ids, as_of=as_of)
    ids = [r.assessment_id for r in rows if r.assessment_id is not None]
    answers = answers_of(session, ids) if ids else {}
    result = []
    for row in rows:
        if row.assessment_id is None:
            result.append(Assessed(row, {}, ()))
            continue
        complete = complete_answers(answers[row.assessment_id])
        result.append(Assessed(row, complete, score(rubric.capabilities, complete).gaps))
    return result


def latest_assessment(session: Session, team_id: int) -> MaturityAssessment | None:
    """The team's newest assessment (the later one of two on the same day), archived or not."""
    return session.scalar(select(MaturityAssessment)
                          .where(MaturityAssessment.team_id == team_id)
                          .order_by(MaturityAssessment.assessed_on.desc(),
                                    MaturityAssessment.id.desc()).limit(1))


@dataclass
class AnswerRow:
    answer: str
    note: str
    evidence: str


def answer_details(session: Session, assessment_id: int) -> dict[str, AnswerRow]:
    """Answer, note and evidence per capability of one assessment."""
    rows = session.execute(select(MaturityAnswer.capability, MaturityAnswer.answer,
                                  MaturityAnswer.note, MaturityAnswer.evidence)
                           .where(MaturityAnswer.assessment_id == assessment_id))
    return {key: AnswerRow(Answer(answer).value, note or "", evidence or "")
            for key, answer, note, evidence in rows}


def scores_by_quarter(session: Session, *, quarter_ends: Sequence[date],
                      team_ids: frozenset[int] | None = None) -> dict[int, list[Decimal | None]]:
    """Per team, its score at each of `quarter_ends`: that of its latest assessment on or before
    the day (None before its first), in one statement."""
    if not quarter_ends:
        return {}
    ends = union_all(*[select(literal(i).label("i"), literal(day, Date()).label("last_day"))
                       for i, day in enumerate(quarter_ends)]).subquery("ends")
    a = MaturityAssessment
    rank = func.row_number().over(partition_by=(ends.c.i, a.team_id),
                                  order_by=(a.assessed_on.desc(), a.id.desc()))
    ranked = (select(ends.c.i.label("i"), a.team_id.label("team_id"), a.score.label("score"),
                     rank.label("rank"))
              .select_from(ends).join(a, a.assessed_on <= ends.c.last_day))
    if team_ids is not None:
        ranked = ranked.where(a.team_id.in_(team_ids))
    ranked = ranked.subquery("ranked")
    result: dict[int, list[Decimal | None]] = {}
    for i, team_id, value in session.execute(
            select(ranked.c.i, ranked.c.team_id, ranked.c.score).where(ranked.c.rank == 1)):
        row = result.setdefault(team_id, [None] * len(quarter_ends))
        row[int(i)] = value if value is None or isinstance(value, Decimal) else Decimal(str(value))
    return result


def list_assessments(session: Session, *, team_ids: frozenset[int] | None = None,
                     first: date | None = None, last: date | None = None, offset: int = 0,
                     limit: int | None = None) -> tuple[list[tuple[MaturityAssessment, str]], int]:
    """One page of assessments (newest first) with their team's slug, and the total count."""
    query = select(MaturityAssessment, Team.slug).join(Team, Team.id == MaturityAssessment.team_id)
    if team_ids is not None:
        query = query.where(MaturityAssessment.team_id.in_(team_ids))
    if first is not None:
        query = query.where(MaturityAssessment.assessed_on >= first)
    if last is not None:
        query = query.where(MaturityAssessment.assessed_on <= last)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(MaturityAssessment.assessed_on.desc(),
                                          MaturityAssessment.id.desc())
                           .offset(offset).limit(limit)).all()
    return [(assessment, slug) for assessment, slug in rows], total


@dataclass
class GapStage:
    stage_slug: str
    stage_name: str
    capabilities: list[Capability]  # the gaps at this stage
    figures: CostFigures


@dataclass
class GapCosts:
    stages: list[GapStage]  # in lifecycle order
    total: CostFigures


UNRESOLVED = (PainPointStatus.open, PainPointStatus.in_progress)


def gap_costs(session: Session, *, team_id: int, gaps: Sequence[str], day: date,
              weeks: Decimal) -> GapCosts:
    """What closing the gaps is worth: the team's open (or in-progress) pain points at the
    lifecycle stages of the gap capabilities, with their annual run-rate as of `day`."""
    by_key = {c.key: c for c in load_rubric().capabilities}
    wanted: dict[str, list[Capability]] = {}
    for key in gaps:
        cap = by_key[key]
        if cap.stage:
            wanted.setdefault(cap.stage, []).append(cap)
    filters = PainPointFilters(team_ids=frozenset({team_id}), statuses=UNRESOLVED)
    found = {row.key: row for row in cost_figures(session, filters, first=day, last=day,
                                                  weeks=weeks, group_by=GroupBy.stage)}
    names = dict(session.execute(select(Stage.slug, Stage.name).order_by(Stage.position)).all())
    stages = [GapStage(slug, name, wanted[slug], found.get(slug, CostFigures(slug, name)))
              for slug, name in names.items() if slug in wanted]
    # A handful of stage rows: their sum is exact in Decimal.
    total = CostFigures(None, None)
    for stage in stages:
        for name in ("annual_run_rate", "annual_run_rate_low", "annual_run_rate_high",
                     "hours_per_week"):
            setattr(total, name, getattr(total, name) + getattr(stage.figures, name))
        total.pain_points += stage.figures.pain_points
    return GapCosts(stages, total)


@dataclass
class LevelLeadTime:
    level: int | None  # None: teams never assessed
    teams: int
    lead_time: Distribution


def lead_time_by_level(session: Session, *, team_ids: frozenset[int] | None, first: date,
                       last: date) -> list[LevelLeadTime]:
    """Ideation-to-production lead time of the models first deployed in [first, last], grouped
    by their team's *current* maturity level: one statement per level, not per model."""
    levels: dict[int | None, set[int]] = {}
    for row in latest_per_team(session, team_ids=team_ids):
        levels.setdefault(row.level, set()).add(row.team_id)
    order = sorted(load_rubric().levels) + [None]
    return [LevelLeadTime(level, len(levels[level]),
                          lead_time(session, VelocityFilters(team_ids=frozenset(levels[level])),
                                    first, last))
            for level in order if level in levels]


def get_assessment(session: Session,
                   assessment_id: int) -> tuple[MaturityAssessment, str] | None:
    """An assessment with its team's slug."""
    row = session.execute(select(MaturityAssessment, Team.slug)
                          .join(Team, Team.id == MaturityAssessment.team_id)
                          .where(MaturityAssessment.id == assessment_id)).one_or_none()
    return (row[0], row[1]) if row else None
