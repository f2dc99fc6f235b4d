"""The demo organisation's model value: business KPIs with a year of monthly observations for
about half the valued models, and quality observations after every deployment — the customer
segmentation model drifting after wholesale buyers changed their behaviour (the seed's "the
model we are serving is outdated"), the support chatbot's thumbs-up rate slipping."""

import calendar
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.ml_models.models import EventSource, MLModel
from app.value import formulas
from app.value.models import Kpi, KpiObservation, QualityMetric, QualityObservation

SEED = "northstar-demo-value"
KPI_MONTHS = 12

# model → (key, name, unit, value per unit, units a month at full production)
KPIS: dict[str, tuple[str, str, str, Decimal, int]] = {
    "card-fraud-scorer": ("fraud_losses_prevented", "Fraud losses prevented", "USD",
                          Decimal("1"), 430_000),
    "account-takeover-detector": ("accounts_protected", "Accounts protected from takeover",
                                  "accounts", Decimal("150"), 1_150),
    "chargeback-predictor": ("chargebacks_avoided", "Chargebacks avoided", "USD", Decimal("1"),
                             88_000),
    "home-feed-ranker": ("incremental_revenue", "Incremental revenue (A/B holdout)", "USD",
                         Decimal("1"), 690_000),
    "similar-items-retriever": ("incremental_gmv", "Incremental GMV at 25 % margin", "USD of GMV",
                                Decimal("0.25"), 820_000),
    "search-reranker": ("incremental_revenue", "Incremental revenue from search", "USD",
                        Decimal("1"), 280_000),
    "rfm-segmenter": ("segments_served", "Campaign segments served", "segments",
                      Decimal("500"), 105),
    "churn-propensity": ("accounts_retained", "Wholesale accounts retained", "accounts",
                         Decimal("2000"), 72),
    "wholesale-buyer-clusters": ("campaign_revenue", "Account-manager campaign revenue", "USD",
                                 Decimal("1"), 84_000),
    "support-rag-chatbot": ("tickets_deflected", "Support tickets deflected", "tickets",
                            Decimal("4.50"), 36_000),
    "ticket-summarizer": ("agent_hours_saved", "Agent hours saved", "hours saved",
                          Decimal("38"), 2_000),
    "store-demand-forecast": ("stockout_losses_avoided", "Stock-out losses avoided", "USD",
                              Decimal("1"), 360_000),
    "sku-replenishment": ("carrying_cost_saved", "Inventory carrying cost saved", "USD",
                          Decimal("1"), 240_000),
}
# Measured value falls with the drift: buyers no longer behave like the clusters.
KPI_DECLINE = {"wholesale-buyer-clusters": Decimal("0.35")}

# model → (metric, level after a deployment, drop by today after the latest one (a share))
QUALITY: dict[str, tuple[str, float, float]] = {
    "card-fraud-scorer": ("auc", 0.94, 0.0),
    "home-feed-ranker": ("ndcg_at_10", 0.41, 0.0),
    "churn-propensity": ("auc", 0.81, 0.0),
    "wholesale-buyer-clusters": ("silhouette_score", 0.62, 0.22),
    "support-rag-chatbot": ("thumbs_up_rate", 0.74, 0.11),
    "store-demand-forecast": ("mape_error", 0.12, 0.0),
    "ticket-summarizer": ("latency_p95_ms", 850.0, 0.0),
}
# Drift reaches its full drop this many days after the latest deployment.
DRIFT_DAYS = 45


def _months_before(today: date, count: int) -> list[date]:
    months, current = [], today.replace(day=1)
    for _ in range(count):
        current = (current - timedelta(days=1)).replace(day=1)
        months.append(current)
    return months[::-1]


def _events(history: Sequence[Any]) -> list[formulas.Event]:
    return [formulas.Event(e.type.value, e.occurred_at) for e in history]


