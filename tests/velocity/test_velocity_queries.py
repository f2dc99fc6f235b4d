"""Velocity figures on hand-worked lifecycle events, on both backends."""

import random
import statistics
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

from sqlalchemy import text

from app.core.periods import Quarter
from app.ml_models.models import LifecycleEvent, MLModel
from app.velocity.queries import (
    VelocityFilters, deployment_figures, lead_time, lead_time_by_quarter, model_cadence,
    production_rate, stage_dwell,
)
from tests import factories

Q1 = (date(2026, 1, 1), date(2026, 3, 31))


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def model(db, team, name, *events):
    m = MLModel(team_id=team.id, name=name)
    db.add(m)
    db.flush()
    db.add_all([LifecycleEvent(model_id=m.id, type=kind, occurred_at=at(day))
                for kind, day in events])
    db.flush()
    return m


def seed(db):
    team = factories.make_team(db)
    model(db, team, "a", ("ideated", "2026-01-05"), ("data_ready", "2026-01-10"),
          ("experiment_started", "2026-01-20"), ("validated", "2026-02-01"),
          ("registered", "2026-02-05"), ("deployed", "2026-02-15"),
          ("rolled_back", "2026-03-01"), ("deployed", "2026-03-03"))
    model(db, team, "b", ("experiment_started", "2026-01-01"), ("deployed", "2026-03-01"))
    model(db, team, "c", ("ideated", "2026-02-01"))
    model(db, team, "d", ("ideated", "2025-10-01"), ("deployed", "2026-01-10"))
    other = factories.make_team(db)
    model(db, other, "elsewhere", ("ideated", "2026-01-01"), ("deployed", "2026-01-02"))
    return VelocityFilters(team_ids=frozenset({team.id}))


def test_lead_time_median_p90_and_count(db):
    filters = seed(db)
    result = lead_time(db, filters, *Q1)
    # a: 41 days, b: 59 (no ideated: from its earliest event), d: 101
    assert result.count == 3
    assert result.median == D(59)
    assert result.p90 == D("92.6")  # 59 + 0.8 × (101 − 59)


def test_lead_time_by_quarter_of_first_deployment(db):
    filters = seed(db)
    by_quarter = lead_time_by_quarter(db, filters, [Quarter(2025, 4), Quarter(2026, 1)])
    assert by_quarter[Quarter(2025, 4)].count == 0
    assert by_quarter[Quarter(2026, 1)].count == 3


def test_deployments_change_failure_and_restore(db):
    figures = deployment_figures(db, seed(db), *Q1)
    assert (figures.deployments, figures.rollbacks) == (4, 1)
    assert figures.change_failure_rate == D("0.25")
    assert figures.frequency_per_week == D(4) * 7 / 90
    assert figures.time_to_restore.median == D(2) and figures.time_to_restore.count == 1
    assert figures.unrestored == 0


def test_no_deployments_means_no_change_failure_rate(db):
    figures = deployment_figures(db, seed(db), date(2024, 1, 1), date(2024, 3, 31))
    assert figures.deployments == 0 and figures.change_failure_rate is None


def test_stage_dwell_pairs(db):
    dwell = {(d.from_milestone, d.to_milestone): d for d in stage_dwell(db, seed(db), *Q1)}
    assert dwell[("ideated", "data_ready")].median == D(5)
    assert dwell[("registered", "deployed")].median == D(10)
    # b has experiment_started and deployed but none in between: it bridges no pair
    assert dwell[("validated", "registered")].count == 1
    assert dwell[("experiment_started", "validated")].median == D(12)


def test_production_rate_per_cohort(db):
    cohorts = {c.quarter: c for c in production_rate(
        db, seed(db), [Quarter(2025, 4), Quarter(2026, 1), Quarter(2026, 3)], date(2026, 11, 29))}
    q1 = cohorts[Quarter(2026, 1)]
    assert (q1.ideated, q1.deployed, q1.rate, q1.provisional) == (2, 1, D("0.5"), False)
    assert cohorts[Quarter(2025, 4)].rate == 1
    assert cohorts[Quarter(2026, 3)].provisional is True and cohorts[Quarter(2026, 3)].rate is None


def test_retrain_cadence(db):
    filters = seed(db)
    cadence = model_cadence(db, filters)
    a = next(c for c in cadence.values() if c.deployments == 2)
    assert a.retrain_cadence_days == D(16)  # 2026-02-15 → 2026-03-03
    assert a.last_deployed_at == at("2026-03-03")


def test_percentiles_equal_postgresqls_percentile_cont_on_random_data(db):
    """The figures equal percentile_cont (PostgreSQL) / the statistics library's inclusive
    quantiles (the same interpolation) on random lead times."""
    rng = random.Random(7)
    team = factories.make_team(db)
    leads = []
    for i in range(57):
        start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 60 * 24 * 40))
        days = rng.randint(1, 40_000) / 100
        leads.append(D(str(days)))
        model(db, team, f"m{i}", ("ideated", start.isoformat()),
              ("deployed", (start + timedelta(days=days)).isoformat()))
    result = lead_time(db, VelocityFilters(team_ids=frozenset({team.id})), date(2026, 1, 1),
                       date(2027, 12, 31))
    expected_median = statistics.median(leads)
    expected_p90 = D(str(statistics.quantiles([float(x) for x in leads], n=10,
                                              method="inclusive")[8]))
    assert abs(result.median - expected_median) < D("0.0001")
    assert abs(result.p90 - expected_p90) < D("0.0001")
    if db.bind.dialect.name == "postgresql":
        values = ",".join(f"({x})" for x in leads)
        pg = db.execute(text(
            f"SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY x) FROM (VALUES {values}) v(x)"
        )).scalar()
        assert abs(result.p90 - D(str(pg))) < D("0.0001")
