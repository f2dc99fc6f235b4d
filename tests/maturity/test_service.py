"""Saving assessments and reading each team's latest, on both backends."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.auth.permissions import Principal
from app.core.errors import PermissionDenied, ValidationFailed
from app.maturity.models import MaturityAssessment
from app.maturity.queries import answers_of, latest_per_team
from app.maturity.rubric import load_rubric
from app.maturity.schemas import AssessmentIn
from app.maturity.service import create_assessment
from tests import factories

TODAY = date(2026, 11, 29)
KEYS = load_rubric().keys()


def pm_of(db, team) -> Principal:
    user = factories.make_user(db, role="pm", teams=[team])
    return Principal(user_id=user.id, email=user.email, role=user.role,
                     team_ids=frozenset({team.id}))


def all_answers(value: str) -> dict[str, str]:
    return {k: value for k in KEYS}


def test_assessment_is_scored_and_latest_wins(db):
    team = factories.make_team(db)
    pm = pm_of(db, team)
    create_assessment(db, AssessmentIn(team=team.slug, assessed_on=date(2026, 1, 10),
                                       answers=all_answers("no")), actor=pm, today=TODAY)
    second = create_assessment(db, AssessmentIn(team=team.slug, answers=all_answers("partial")),
                               actor=pm, today=TODAY)
    # partial everywhere is at least ½ everywhere: the top level
    assert (second.level, second.score, second.assessed_on) == (2, Decimal("2.00"), TODAY)
    [latest] = latest_per_team(db, team_ids=frozenset({team.id}))
    assert (latest.assessment_id, latest.level) == (second.id, 2)
    [earlier] = latest_per_team(db, team_ids=frozenset({team.id}), as_of=date(2026, 6, 30))
    assert earlier.level == 0 and earlier.assessed_on == date(2026, 1, 10)
    assert answers_of(db, [second.id])[second.id] == all_answers("partial")


@pytest.mark.parametrize("change,field", [
    (lambda a: a.pop(KEYS[0]), f"answers.{KEYS[0]}"),
    (lambda a: a.update({"telepathy": "yes"}), "answers.telepathy"),
])
def test_missing_or_unknown_capability_is_refused(db, change, field):
    team = factories.make_team(db)
    answers = all_answers("yes")
    change(answers)
    with pytest.raises(ValidationFailed) as exc:
        create_assessment(db, AssessmentIn(team=team.slug, answers=answers), actor=pm_of(db, team),
                          today=TODAY)
    assert field in [e.field for e in exc.value.errors]
    assert db.scalar(select(func.count()).select_from(MaturityAssessment)) == 0


def test_future_date_and_bad_answer_are_refused(db):
    team = factories.make_team(db)
    with pytest.raises(ValidationFailed) as exc:
        create_assessment(db, AssessmentIn(team=team.slug, assessed_on=date(2026, 12, 1),
                                           answers=all_answers("yes")),
                          actor=pm_of(db, team), today=TODAY)
    assert exc.value.errors[0].field == "assessed_on"
    with pytest.raises(ValueError):
        AssessmentIn(team=team.slug, answers=all_answers("maybe"))


def test_pm_of_another_team_may_not_assess(db):
    team, other = factories.make_team(db), factories.make_team(db)
    with pytest.raises(PermissionDenied):
        create_assessment(db, AssessmentIn(team=team.slug, answers=all_answers("yes")),
                          actor=pm_of(db, other), today=TODAY)
    assert db.scalar(select(func.count()).select_from(MaturityAssessment)) == 0
