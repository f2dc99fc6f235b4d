"""The demo organisation: complete, consistent with the schema and the rubric, loaded once."""

import copy
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import Role, User, user_team
from app.auth.passwords import verify_password
from app.core.errors import ValidationFailed
from app.core.clock import utcnow
from app.core.orm import Base
from app.demo import catalog
from app.demo.loader import (
    DEMO_USERS, MILESTONES, DemoDataError, check_catalog, check_events, generate_events,
    history_start, load_demo,
)
from app.initiatives.models import Initiative, InitiativeLink
from app.maturity.models import MaturityAnswer, MaturityAssessment
from app.maturity.rubric import load_rubric
from app.maturity.scoring import score
from app.ml_models.models import ComputeCost, EventType, LifecycleEvent, MLModel, ModelKind
from app.pain_points.models import PainPoint
from app.teams.models import Persona, Stage, Team, TeamPersona

TODAY = date(2026, 11, 29)
PASSWORD = "demo-password-123"
MIDNIGHT = datetime.combine(TODAY, time.min, UTC)


@pytest.fixture
def demo(db: Session):
    # argon2 hashes four passwords: ~1-2 s, so only the tests that need the data load it.
    return load_demo(db, today=TODAY, password=PASSWORD)


def count(db: Session, entity) -> int:
    return db.scalar(select(func.count()).select_from(entity))


def table_counts(db: Session) -> dict[str, int]:
    return {t.name: count(db, t) for t in Base.metadata.sorted_tables}


def test_demo_covers_every_team_stage_and_persona(db, demo):
    assert demo.loaded
    assert count(db, Team) == 5
    pain_points = db.scalars(select(PainPoint)).all()
    assert 55 <= len(pain_points) <= 65
    stages = set(db.scalars(select(Stage.slug).join(PainPoint, PainPoint.stage_id == Stage.id)))
    personas = set(
        db.scalars(select(Persona.slug).join(PainPoint, PainPoint.persona_id == Persona.id)))
    assert len(stages) == 9 and stages == set(db.scalars(select(Stage.slug)))
    assert len(personas) == 6 and personas == set(db.scalars(select(Persona.slug)))
    assert 35 <= count(db, MLModel) <= 45
    assert demo.counts["pain_points"] == len(pain_points)
    assert demo.counts["lifecycle_events"] == count(db, LifecycleEvent)
    assert count(db, InitiativeLink) == sum(len(i["links"]) for i in catalog.INITIATIVES) > 0


def test_pain_points_default_to_the_team_headcount_and_relative_dates(db, demo):
    spec = next(p for p in catalog.PAIN_POINTS if p["people_affected"] is None
                and p["status"] == "resolved")
    row = db.scalars(select(PainPoint).where(PainPoint.title == spec["title"])).one()
    headcount = db.scalar(
        select(TeamPersona.headcount).join(Team).join(Persona)
        .where(Team.slug == spec["team"], Persona.slug == spec["persona"])
    )
    assert row.people_affected == headcount == catalog.TEAMS[
        [t["slug"] for t in catalog.TEAMS].index(spec["team"])]["headcounts"][spec["persona"]]
    assert row.observed_since == TODAY - timedelta(days=spec["observed_days_ago"])
    assert row.resolved_on == TODAY - timedelta(days=spec["resolved_days_ago"])
    pm = db.scalars(select(User).where(User.email == "pm@northstar.demo")).one()
    assert {p.reporter_id for p in db.scalars(select(PainPoint))} == {pm.id}


def test_lifecycle_events_are_in_the_past_and_in_order(db, demo):
    events = defaultdict(list)
    for model_id, type_, at in db.execute(
        select(LifecycleEvent.model_id, LifecycleEvent.type, LifecycleEvent.occurred_at)
        .order_by(LifecycleEvent.model_id, LifecycleEvent.occurred_at, LifecycleEvent.id)
    ):
        events[model_id].append((type_, at))
    assert len(events) == count(db, MLModel)
    now = utcnow()
    rollbacks = 0
    for history in events.values():
        times = [at for _, at in history]
        assert all(at.tzinfo is not None and at <= now and at < MIDNIGHT for at in times)
        assert times[0] >= datetime.combine(history_start(TODAY), time.min, UTC)
        assert history[0][0] is EventType.ideated
        firsts = {}
        for type_, at in history:
            firsts.setdefault(type_, at)
        reached = [firsts[m] for m in MILESTONES if m in firsts]
        assert reached == sorted(reached)
        for i, (type_, _) in enumerate(history):
            if type_ is EventType.rolled_back:
                rollbacks += 1
                # A rollback is followed by a redeploy of the same model.
                assert EventType.deployed in [t for t, _ in history[i + 1:]]
    assert rollbacks >= 1
    models = {m["name"]: m for m in catalog.MODELS}
    by_name = dict(db.execute(select(MLModel.id, MLModel.name)).all())
    for model_id, history in events.items():
        profile = models[by_name[model_id]]["profile"]
        deployed = [t for t, _ in history if t is EventType.deployed]
        if profile in ("stuck", "new"):
            assert not deployed
        else:
            assert deployed
        if profile == "new":
            assert TODAY - history[0][1].date() <= timedelta(days=60)
    api = db.scalars(select(LifecycleEvent.external_id).where(LifecycleEvent.source == "api")).all()
    assert api and all(e and e.startswith("demo:") for e in api)
    assert db.scalar(select(func.count()).select_from(LifecycleEvent).where(
        LifecycleEvent.source == "manual", LifecycleEvent.external_id.is_not(None))) == 0


