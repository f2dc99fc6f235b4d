"""Initiative writes refuse PRODUCT.md's bad input and store nothing."""

from datetime import date
from decimal import Decimal as D

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from app.auth.permissions import Principal
from app.core.errors import ValidationFailed
from app.initiatives.models import Initiative
from app.initiatives.schemas import InitiativeIn, InitiativePatch
from app.initiatives.service import create_initiative, update_initiative
from tests import factories

TODAY = date(2026, 11, 29)


def setup(db):
    team, other = factories.make_team(db), factories.make_team(db)
    user = factories.make_user(db, role="pm", teams=[team])
    pm = Principal(user_id=user.id, email=user.email, role=user.role, team_ids=frozenset({team.id}))
    pps = [factories.make_pain_point(db, t, title="t", hours_low=D(1), hours_likely=D(1),
                                     hours_high=D(1), people_affected=1,
                                     observed_since=date(2026, 1, 1))
           for t in (team, team, other)]
    return team, pm, pps


def count(db) -> int:
    return db.scalar(select(func.count()).select_from(Initiative))


def test_create_and_relink(db):
    team, pm, (a, b, _) = setup(db)
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
    team, pm, (a, _, foreign) = setup(db)
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
    assert count(db) == 0


def test_a_pm_keeps_other_teams_links_of_an_org_wide_initiative_but_cannot_change_them(db):
    team, pm, (a, _, foreign) = setup(db)
    admin_user = factories.make_user(db, role="admin")
    admin = Principal(user_id=admin_user.id, email=admin_user.email, role=admin_user.role)
    initiative = create_initiative(db, InitiativeIn(title="Org-wide SDK", links=[
        {"pain_point": a.id, "expected_reduction": D(50)},
        {"pain_point": foreign.id, "expected_reduction": D(30)}]), actor=admin, today=TODAY)
    same_links = [{"pain_point": a.id, "expected_reduction": D(60)},
                  {"pain_point": foreign.id, "expected_reduction": D(30)}]
    update_initiative(db, initiative, InitiativePatch(title="Org-wide Python SDK",
                                                      links=same_links), actor=pm, today=TODAY)
    assert initiative.title == "Org-wide Python SDK"
    with pytest.raises(ValidationFailed) as exc:
        update_initiative(db, initiative, InitiativePatch(links=[
            {"pain_point": a.id, "expected_reduction": D(60)},
            {"pain_point": foreign.id, "expected_reduction": D(90)}]), actor=pm, today=TODAY)
    assert exc.value.errors[0].field == "links.1.pain_point"
