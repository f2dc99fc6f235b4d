"""model_milestone and deployment_month (app/velocity/milestones.py) always equal the aggregate of the events it is
derived from: after adding, changing, moving and deleting events, in the same transaction."""

from datetime import UTC, date, datetime

from sqlalchemy import select

from app.ml_models.models import LifecycleEvent, MLModel
from app.velocity import milestones
from app.velocity.models import DeploymentMonth, ModelMilestone
from app.velocity.queries import VelocityFilters, deployments_by_month, lead_time
from tests import factories


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def stored(db) -> dict[int, tuple]:
    rows = db.execute(select(ModelMilestone)).scalars().all()
    return {r.model_id: (r.ideated, r.data_ready, r.experiment_started, r.validated,
                         r.registered, r.deployed, r.earliest) for r in rows}


def derived(db) -> dict[int, tuple]:
    def utc(value):
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value
    return {row[0]: tuple(utc(v) for v in row[1:])
            for row in db.execute(milestones.milestone_rows()).all()}


def test_the_rows_follow_every_write_to_the_events(db):
    team = factories.make_team(db)
    a, b = MLModel(team_id=team.id, name="churn"), MLModel(team_id=team.id, name="ranker")
    db.add_all([a, b])
    db.flush()
    ideated = LifecycleEvent(model_id=a.id, type="ideated", occurred_at=at("2026-01-05"))
    deployed = LifecycleEvent(model_id=a.id, type="deployed", occurred_at=at("2026-02-15"))
    db.add_all([ideated, deployed,
                LifecycleEvent(model_id=b.id, type="experiment_started",
                               occurred_at=at("2026-01-01"))])
    db.commit()
    assert stored(db) == derived(db)
    assert stored(db)[a.id][5] == at("2026-02-15")
    q1 = (date(2026, 1, 1), date(2026, 3, 31))
    assert lead_time(db, VelocityFilters(model_id=a.id), *q1).median == 41

    deployed.occurred_at = at("2026-03-17")  # changed: read in the same transaction
    assert lead_time(db, VelocityFilters(model_id=a.id), *q1).median == 71
    deployed.model_id = b.id  # moved to another model: both rows change
    db.commit()
    assert stored(db) == derived(db)
    assert stored(db)[a.id][5] is None and stored(db)[b.id][5] == at("2026-03-17")
    db.delete(ideated)  # a model without events has no row
    db.commit()
    assert a.id not in stored(db) and stored(db) == derived(db)


def test_a_rolled_back_event_leaves_the_rows_as_they_were(db):
    team = factories.make_team(db)
    m = MLModel(team_id=team.id, name="forecast")
    db.add(m)
    db.flush()
    db.add(LifecycleEvent(model_id=m.id, type="ideated", occurred_at=at("2026-01-05")))
    db.commit()
    before = stored(db)
    db.add(LifecycleEvent(model_id=m.id, type="ideated", occurred_at=at("2025-12-01")))
    db.flush()
    assert lead_time(db, VelocityFilters(model_id=m.id), date(2026, 1, 1),
                     date(2026, 3, 31)).count == 0  # reads (and refreshes) inside
    db.rollback()
    assert stored(db) == before == derived(db)


def test_a_rebuild_after_a_bulk_load_equals_the_events(db):
    """Writes that bypass the ORM (the benchmark's COPY, a restore) call rebuild."""
    team = factories.make_team(db)
    m = MLModel(team_id=team.id, name="bulk")
    db.add(m)
    db.flush()
    db.execute(LifecycleEvent.__table__.insert(), [
        {"model_id": m.id, "type": "registered", "occurred_at": at("2026-04-01"),
         "source": "api", "created_at": at("2026-04-01")},
        {"model_id": m.id, "type": "deployed", "occurred_at": at("2026-04-03"),
         "source": "api", "created_at": at("2026-04-03")}])
    assert m.id not in stored(db)  # Core insert: not seen by the session's listeners
    milestones.rebuild(db.connection())
    assert stored(db) == derived(db) and stored(db)[m.id][4] == at("2026-04-01")


def months_stored(db) -> dict[tuple[int, int], tuple[int, int]]:
    rows = db.execute(select(DeploymentMonth)).scalars().all()
    return {(r.team_id, r.month): (r.deployments, r.rollbacks) for r in rows}


def months_derived(db) -> dict[tuple[int, int], tuple[int, int]]:
    return {(t, m): (d, r) for t, m, d, r in db.execute(milestones.month_rows()).all()}


def test_deployment_months_follow_events_and_models(db):
    red, blue = factories.make_team(db), factories.make_team(db)
    m = MLModel(team_id=red.id, name="pricing")
    db.add(m)
    db.flush()
    first = LifecycleEvent(model_id=m.id, type="deployed", occurred_at=at("2026-01-31T23:30:00"))
    back = LifecycleEvent(model_id=m.id, type="rolled_back", occurred_at=at("2026-02-01"))
    db.add_all([first, back,
                LifecycleEvent(model_id=m.id, type="ideated", occurred_at=at("2026-01-02"))])
    db.commit()
    jan, feb = 2026 * 12, 2026 * 12 + 1
    assert months_stored(db) == months_derived(db) == {(red.id, jan): (1, 0),
                                                       (red.id, feb): (0, 1)}
    q1 = deployments_by_month(db, VelocityFilters(team_ids=frozenset({red.id})),
                              date(2026, 1, 1), date(2026, 3, 31))
    assert [(x.deployments, x.rollbacks) for x in q1] == [(1, 0), (0, 1), (0, 0)]

    first.occurred_at = at("2026-02-10")  # to another month, read before commit
    q1 = deployments_by_month(db, VelocityFilters(), date(2026, 1, 1), date(2026, 3, 31))
    assert [(x.deployments, x.rollbacks) for x in q1][:2] == [(0, 0), (1, 1)]
    back.type = "deployed"  # a rollback becomes a deployment
    m.team_id = blue.id  # the model moves team: both teams' rows change
    db.commit()
    assert months_stored(db) == months_derived(db) == {(blue.id, feb): (2, 0)}
    db.delete(back)
    db.commit()
    assert months_stored(db) == months_derived(db) == {(blue.id, feb): (1, 0)}
    # A period that is not whole months is counted from the events, with the same answer.
    part = deployments_by_month(db, VelocityFilters(), date(2026, 2, 5), date(2026, 2, 28))
    assert [(x.deployments, x.rollbacks) for x in part] == [(1, 0)]