def test_compute_costs_only_for_llm_models_over_the_last_six_months(db, demo):
    rows = db.execute(select(ComputeCost, MLModel.kind).join(MLModel)).all()
    assert rows and {kind for _, kind in rows} == {ModelKind.llm}
    assert min(cost.month for cost, _ in rows) >= date(2026, 6, 1)
    assert max(cost.month for cost, _ in rows) == date(2026, 11, 1)
    assert all(cost.amount > 0 and cost.gpu_hours >= 0 for cost, _ in rows)


def test_assessments_store_the_rubric_score_of_their_answers(db, demo):
    rubric = load_rubric()
    answers = defaultdict(dict)
    for assessment_id, capability, answer in db.execute(
        select(MaturityAnswer.assessment_id, MaturityAnswer.capability, MaturityAnswer.answer)
    ):
        answers[assessment_id][capability] = answer.value
    assessments = db.scalars(select(MaturityAssessment)).all()
    assert len(assessments) == len(catalog.ASSESSMENTS)
    for assessment in assessments:
        result = score(rubric.capabilities, answers[assessment.id])
        assert (assessment.level, Decimal(assessment.score)) == (result.level, result.score)
        assert assessment.rubric_version == rubric.version
    assert max(a.level for a in assessments) >= 1


def test_initiatives_have_dates_from_the_catalog(db, demo):
    delivered = db.scalars(select(Initiative).where(Initiative.delivered_on.is_not(None))).all()
    assert delivered
    assert all(i.started_on <= i.delivered_on <= TODAY for i in delivered)


def test_demo_users_exist_for_every_role_and_can_sign_in(db, demo):
    users = {u.email: u for u in db.scalars(select(User))}
    assert {u.role for u in users.values()} == set(Role)
    assert [(login.email, login.password) for login in demo.logins] == [
        (u.email, PASSWORD) for u in DEMO_USERS
    ]
    assert verify_password(PASSWORD, users["pm@northstar.demo"].password_hash)
    pm_teams = db.scalars(
        select(Team.slug).join(user_team, user_team.c.team_id == Team.id)
        .where(user_team.c.user_id == users["pm@northstar.demo"].id)
    ).all()
    assert sorted(pm_teams) == ["fraud-detection", "recommendations"]


def test_loading_twice_adds_nothing(db, demo):
    before = table_counts(db)
    again = load_demo(db, today=TODAY, password=PASSWORD)
    assert not again.loaded and again.counts == {}
    assert table_counts(db) == before
    assert [login.password for login in again.logins] == [PASSWORD] * len(DEMO_USERS)


def test_a_missing_demo_user_is_recreated_without_reloading(db, demo):
    db.delete(db.scalars(select(User).where(User.email == "viewer@northstar.demo")).one())
    db.flush()
    pain_points = count(db, PainPoint)
    again = load_demo(db, today=TODAY, password="another-password")
    assert not again.loaded
    created = {login.email: login for login in again.logins}
    assert created["viewer@northstar.demo"].created
    assert created["viewer@northstar.demo"].password == "another-password"
    # Existing accounts keep their password, and the loader does not claim otherwise.
    assert created["admin@northstar.demo"].password is None
    assert count(db, PainPoint) == pain_points


def test_a_short_password_is_refused_before_anything_is_stored(db):
    with pytest.raises(ValidationFailed) as exc:
        load_demo(db, today=TODAY, password="short")
    assert [e.field for e in exc.value.errors] == ["password"]
    assert count(db, Team) == count(db, User) == 0


# --- the loader's own sanity: no catalog entry may reach a database constraint --------------

PERSONAS = ["data-scientist", "ml-engineer", "data-engineer", "bi-engineer", "platform-engineer",
            "product-manager"]
