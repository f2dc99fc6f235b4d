"""Saving maturity assessments: validated against the rubric, scored by scoring.py."""

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.auth.permissions import Principal
from app.core.errors import FieldError, PermissionDenied, ValidationFailed
from app.maturity import queries
from app.maturity.models import Answer, MaturityAnswer, MaturityAssessment
from app.maturity.rubric import load_rubric
from app.maturity.schemas import AnswerDetail, AssessmentIn
from app.maturity.scoring import score
from app.teams.models import Team

EARLIEST = date(2000, 1, 1)


def may_assess(actor: Principal, team: Team) -> bool:
    """Whether `actor` may assess `team` now (the pages offer the form by it)."""
    return actor.can_edit_team(team.id) and not team.is_archived


def editable_team_ids(actor: Principal, team_ids: Iterable[int]) -> frozenset[int]:
    """Of `team_ids`, those whose assessments `actor` may change."""
    return frozenset(t for t in team_ids if actor.can_edit_team(t))


def _check_can_assess(actor: Principal, team: Team) -> None:
    if not actor.can_edit_team(team.id):
        raise PermissionDenied(f"Only a PM of {team.name} or an admin may assess it.")


def get_assessable_team_or_403(session: Session, slug: str, *, actor: Principal) -> Team:
    """A team `actor` may read and assess: 404 when it may not read it, else 403."""
    team = queries.get_visible_team_or_404(session, slug, principal=actor)
    _check_can_assess(actor, team)
    return team


def create_assessment(session: Session, data: AssessmentIn, *, actor: Principal,
                      today: date) -> MaturityAssessment:
    """Stores an assessment with its computed level and score; a PM of the team or an admin."""
    rubric = load_rubric()
    team = session.scalar(select(Team).where(Team.slug == data.team))
    if team is None:
        raise ValidationFailed([FieldError("team", f"unknown team '{data.team}'")])
    if team.is_archived:
        raise ValidationFailed([FieldError("team", f"team '{team.slug}' is archived")])
    _check_can_assess(actor, team)
    errors: list[FieldError] = []
    assessed_on = data.assessed_on or today
    if assessed_on > today:
        errors.append(FieldError("assessed_on", "cannot be in the future"))
    elif assessed_on < EARLIEST:
        errors.append(FieldError("assessed_on", f"cannot be before {EARLIEST.isoformat()}"))
    keys = rubric.keys()
    for key in sorted(set(data.answers) - set(keys)):
        errors.append(FieldError(f"answers.{key}", "not a capability of the rubric"))
    for key in keys:
        if key not in data.answers:
            title = next(c.title for c in rubric.capabilities if c.key == key)
            errors.append(FieldError(f"answers.{key}", f"answer “{title}”: no, partial or yes"))
    if errors:
        raise ValidationFailed(errors)
    details = {k: v if isinstance(v, AnswerDetail) else AnswerDetail(answer=v)
               for k, v in data.answers.items()}
    result = score(rubric.capabilities, {k: d.answer.value for k, d in details.items()})
    assessment = MaturityAssessment(
        team_id=team.id, assessed_on=assessed_on, rubric_version=rubric.version,
        level=result.level, score=result.score, assessor_id=actor.user_id,
        answers=[MaturityAnswer(capability=k, answer=Answer(d.answer), note=d.note,
                                evidence=d.evidence) for k, d in details.items()],
    )
    session.add(assessment)
    session.flush()
    record(session, actor=actor.actor_label, actor_id=actor.user_id, action="create",
           entity="maturity_assessment", entity_id=assessment.id,
           after={"team": team.slug, "assessed_on": assessed_on.isoformat(),
                  "level": result.level, "score": str(result.score),
                  "answers": {k: d.answer.value for k, d in details.items()}})
    return assessment
