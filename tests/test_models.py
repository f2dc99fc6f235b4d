"""The database itself refuses what docs/product.md calls bad data, on SQLite and PostgreSQL alike."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.ml_models.models import EventSource, EventType, LifecycleEvent, MLModel
from app.pain_points.models import PainPoint
from tests import factories


def pain_point(db, **overrides) -> PainPoint:
    team = overrides.pop("team", None) or factories.make_team(db)
    values = dict(team_id=team.id, persona_id=factories.persona(db).id,
                  stage_id=factories.stage(db).id, title="Retraining needs a ticket",
                  kind="recurring", hours_low=Decimal("1"), hours_likely=Decimal("2"),
                  hours_high=Decimal("4"), people_affected=5, observed_since=date(2026, 1, 5))
    values.update(overrides)
    return PainPoint(**values)


def refused(db, obj) -> None:
    savepoint = db.begin_nested()
    db.add(obj)
    with pytest.raises(IntegrityError):
        db.flush()
    savepoint.rollback()


@pytest.mark.parametrize("overrides", [
    {"hours_low": Decimal("-1")},
    {"hours_low": Decimal("3"), "hours_likely": Decimal("2")},
    {"hours_likely": Decimal("5"), "hours_high": Decimal("4")},
    {"hours_high": Decimal("169")},
    {"kind": "one_time", "hours_high": Decimal("2001")},
    {"people_affected": 0},
    {"people_affected": 100_001},
    {"title": ""},
    {"status": "resolved"},  # resolved without resolved_on
    {"resolved_on": date(2026, 2, 1)},  # a date without the resolved status
    {"status": "resolved", "resolved_on": date(2025, 12, 31)},  # before observed_since
    {"team_id": 999_999},
])
def test_bad_pain_points_are_refused_by_the_database(db, overrides):
    refused(db, pain_point(db, **overrides))
    assert db.scalar(select(func.count()).select_from(PainPoint)) == 0


def test_the_database_checks_enum_values_too(db):
    """Rows written around the ORM (imports, other tools) meet the same CHECK constraint."""
    team = factories.make_team(db)
    savepoint = db.begin_nested()
    with pytest.raises(IntegrityError):
        db.execute(text(
            "INSERT INTO pain_point (team_id, persona_id, stage_id, title, description, evidence,"
            " kind, hours_low, hours_likely, hours_high, people_affected, status, observed_since,"
            " version, created_at, updated_at) VALUES (:team, :persona, :stage, 't', '', '',"
            " 'sometimes', 1, 1, 1, 1, 'open', '2026-01-05', 1, :now, :now)"
        ), {"team": team.id, "persona": factories.persona(db).id,
            "stage": factories.stage(db).id, "now": datetime(2026, 1, 5, tzinfo=UTC)})
    savepoint.rollback()


def test_a_valid_pain_point_is_stored_with_exact_decimals(db):
    db.add(pain_point(db, hours_likely=Decimal("2.25"), hours_high=Decimal("168"),
                      status="resolved", resolved_on=date(2026, 3, 2)))
    db.flush()
    stored = db.scalars(select(PainPoint)).one()
    assert stored.hours_likely == Decimal("2.25")
    assert stored.hours_high == Decimal("168")


def test_a_one_time_effort_may_exceed_a_week(db):
    db.add(pain_point(db, kind="one_time", hours_low=Decimal("12"), hours_likely=Decimal("20"),
                      hours_high=Decimal("400")))
    db.flush()


def test_optimistic_lock_refuses_a_stale_write(db, session_factory):
    db.add(pain_point(db))
    db.commit()
    mine = db.scalars(select(PainPoint)).one()  # I open the edit form at version 1
    assert mine.version == 1
    with session_factory() as other:
        theirs = other.scalars(select(PainPoint)).one()
        theirs.title = "Changed by someone else"
        other.commit()
    mine.title = "My stale edit"
    with pytest.raises(StaleDataError):
        db.flush()


def test_same_source_and_external_id_is_stored_once(db):
    model = MLModel(team_id=factories.make_team(db).id, name="card-fraud-scorer")
    db.add(model)
    db.flush()
    at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    db.add(LifecycleEvent(model_id=model.id, type=EventType.deployed, occurred_at=at,
                          source=EventSource.api, external_id="run-42"))
    db.flush()
    refused(db, LifecycleEvent(model_id=model.id, type=EventType.deployed, occurred_at=at,
                               source=EventSource.api, external_id="run-42"))
    # The same id from another source is another event.
    db.add(LifecycleEvent(model_id=model.id, type=EventType.deployed, occurred_at=at,
                          source=EventSource.mlflow, external_id="run-42"))
    db.flush()


def test_team_slug_is_unique(db):
    factories.make_team(db, slug="fraud-detection", name="Fraud detection")
    from app.teams.models import Team

    refused(db, Team(slug="fraud-detection", name="Another name"))


def test_timestamps_come_back_in_utc(db):
    model = MLModel(team_id=factories.make_team(db).id, name="recsys")
    db.add(model)
    db.flush()
    local = datetime(2026, 5, 1, 14, 0, tzinfo=UTC) + timedelta(0)
    from zoneinfo import ZoneInfo

    event = LifecycleEvent(model_id=model.id, type=EventType.ideated,
                           occurred_at=local.astimezone(ZoneInfo("Europe/Berlin")))
    db.add(event)
    db.commit()
    db.expire_all()
    stored = db.get(LifecycleEvent, event.id)
    assert stored.occurred_at == local
    assert stored.occurred_at.tzinfo is not None and stored.occurred_at.utcoffset() == timedelta(0)