STAGES = ["data-acquisition", "data-preparation", "experimentation", "evaluation", "packaging",
          "deployment", "serving", "monitoring", "governance"]


def catalog_copy() -> dict:
    return {
        "teams": copy.deepcopy(catalog.TEAMS), "pain_points": copy.deepcopy(catalog.PAIN_POINTS),
        "models": copy.deepcopy(catalog.MODELS), "initiatives": copy.deepcopy(catalog.INITIATIVES),
        "assessments": copy.deepcopy(catalog.ASSESSMENTS),
    }


def problems_of(data: dict) -> list[str]:
    return check_catalog(**data, personas=PERSONAS, stages=STAGES, rubric=load_rubric())


def test_the_catalog_passes_its_own_checks_with_the_seeded_personas_and_stages(db):
    # The lists above must be the migration's seed, or this test checks against the wrong data.
    assert sorted(PERSONAS) == sorted(db.scalars(select(Persona.slug)))
    assert sorted(STAGES) == sorted(db.scalars(select(Stage.slug)))
    assert problems_of(catalog_copy()) == []


def _resolved_without_date(d):
    d["pain_points"][0].update(status="resolved", resolved_days_ago=None)


def _open_with_date(d):
    d["pain_points"][0].update(status="open", resolved_days_ago=3)


def _resolved_before_observed(d):
    d["pain_points"][1].update(observed_days_ago=10, resolved_days_ago=20)


def _hours_out_of_order(d):
    d["pain_points"][0]["hours"] = (Decimal("5"), Decimal("2"), Decimal("8"))


def _recurring_above_a_week(d):
    d["pain_points"][0]["hours"] = (Decimal("100"), Decimal("150"), Decimal("200"))


def _nobody_affected(d):
    # customer-segmentation has no platform engineer: defaulting to its headcount gives 0.
    d["pain_points"][0].update(team="customer-segmentation", persona="platform-engineer",
                               people_affected=None)


def _unknown_stage(d):
    d["pain_points"][0]["stage"] = "astrology"


def _duplicate_model(d):
    d["models"].append(dict(d["models"][0]))


def _link_to_unknown_pain_point(d):
    d["initiatives"][0]["links"].append(("No such pain point", Decimal("10")))


def _delivered_before_started(d):
    d["initiatives"][0].update(started_days_ago=10, delivered_days_ago=20)


def _reduction_above_100(d):
    d["initiatives"][0]["links"][0] = (d["initiatives"][0]["links"][0][0], Decimal("120"))


def _assessment_missing_a_capability(d):
    d["assessments"][0]["answers"].pop("experiment_tracking")


@pytest.mark.parametrize("break_it, expected", [
    (_resolved_without_date, "resolved date"),
    (_open_with_date, "resolved date"),
    (_resolved_before_observed, "resolved before"),
    (_hours_out_of_order, "low <= likely <= high"),
    (_recurring_above_a_week, "more than 168 hours"),
    (_nobody_affected, "affects 0 people"),
    (_unknown_stage, "unknown stage astrology"),
    (_duplicate_model, "unique per team"),
    (_link_to_unknown_pain_point, "unknown pain point"),
    (_delivered_before_started, "delivered before"),
    (_reduction_above_100, "0-100 %"),
    (_assessment_missing_a_capability, "missing ['experiment_tracking']"),
])
def test_catalog_checks_catch_what_the_schema_would_refuse(break_it, expected):
    data = catalog_copy()
    break_it(data)
    problems = problems_of(data)
    assert any(expected in p for p in problems), problems


def test_a_broken_catalog_stores_nothing(db, monkeypatch):
    broken = copy.deepcopy(catalog.PAIN_POINTS)
    broken[0].update(status="resolved", resolved_days_ago=None)
    monkeypatch.setattr(catalog, "PAIN_POINTS", broken)
    with pytest.raises(DemoDataError, match="resolved date"):
        load_demo(db, today=TODAY, password=PASSWORD)
    assert count(db, Team) == count(db, User) == 0


def test_event_generation_is_deterministic_and_checked():
    first = generate_events("forecasting", "promo-lift-forecast", "flaky", today=TODAY)
    assert first == generate_events("forecasting", "promo-lift-forecast", "flaky", today=TODAY)
    assert EventType.rolled_back in {e.type for e in first}
    assert check_events("promo-lift-forecast", first, today=TODAY) == []
    # The checks do catch a future or disordered history.
    shifted = [e.__class__(e.type, e.occurred_at + timedelta(days=400), e.version) for e in first]
    assert any("future" in p for p in check_events("x", shifted, today=TODAY))
    assert any("order" in p for p in check_events("x", first[::-1], today=TODAY))