def kpi_amounts(name: str, history: Sequence[Any], *, today: date) -> list[tuple[date, Decimal]]:
    """(month, amount) for the complete months of the last year the model was in production,
    in proportion to its days in production, with some noise."""
    key, _, _, _, base = KPIS[name]
    rng = random.Random(f"{SEED}:kpi:{name}")
    events = _events(history)
    months = _months_before(today, KPI_MONTHS)
    rows = []
    for i, month in enumerate(months):
        last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
        days = formulas.production_days(events, month, last)
        if not days:
            continue
        share = Decimal(days) / Decimal((last - month).days + 1)
        level = Decimal(str(round(rng.uniform(0.88, 1.12), 3)))
        decline = KPI_DECLINE.get(name)
        if decline is not None and i >= len(months) - 4:
            level *= 1 - decline * (i - (len(months) - 5)) / 4
        rows.append((month, (Decimal(base) * share * level).quantize(Decimal("1"))))
    return rows


def quality_points(name: str, history: Sequence[Any], *,
                   today: date) -> list[tuple[datetime, float, str | None]]:
    """(observed_at, value, version): one just after each deployment (the baseline), then one a
    week while in production; drift grows after the latest deployment."""
    metric, level, drop = QUALITY[name]
    rng = random.Random(f"{SEED}:quality:{name}")
    lower_is_better = not formulas.default_higher_is_better(metric)
    deployments = [e for e in history if e.type.value == "deployed"]
    if not deployments:
        return []
    latest = deployments[-1].occurred_at
    now = datetime.combine(today, time(6), tzinfo=UTC)
    points = []
    for n, deployment in enumerate(deployments):
        start = deployment.occurred_at + timedelta(hours=2)
        end = deployments[n + 1].occurred_at if n + 1 < len(deployments) else now
        week = 0
        while (moment := start + timedelta(days=7 * week)) < end and moment <= now:
            drift = 0.0
            if deployment.occurred_at == latest and drop:
                drift = drop * min(1.0, (moment - latest).days / DRIFT_DAYS)
            noise = rng.uniform(-0.008, 0.008) if week else 0.0
            factor = (1 + drift if lower_is_better else 1 - drift) + noise
            points.append((moment, round(level * factor, 4), deployment.version))
            week += 1
    return points


def add_model_value(session: Session, histories: Mapping[tuple[str, str], Sequence[Any]], *,
                    today: date, team_ids: Mapping[str, int],
                    via_api: frozenset[str]) -> dict[str, int]:
    """KPIs, KPI observations, quality metrics and observations of the demo models."""
    models = {(m.team_id, m.name): m for m in session.scalars(
        select(MLModel).where(MLModel.team_id.in_(list(team_ids.values()))))}
    kpis, observations, metrics, quality = 0, 0, 0, 0
    for (team, name), history in histories.items():
        model = models[team_ids[team], name]
        source = EventSource.api if team in via_api else EventSource.csv
        if name in KPIS:
            key, label, unit, per_unit, _ = KPIS[name]
            kpi = Kpi(model_id=model.id, key=key, name=label, unit=unit, value_per_unit=per_unit)
            session.add(kpi)
            session.flush()
            kpis += 1
            rows = [KpiObservation(kpi_id=kpi.id, model_id=model.id, month=month, amount=amount,
                                   source=source,
                                   external_id=f"demo:{team}/{name}/{key}/{month:%Y-%m}")
                    for month, amount in kpi_amounts(name, history, today=today)]
            session.add_all(rows)
            observations += len(rows)
        if name in QUALITY:
            metric_name = QUALITY[name][0]
            metric = QualityMetric(
                model_id=model.id, name=metric_name,
                higher_is_better=formulas.default_higher_is_better(metric_name),
                tolerance=formulas.DEFAULT_TOLERANCE)
            session.add(metric)
            session.flush()
            metrics += 1
            rows = [QualityObservation(metric_id=metric.id, model_id=model.id, value=value,
                                       observed_at=at, version=version, source=EventSource.api,
                                       external_id=f"demo:{team}/{name}/{metric_name}/{i}")
                    for i, (at, value, version) in enumerate(
                        quality_points(name, history, today=today))]
            session.add_all(rows)
            quality += len(rows)
    session.flush()
    return {"kpis": kpis, "kpi_observations": observations, "quality_metrics": metrics,
            "quality_observations": quality}
