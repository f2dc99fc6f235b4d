"""Initiative writes refuse docs/product.md's bad input and store nothing."""

from datetime import date
from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from app.auth.permissions import Principal
from app.core.errors import PermissionDenied, ValidationFailed
from app.initiatives.models import Initiative
from app.initiatives.schemas import InitiativeIn, InitiativePatch
from app.initiatives.service import create_initiative, delete_initiative, update_initiative
from tests import factories
from tests.helpers import count

TODAY = date(2026, 11, 29)


def team_pm_and_pain_points(db):
    team, other = factories.make_team(db), factories.make_team(db)
    user = factories.make_user(db, role="pm", teams=[team])
    pm = Principal(user_id=user.id, email=user.email, role=user.role, team_ids=frozenset({team.id}))
    pps = [factories.make_pain_point(db, t, title="t", hours_low=D(1), hours_likely=D(1),
                                     hours_high=D(1), people_affected=1,
                                     observed_since=date(2026, 1, 1))
           for t in (team, team, other)]
    return team, pm, pps


def test_create_and_relink(db):
    team, pm, (a, b, _) = team_pm_and_pain_points(db)
    initiative = create_initiative(db, InitiativeIn(
        title="Self-service retraining", team=team.slug, one_time_cost=D("50000"),
        links=[{"pain_point": a.id, "expected_reduction": D(60)}]), actor=pm, today=TODAY)
    update_initiative(db, initiative, InitiativePatch(links=[
        {"pain_point": a.id, "expected_reduction": D(80)},
        {"pain_point": b.id, "expected_reduction": D(0)}]), actor=pm, today=TODAY)
    assert sorted((l.pain_point_id, l.expected_reduction) for l in initiative.links) == [
        (a.id, D(80)), (b.id, D(0))]


@pytest.mark.parametrize("body", [
    {"links": [{"pain_point": 1, "expected_reduction": D(101)}]},
    {"links": [{"pain_point": 1, "expected_reduction": D(-1)}]},
    {"one_time_cost": D(-5)},
    {"yearly_run_cost": D(-5)},
])
def test_schema_refuses_out_of_range_values(body):
    with pytest.raises(ValidationError):
        InitiativeIn(title="x", **body)


@pytest.mark.parametrize("case,field", [
    ("delivery_before_start", "delivered_on"),
    ("linked_twice", "links.1.pain_point"),
    ("other_team", "links.0.pain_point"),
    ("delivered_without_date", "delivered_on"),
])
def test_bad_initiatives_store_nothing(db, case, field):
    team, pm, (a, _, foreign) = team_pm_and_pain_points(db)
    body = {"title": "x", "team": team.slug}
    if case == "delivery_before_start":
        body |= {"started_on": date(2026, 5, 1), "delivered_on": date(2026, 4, 1)}
    elif case == "linked_twice":
        body |= {"links": [{"pain_point": a.id, "expected_reduction": 10},
                           {"pain_point": a.id, "expected_reduction": 20}]}
    elif case == "other_team":
        body |= {"links": [{"pain_point": foreign.id, "expected_reduction": 10}]}
    else:
        body |= {"status": "delivered"}
    with pytest.raises(ValidationFailed) as exc:
        create_initiative(db, InitiativeIn(**body), actor=pm, today=TODAY)
    assert field in [e.field for e in exc.value.errors]
    assert count(db, Initiative) == 0


def test_an_org_wide_initiative_reaching_another_team_is_beyond_a_pm_of_one_team(db):
    """Changing, unlinking or deleting needs edit rights on every team reached (issue 14)."""
    team, pm, (a, _, foreign) = team_pm_and_pain_points(db)
    admin_user = factories.make_user(db, role="admin")
    admin = Principal(user_id=admin_user.id, email=admin_user.email, role=admin_user.role)
    initiative = create_initiative(db, InitiativeIn(title="Org-wide SDK", links=[
        {"pain_point": a.id, "expected_reduction": D(50)},
        {"pain_point": foreign.id, "expected_reduction": D(30)}]), actor=admin, today=TODAY)
    for patch in (InitiativePatch(title="Renamed"),
                  InitiativePatch(links=[{"pain_point": a.id, "expected_reduction": D(60)}])):
        with pytest.raises(PermissionDenied):
            update_initiative(db, initiative, patch, actor=pm, today=TODAY)
    with pytest.raises(PermissionDenied):
        delete_initiative(db, initiative, actor=pm)
    assert initiative.title == "Org-wide SDK" and len(initiative.links) == 2
    assert initiative.deleted_at is None
    # A PM of both teams may; so may an admin, but not through a token bound to one team.
    both = Principal(user_id=pm.user_id, email=pm.email, role=pm.role,
                     team_ids=frozenset({team.id, foreign.team_id}))
    update_initiative(db, initiative, InitiativePatch(title="Org-wide Python SDK"), actor=both,
                      today=TODAY)
    bound = Principal(user_id=admin.user_id, email=admin.email, role=admin.role,
                      via_token=True, token_id=1, token_team_id=team.id)
    with pytest.raises(PermissionDenied):
        delete_initiative(db, initiative, actor=bound)
    delete_initiative(db, initiative, actor=admin)
    assert initiative.deleted_at is not None
