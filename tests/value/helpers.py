"""Store a model's value facts (app.value.formulas.ModelFacts) as rows, for query tests."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import derived
from app.ml_models.models import ComputeCost, LifecycleEvent, MLModel
from app.value import formulas as f
from app.value import monthly, production
from app.value.formulas import AnnualValue, Event, Metric, ModelFacts, Observation
from app.value.models import (
    Kpi, KpiObservation, ModelValueMonth, QualityMetric, QualityObservation,
)
from tests.helpers import sums_agree


def store(session: Session, team, facts: ModelFacts, *, ideated: datetime | None = None,
          kind: str = "classical") -> MLModel:
    annual = facts.annual
    model = MLModel(team_id=team.id, name=facts.name, kind=kind,
                    annual_value_low=annual and annual.low,
                    annual_value_likely=annual and annual.likely,
                    annual_value_high=annual and annual.high)
    session.add(model)
    session.flush()
    if ideated is not None:
        session.add(LifecycleEvent(model_id=model.id, type="ideated", occurred_at=ideated))
    for event in facts.events:
        session.add(LifecycleEvent(model_id=model.id, type=event.type, occurred_at=event.at))
    if facts.measured:
        kpi = Kpi(model_id=model.id, key="usd", name="Dollars", unit="USD",
                  value_per_unit=D("0.5"))
        session.add(kpi)
        session.flush()
        for month, amount in facts.measured.items():
            session.add(KpiObservation(kpi_id=kpi.id, model_id=model.id, month=month,
                                       amount=amount * 2))
    for month, amount in facts.compute.items():
        session.add(ComputeCost(model_id=model.id, month=month, amount=amount))
    for metric in facts.metrics:
        row = QualityMetric(model_id=model.id, name=metric.name,
                            higher_is_better=metric.higher_is_better, tolerance=metric.tolerance)
        session.add(row)
        session.flush()
        for obs in metric.observations:
            session.add(QualityObservation(metric_id=row.id, model_id=model.id, value=obs.value,
                                           observed_at=obs.at))
    session.flush()
    return model


def random_facts(rng: random.Random, name: str, first: date, span_days: int) -> tuple[
        ModelFacts, datetime]:
    """A model with random events, KPI months, compute months and quality observations, all
    at distinct instants (ties between observations are left undefined by docs/product.md)."""
    def moment() -> datetime:
        return (datetime.combine(first, datetime.min.time(), tzinfo=UTC)
                + timedelta(minutes=rng.randrange(span_days * 1440)))

    ideated = datetime.combine(first, datetime.min.time(), tzinfo=UTC) - timedelta(
        days=rng.randrange(1, 120))
    events = sorted({moment() for _ in range(rng.randrange(0, 5))})
    typed = [Event(rng.choice(["deployed", "deployed", "retired", "rolled_back"]), at)
             for at in events]
    annual = None
    if rng.random() < 0.8:
        low, likely, high = sorted(D(rng.randrange(0, 5_000_000)) / 100 * 100 for _ in range(3))
        annual = AnnualValue(low, likely, high)
    months = sorted({f.month_start(moment().date()) for _ in range(4)})
    measured = {m: D(rng.randrange(-50_000, 900_000)) / 100 for m in months
                if rng.random() < 0.4}
    compute = {m: D(rng.randrange(0, 300_000)) / 100 for m in months if rng.random() < 0.5}
    metrics = []
    for metric_name, higher in (("auc", True), ("rmse", False)):
        if rng.random() < 0.6:
            times = sorted({moment() for _ in range(rng.randrange(1, 6))})
            metrics.append(Metric(metric_name, higher, D(rng.choice(["0.05", "0.01", "0.2"])),
                                  [Observation(round(rng.uniform(0.1, 1.0), 4), t)
                                   for t in times]))
    return ModelFacts(name, annual, events=typed, measured=measured, compute=compute,
                      metrics=metrics), ideated


def month_rows(session: Session) -> tuple[dict, dict]:
    """model_value_month as stored, and as computed live from the events (not from the stored
    periods) for the same months: {(model_id, month): figures}."""
    derived.fresh(session, production.PERIODS.name)
    derived.fresh(session, monthly.MONTHS.name)
    mv = ModelValueMonth
    stored = session.execute(select(mv.model_id, mv.month,
                                    *(mv.__table__.c[n] for n in monthly.FIGURES)))
    months = monthly.covered_months(session.connection())
    live = session.execute(monthly.month_values(
        monthly.calendar(months), production.period_rows().subquery("production"),
        lambda query, _column: query)).all() if months else []

    def keyed(rows: Any) -> dict:
        return {(r.model_id, date.fromisoformat(str(r.month)[:10])):
                tuple(D(str(getattr(r, n))) for n in monthly.FIGURES) for r in rows}

    return keyed(stored), keyed(live)


def assert_months_agree(session: Session, backend: str) -> None:
    """Stored == live, row for row: every digit on PostgreSQL, a hundredth of a cent on
    SQLite (doubles)."""
    stored, live = month_rows(session)
    assert stored.keys() == live.keys()
    for key, figures in stored.items():
        assert all(sums_agree(a, b, backend) for a, b in zip(figures, live[key], strict=True)), (
            key, figures, live[key])
