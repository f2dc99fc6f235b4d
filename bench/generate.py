"""A realistic synthetic organisation for the benchmark, bulk-loaded into a database.

    .venv/bin/python bench/generate.py --scale L \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/northstar_bench_l \
        --token-file /tmp/northstar-bench-l.token

Migrates the database first (app.ops.migrate.upgrade_to_head), then loads, 12 quarters back from
today:

- teams with Zipf-like sizes (a few huge teams, a long tail of small ones) and a headcount per
  persona, some with their own hourly cost;
- pain points spread by team size, log-normal hours (three-point estimates, recurring ones at
  most 168 h a week, one-time ones at most 2 000 h), more of them in recent quarters, every
  status, `resolved_on` iff resolved and never before `observed_since`, 1 % soft-deleted;
- ML models (15 % LLM), lifecycle events from ideation to deployment with per-team speed, many
  redeployments that bunch up before quarter ends, rollbacks followed by a restore, some
  pipelines posting through the API or MLflow (with external ids);
- monthly compute costs (LLM spend, GPU hours);
- initiatives (a few org-wide) linked to pain points with an expected reduction, some delivered
  with pain points resolved after their delivery (realized savings);
- maturity assessments with an answer per rubric capability, scored by app.maturity.scoring.

Scale L: 500 teams, 100 000 pain points, 20 000 models, 500 000 lifecycle events, 5 000
initiatives, 2 000 assessments; M is a tenth of that, S a hundredth. PostgreSQL is loaded with
COPY (psycopg's `cursor.copy` / `write_row`) and its sequences reset afterwards; SQLite with
executemany in batches. Then the derived tables the app keeps on every write are built, and
VACUUM ANALYZE (PostgreSQL) or ANALYZE (SQLite) runs. The whole load is timed and printed.

A bench admin (`bench@northstar.bench`, password from --password) and an API token for it are
created through app.auth.service; the token is printed and, with --token-file, written there
(mode 600). The data is deterministic for a given --seed and day.
"""

import argparse
import bisect
import calendar
import math
import os
import random
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, selectinload

from app.core.orm import Base
from app.db import make_engine, make_sessionmaker

BENCH_EMAIL = "bench@northstar.bench"
BENCH_PASSWORD = "northstar-bench-password"
QUARTERS = 12

L_SCALE = {"teams": 500, "pain_points": 100_000, "models": 20_000, "events": 500_000,
           "initiatives": 5_000, "assessments": 2_000, "kpi_observations": 200_000,
           "quality_observations": 500_000}
SCALES = {
    "L": L_SCALE,
    "M": {k: max(1, v // 10) for k, v in L_SCALE.items()},
    "S": {k: max(1, v // 100) for k, v in L_SCALE.items()},
}
PEOPLE_PER_TEAM = 10  # on average: 50 people at S, 5 000 at L
ZIPF_EXPONENT = 1.07

# Share of each persona (by position of the seeded personas: data scientist, ML engineer, data
# engineer, BI/analytics engineer, DevOps/platform engineer, product manager).
PERSONA_MIX = (0.34, 0.26, 0.16, 0.11, 0.09, 0.04)
# Friction by lifecycle stage (data acquisition … governance): data work and deployment hurt most.
STAGE_WEIGHTS = (0.13, 0.19, 0.14, 0.08, 0.07, 0.16, 0.09, 0.09, 0.05)
STATUS_WEIGHTS = (("open", 0.47), ("in_progress", 0.16), ("resolved", 0.31), ("wont_fix", 0.06))

DOMAINS = ("fraud", "search", "recs", "pricing", "ads", "risk", "churn", "forecast", "vision",
           "speech", "nlp", "ranking", "growth", "supply", "credit", "support", "safety",
           "payments", "maps", "health", "genai", "marketing", "catalog", "logistics")
SUFFIXES = ("detection", "ranking", "platform", "insights", "modelling", "automation",
            "intelligence", "science", "ml", "analytics")
PAIN_TITLES = (
    "Waiting days for GPU quota", "Hand-written feature backfills", "Learning Spark to prepare data",
    "No shared feature store: features rebuilt per project", "Manual model hand-off to engineering",
    "Flaky training pipeline reruns", "Copying notebooks to production code",
    "Tracking experiments in spreadsheets", "Searching for the right dataset",
    "Approvals for every deployment by ticket", "Rebuilding Docker images by hand",
    "No monitoring: drift found by customers", "Retraining kicked off manually",
    "Data quality issues found late", "Waiting for access to production data",
    "Rewriting SQL for each BI dashboard", "Model registry out of date",
    "Compliance review as a spreadsheet", "Debugging serving latency without traces",
    "Label backlog blocks experiments", "Reproducing last quarter's model",
    "Environment drift between dev and prod", "Manual A/B analysis", "Prompt versions lost",
    "LLM evaluation by eyeballing outputs", "Cost reports assembled by hand",
)
INITIATIVE_TITLES = (
    "Python SDK over managed Spark", "Shared feature store", "Self-service GPU scheduler",
    "Experiment tracking for every team", "One-click deployment with rollback",
    "Data validation in every pipeline", "Model monitoring and drift alerts",
    "Central model registry", "Continuous training templates", "Data catalog rollout",
    "LLM evaluation harness", "Prompt registry", "Automated compliance checks",
    "Golden-path project template", "Serving platform consolidation",
)
USE_CASES = ("fraud scoring", "product ranking", "demand forecast", "churn prediction",
             "document classification", "support assistant", "image tagging",
             "price optimisation", "credit risk", "anomaly detection", "query understanding",
             "summarisation", "route planning", "lead scoring")
MILESTONE_CHAIN = ("ideated", "data_ready", "experiment_started", "validated", "registered",
                   "deployed")
# Median days from each milestone to the next, and the chance a model gets there.
STEP_DAYS = (9.0, 12.0, 16.0, 6.0, 8.0)
STEP_ODDS = (0.88, 0.86, 0.78, 0.88, 0.84)
ROLLBACK_ODDS = 0.06
QUARTER_END_DAYS = 21  # the crunch before a quarter closes
QUARTER_END_BOOST = 3.0


# --- dates ------------------------------------------------------------------------------------

def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_end(day: date) -> date:
    month = 3 * ((day.month - 1) // 3) + 3
    return date(day.year, month, calendar.monthrange(day.year, month)[1])


def window_start(today: date, quarters: int = QUARTERS) -> date:
    """First day of the quarter `quarters - 1` before today's: `quarters` quarters to today."""
    start = quarter_start(today)
    for _ in range(quarters - 1):
        start = quarter_start(start - timedelta(days=1))
    return start


@dataclass
class Calendar:
    """Days of the window with their seasonal weight, for sampling dates quickly."""

    first: date
    last: date
    cumulative: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        total = 0.0
        day = self.first
        while day <= self.last:
            weight = QUARTER_END_BOOST if (quarter_end(day) - day).days < QUARTER_END_DAYS else 1.0
            if day.weekday() >= 5:
                weight *= 0.15  # a few weekend deployments
            total += weight
            self.cumulative.append(total)
            day += timedelta(days=1)

    def seasonal_day(self, rng: random.Random, after: date, before: date) -> date:
        a = max(0, (after - self.first).days)
        b = min(len(self.cumulative) - 1, (before - self.first).days)
        if b <= a:
            return self.first + timedelta(days=a)
        lo = self.cumulative[a - 1] if a else 0.0
        x = rng.uniform(lo, self.cumulative[b])
        return self.first + timedelta(days=min(b, bisect.bisect_left(self.cumulative, x)))


def at_time(day: date, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        seconds=rng.randrange(7 * 3600, 20 * 3600))


def money(value: float) -> Decimal:
    return Decimal(f"{max(0.0, value):.2f}")


def hours(value: float) -> Decimal:
    return Decimal(f"{max(0.0, value):.2f}")


# --- the organisation -------------------------------------------------------------------------

@dataclass
class Table:
    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass
class Org:
    tables: dict[str, Table]
    counts: dict[str, int]


def zipf_sizes(n: int, total: int) -> list[int]:
    raw = [1 / (rank ** ZIPF_EXPONENT) for rank in range(1, n + 1)]
    scale = total / sum(raw)
    return [max(3, round(r * scale)) for r in raw]


def split(total: int, shares: Sequence[float]) -> list[int]:
    """`total` split by `shares`, whole numbers that add up (largest remainders)."""
    exact = [total * s / sum(shares) for s in shares]
    parts = [int(x) for x in exact]
    order = sorted(range(len(shares)), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def generate(scale: dict[str, int], *, seed: int, today: date, personas: Sequence[Any],
             stages: Sequence[Any], user_id: int, rubric: Any) -> Org:
    from app.maturity.scoring import score

    rng = random.Random(seed)
    first = window_start(today)
    span = (today - first).days
    cal = Calendar(first, today)
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=6)
    tables: dict[str, Table] = {}

    # Teams: Zipf-like sizes, a headcount per persona, some hourly-cost overrides.
    sizes = zipf_sizes(scale["teams"], scale["teams"] * PEOPLE_PER_TEAM)
    team_t = Table("team", ("id", "name", "slug", "description", "is_archived", "created_at"))
    tp_t = Table("team_persona", ("team_id", "persona_id", "headcount", "hourly_cost"))
    headcounts: dict[int, list[tuple[int, int]]] = {}
    used: set[str] = set()
    for i, size in enumerate(sizes, start=1):
        slug = f"{rng.choice(DOMAINS)}-{rng.choice(SUFFIXES)}"
        slug = slug if slug not in used else f"{slug}-{i}"
        used.add(slug)
        name = slug.replace("-", " ").title()
        team_t.rows.append((i, name, slug, f"{size} people", False,
                            at_time(first - timedelta(days=rng.randrange(30, 400)), rng)))
        counts = split(size, PERSONA_MIX[: len(personas)])
        headcounts[i] = []
        for persona, count in zip(personas, counts, strict=True):
            override = (money(float(persona.hourly_cost) * rng.uniform(0.8, 1.35))
                        if rng.random() < 0.2 else None)
            tp_t.rows.append((i, persona.id, count, override))
            if count:
                headcounts[i].append((persona.id, count))
    tables["team"], tables["team_persona"] = team_t, tp_t
    team_ids = list(range(1, len(sizes) + 1))
    team_cum = list(_cumulative(sizes))

    def pick_team(weights: Sequence[float] | None = None) -> int:
        return rng.choices(team_ids, cum_weights=weights or team_cum)[0]

    # Pain points.
    stage_ids = [s.id for s in stages]
    stage_cum = list(_cumulative(STAGE_WEIGHTS[: len(stage_ids)] or [1] * len(stage_ids)))
    statuses, status_w = zip(*STATUS_WEIGHTS, strict=True)
    status_cum = list(_cumulative(status_w))
    pp_t = Table("pain_point", (
        "id", "team_id", "persona_id", "stage_id", "title", "description", "evidence", "kind",
        "hours_low", "hours_likely", "hours_high", "people_affected", "status",
        "observed_since", "resolved_on", "reporter_id", "version", "created_at", "updated_at",
        "deleted_at"))
    by_team: dict[int, list[int]] = {t: [] for t in team_ids}
    for pid in range(1, scale["pain_points"] + 1):
        team = pick_team()
        persona_id, count = rng.choices(headcounts[team],
                                        weights=[c for _, c in headcounts[team]])[0]
        recurring = rng.random() < 0.8
        if recurring:
            likely = min(60.0, max(0.25, rng.lognormvariate(math.log(2.5), 0.9)))
            low, high = likely * rng.uniform(0.3, 0.9), min(168.0, likely * rng.uniform(1.2, 3.0))
        else:
            likely = min(800.0, max(1.0, rng.lognormvariate(math.log(16), 1.0)))
            low, high = likely * rng.uniform(0.4, 0.9), min(2000.0, likely * rng.uniform(1.2, 2.5))
        h_low, h_likely, h_high = hours(low), hours(likely), hours(high)
        h_low, h_high = min(h_low, h_likely), max(h_high, h_likely)
        people = max(1, min(count, round(count * rng.betavariate(1.2, 4.0))))
        observed = first + timedelta(days=int(span * math.sqrt(rng.random())))
        status = rng.choices(statuses, cum_weights=status_cum)[0]
        resolved = (observed + timedelta(days=int((today - observed).days * rng.random()))
                    if status == "resolved" else None)
        created = at_time(observed, rng)
        updated = at_time(resolved, rng) if resolved else created
        updated = max(updated, created)
        deleted = updated + timedelta(days=1) if rng.random() < 0.01 else None
        if deleted is not None and deleted > now:
            deleted = now
        title = rng.choice(PAIN_TITLES)
        pp_t.rows.append((
            pid, team, persona_id, rng.choices(stage_ids, cum_weights=stage_cum)[0], title,
            f"Logged in an interview: {title.lower()}.", f"interview {observed.isoformat()}",
            "recurring" if recurring else "one_time", h_low, h_likely, h_high, people, status,
            observed, resolved, user_id, 1, created, updated, deleted))
        by_team[team].append(pid)
    tables["pain_point"] = pp_t

    # Models, lifecycle events, compute costs.
    speed = {t: rng.lognormvariate(0.0, 0.45) for t in team_ids}
    source_of = {t: rng.choices(("manual", "api", "mlflow", "csv"), (0.45, 0.3, 0.2, 0.05))[0]
                 for t in team_ids}
    model_cum = list(_cumulative([s ** 0.9 for s in sizes]))
    model_t = Table("ml_model", ("id", "team_id", "name", "use_case", "kind",
                                 "annual_value_low", "annual_value_likely",
                                 "annual_value_high", "created_at", "archived_at"))
    event_rows: list[list[Any]] = []  # [model_id, type, occurred_at, version]
    deployed_at: dict[int, datetime] = {}
    llm_models: list[tuple[int, date]] = []
    gpu_models: list[tuple[int, date]] = []
    for mid in range(1, scale["models"] + 1):
        team = pick_team(model_cum)
        use_case = rng.choice(USE_CASES)
        name = f"{use_case.replace(' ', '-')}-{mid}"
        # LLM work grows in the later quarters.
        offset = int(span * rng.random() ** 0.8)
        ideated_day = first + timedelta(days=min(offset, span - 1))
        llm = rng.random() < 0.05 + 0.2 * offset / span
        t = at_time(ideated_day, rng)
        value = money(rng.lognormvariate(math.log(20_000), 1.0)) if rng.random() < 0.6 else None
        archived = now - timedelta(days=rng.randrange(1, 60)) if rng.random() < 0.03 else None
        low, high = ((money(float(value) * 12 * 0.6), money(float(value) * 12 * 1.5))
                     if value is not None else (None, None))
        model_t.rows.append((mid, team, name, use_case, "llm" if llm else "classical", low,
                             None if value is None else value * 12, high, t,
                             archived))
        chain = MILESTONE_CHAIN if rng.random() > 0.05 else MILESTONE_CHAIN[1:]
        event_rows.append([mid, chain[0], t, None])
        for step, milestone in enumerate(chain[1:], start=len(MILESTONE_CHAIN) - len(chain)):
            if rng.random() > STEP_ODDS[step]:
                break
            t += timedelta(days=rng.lognormvariate(math.log(STEP_DAYS[step] * speed[team]), 0.7))
            if t >= now:
                break
            version = "1.0" if milestone in ("registered", "deployed") else None
            event_rows.append([mid, milestone, t, version])
            if milestone == "deployed":
                deployed_at[mid] = t
        (llm_models if llm else gpu_models).append((mid, ideated_day))
    tables["ml_model"] = model_t

    # Redeployments (retraining) fill the event budget, bunched before quarter ends.
    budget = max(0, scale["events"] - len(event_rows))
    per_unit = 1 + 2 * ROLLBACK_ODDS
    cadence = {m: (now - t).days * rng.lognormvariate(0, 0.8) for m, t in deployed_at.items()}
    total_weight = sum(cadence.values()) or 1.0
    for mid, first_deploy in deployed_at.items():
        units = round(budget / per_unit * cadence[mid] / total_weight)
        times = sorted(at_time(cal.seasonal_day(rng, first_deploy.date() + timedelta(days=1),
                                                today), rng) for _ in range(units))
        for n, deployed in enumerate(times, start=2):
            if deployed <= first_deploy or deployed >= now:
                continue
            event_rows.append([mid, "deployed", deployed, f"1.{n}"])
            if rng.random() < ROLLBACK_ODDS:
                back = deployed + timedelta(hours=rng.uniform(1, 72))
                fixed = back + timedelta(hours=rng.lognormvariate(math.log(8), 1.0))
                if fixed < now:
                    event_rows.append([mid, "rolled_back", back, f"1.{n}"])
                    event_rows.append([mid, "deployed", fixed, f"1.{n}.1"])
        if rng.random() < 0.03:
            retired = now - timedelta(hours=rng.randrange(1, 24 * 30))
            if retired > (times[-1] if times else first_deploy):
                event_rows.append([mid, "retired", retired, None])
    event_t = Table("lifecycle_event", ("id", "model_id", "type", "occurred_at", "version",
                                        "source", "external_id", "created_at"))
    team_of_model = {row[0]: row[1] for row in model_t.rows}
    for eid, (mid, kind, at, version) in enumerate(event_rows, start=1):
        source = source_of[team_of_model[mid]]
        external = f"{source}-{mid}-{eid}" if source in ("api", "mlflow") else None
        event_t.rows.append((eid, mid, kind, at, version, source, external,
                             at + timedelta(minutes=rng.randrange(0, 90))))
    tables["lifecycle_event"] = event_t

    cost_t = Table("compute_cost", ("id", "model_id", "month", "gpu_hours", "amount", "note"))
    this_month = today.replace(day=1)
    for mid, since in llm_models + [m for m in gpu_models if rng.random() < 0.2]:
        llm = model_t.rows[mid - 1][4] == "llm"
        base = rng.lognormvariate(math.log(3_000 if llm else 800), 1.0)
        month = since.replace(day=1)
        growth = 1.0
        while month <= this_month:
            amount = base * growth * rng.uniform(0.7, 1.3)
            gpu_share = 0.35 if llm else 0.9
            cost_t.rows.append((len(cost_t.rows) + 1, mid, month,
                                hours(amount * gpu_share / 2.9), money(amount), ""))
            growth *= rng.uniform(1.0, 1.08)
            month = (month + timedelta(days=32)).replace(day=1)
    tables["compute_cost"] = cost_t
    tables.update(_model_value(scale, rng, model_t, deployed_at, today=today, now=now))

    # Initiatives and their links; delivered ones resolve some of their pain points afterwards.
    init_t = Table("initiative", ("id", "team_id", "title", "description", "owner", "status",
                                  "one_time_cost", "yearly_run_cost", "started_on",
                                  "delivered_on", "created_at", "deleted_at"))
    link_t = Table("initiative_pain_point", ("initiative_id", "pain_point_id",
                                             "expected_reduction"))
    pp_index = {row[0]: i for i, row in enumerate(pp_t.rows)}
    all_pp = [row[0] for row in pp_t.rows]
    for iid in range(1, scale["initiatives"] + 1):
        team = pick_team() if rng.random() < 0.9 else None
        status = rng.choices(("proposed", "in_progress", "delivered", "cancelled"),
                             (0.25, 0.3, 0.35, 0.1))[0]
        started = (first + timedelta(days=rng.randrange(0, span - 30))
                   if status != "proposed" or rng.random() < 0.3 else None)
        delivered = None
        if status == "delivered" and started is not None:
            delivered = min(today, started + timedelta(days=rng.randrange(30, 270)))
        created = at_time(started or today - timedelta(days=rng.randrange(0, 90)), rng)
        init_t.rows.append((
            iid, team, f"{rng.choice(INITIATIVE_TITLES)} #{iid}", "", f"owner{iid % 97}",
            status, money(rng.lognormvariate(math.log(80_000), 0.8)),
            money(rng.lognormvariate(math.log(20_000), 0.9)), started, delivered, created,
            now if rng.random() < 0.01 else None))
        pool = by_team[team] if team is not None and by_team[team] else all_pp
        wanted = min(len(pool), min(40, 1 + int(rng.lognormvariate(math.log(5), 0.7))))
        for pid in rng.sample(pool, wanted):
            link_t.rows.append((iid, pid, Decimal(rng.randrange(10, 91))))
            row = pp_t.rows[pp_index[pid]]
            if delivered and rng.random() < 0.4 and row[13] <= delivered and row[7] == "recurring":
                resolved = delivered + timedelta(days=int((today - delivered).days * rng.random()))
                updated = max(row[18], at_time(resolved, rng))
                pp_t.rows[pp_index[pid]] = (*row[:12], "resolved", row[13], resolved, *row[15:18],
                                            updated, row[19])
    tables["initiative"], tables["initiative_pain_point"] = init_t, link_t

    # Maturity assessments: teams improve over the window.
    assess_t = Table("maturity_assessment", ("id", "team_id", "assessed_on", "rubric_version",
                                             "level", "score", "assessor_id", "created_at"))
    answer_t = Table("maturity_answer", ("assessment_id", "capability", "answer", "note",
                                         "evidence"))
    propensity = {t: rng.betavariate(2, 3) for t in team_ids}
    per_team = split(scale["assessments"], [1.0] * len(team_ids))
    aid = 0
    for team, count in zip(team_ids, per_team, strict=True):
        days = sorted(first + timedelta(days=rng.randrange(0, span + 1)) for _ in range(count))
        for day in days:
            aid += 1
            progress = (day - first).days / max(1, span)
            # Where the team stands (0 … 3): its propensity, plus what it built meanwhile.
            standing = propensity[team] * 2.2 + progress * 0.8
            answers = {}
            for cap in rubric.capabilities:
                odds = ((0.75, 0.22) if standing >= cap.level
                        else (0.3, 0.3) if standing >= cap.level - 0.5 else (0.05, 0.25))
                x = rng.random()
                answers[cap.key] = ("yes" if x < odds[0] else
                                    "partial" if x < odds[0] + odds[1] else "no")
            result = score(rubric.capabilities, answers)
            assess_t.rows.append((aid, team, day, rubric.version, result.level, result.score,
                                  user_id, at_time(day, rng)))
            answer_t.rows.extend((aid, key, value, "", "") for key, value in answers.items())
    tables["maturity_assessment"], tables["maturity_answer"] = assess_t, answer_t

    counts = {name: len(t.rows) for name, t in tables.items()}
    return Org(tables, counts)


def _model_value(scale: dict[str, int], rng: random.Random, model_t: "Table",
                 deployed_at: dict[int, datetime], *, today: date,
                 now: datetime) -> dict[str, "Table"]:
    """Business KPIs with monthly amounts for about half the deployed models with an annual
    value (the most recent months, up to the scale's count), and a quality metric per deployed
    model observed weekly back from now (15 % of them drifting)."""
    kpi_t = Table("kpi", ("id", "model_id", "key", "name", "unit", "value_per_unit",
                          "archived_at", "version", "created_at"))
    obs_t = Table("kpi_observation", ("id", "kpi_id", "model_id", "month", "amount", "source",
                                      "external_id", "note", "created_at", "updated_at"))
    metric_t = Table("quality_metric", ("id", "model_id", "name", "higher_is_better",
                                        "tolerance"))
    quality_t = Table("quality_observation", ("id", "metric_id", "model_id", "value",
                                              "observed_at", "version", "source", "external_id",
                                              "created_at"))
    deployed = sorted(deployed_at)
    valued = [m for m in deployed if model_t.rows[m - 1][6] is not None]
    this_month = today.replace(day=1)
    for mid in valued:
        if len(obs_t.rows) >= scale["kpi_observations"]:
            break
        months, month = [], deployed_at[mid].date().replace(day=1)
        while month < this_month:
            months.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        kpis = rng.randint(1, 4)  # fraud losses, tickets deflected, hours saved…
        for n in range(kpis):
            kid = len(kpi_t.rows) + 1
            per_unit = rng.choice((Decimal("1"), Decimal("4.50"), Decimal("38"), Decimal("150")))
            kpi_t.rows.append((kid, mid, f"kpi_{n + 1}", f"Business KPI {n + 1}", "units",
                               per_unit, None, 1, deployed_at[mid]))
            monthly = float(model_t.rows[mid - 1][6]) / 12 / kpis / float(per_unit)
            for month in months:
                at = datetime.combine(month, datetime.min.time(), tzinfo=UTC) + timedelta(days=35)
                obs_t.rows.append((len(obs_t.rows) + 1, kid, mid, month,
                                   Decimal(f"{monthly * rng.uniform(0.7, 1.3):.2f}"), "api",
                                   None, "", min(at, now), min(at, now)))
    # Twice a week per metric, one or two metrics per deployed model, back from now.
    for mid in deployed:
        if len(quality_t.rows) >= scale["quality_observations"]:
            break
        for name, lower in rng.sample((("auc", False), ("rmse", True), ("accuracy", False)),
                                      rng.randint(1, 2)):
            metric_id = len(metric_t.rows) + 1
            metric_t.rows.append((metric_id, mid, name, not lower, Decimal("0.05")))
            level = rng.uniform(0.3, 0.6) if lower else rng.uniform(0.7, 0.95)
            drift = rng.uniform(0.06, 0.25) if rng.random() < 0.15 else 0.0
            times, at = [], now - timedelta(hours=rng.randrange(72))
            while at > deployed_at[mid] and len(times) < 60:
                times.append(at)
                at -= timedelta(days=3, hours=rng.randrange(24))
            times.reverse()
            for i, at in enumerate(times):
                change = drift * i / max(1, len(times) - 1)
                value = level * (1 + change if lower else 1 - change) * rng.uniform(0.99, 1.01)
                quality_t.rows.append((len(quality_t.rows) + 1, metric_id, mid,
                                       round(value, 4), at, None, "api", None, at))
    return {"kpi": kpi_t, "kpi_observation": obs_t, "quality_metric": metric_t,
            "quality_observation": quality_t}


def _cumulative(weights: Iterable[float]) -> Iterable[float]:
    total = 0.0
    for w in weights:
        total += w
        yield total


# --- loading ----------------------------------------------------------------------------------

LOAD_ORDER = ("team", "team_persona", "pain_point", "ml_model", "lifecycle_event",
              "compute_cost", "kpi", "kpi_observation", "quality_metric",
              "quality_observation", "initiative", "initiative_pain_point", "maturity_assessment",
              "maturity_answer")
SERIAL_TABLES = ("team", "pain_point", "ml_model", "lifecycle_event", "compute_cost",
                 "kpi", "kpi_observation", "quality_metric", "quality_observation",
                 "initiative", "maturity_assessment")
SQLITE_BATCH = 20_000


def load_postgresql(engine: Engine, org: Org) -> None:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for name in LOAD_ORDER:
            table = org.tables[name]
            # COPY applies no ORM defaults: a new row's optimistic-lock version starts at 1.
            stamp = ("version",) if "version" not in table.columns and not getattr(
                Base.metadata.tables[name].columns.get("version"), "nullable", True) else ()
            columns = ", ".join(table.columns + stamp)
            with cur.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
                for row in table.rows:
                    copy.write_row(tuple(row) + (1,) * len(stamp))
        for name in SERIAL_TABLES:
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"GREATEST((SELECT max(id) FROM {name}), 1))")
        raw.commit()
    finally:
        raw.close()


def load_sqlite(engine: Engine, org: Org) -> None:
    # Through SQLAlchemy's column types, so dates, timestamps and decimals are stored exactly as
    # the app stores them; one executemany per batch.
    tables = Base.metadata.tables
    with engine.begin() as conn:
        for name in LOAD_ORDER:
            table = org.tables[name]
            target = tables[name]
            for start in range(0, len(table.rows), SQLITE_BATCH):
                batch = [dict(zip(table.columns, row, strict=True))
                         for row in table.rows[start:start + SQLITE_BATCH]]
                conn.execute(insert(target), batch)


def derive(engine: Engine) -> None:
    """The derived tables the app keeps in step on every ORM write, built once after the bulk
    load (which bypasses the ORM), then statistics for every table."""
    import app.models  # noqa: F401  (every derived table declares itself)
    from app.core.derived import rebuild_all

    rebuild_all(engine)
    # Outside a transaction (VACUUM refuses one; and a rolled-back ANALYZE leaves pg_statistic
    # empty although last_analyze is set): statistics, and on PostgreSQL the visibility map that
    # lets index-only scans skip the heap — what autovacuum gives a live database.
    command = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(command)


GENERATED = ("pain_point_cost_quarter", "pain_point_cost_summary", "model_milestone",
             "deployment_month", "pain_point_run_rate",
             "maturity_answer", "maturity_assessment", "initiative_pain_point", "initiative",
             "quality_observation", "quality_metric", "kpi_observation", "kpi",
             "compute_cost", "lifecycle_event", "ml_model", "pain_point_confirmation",
             "pain_point", "team_persona", "user_team", "api_token", "user_session",
             "login_attempt", "idempotency_key", "audit_log", "app_user", "team")


def reset(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {', '.join(GENERATED)} RESTART IDENTITY CASCADE")
    else:
        with engine.begin() as conn:
            for name in GENERATED:
                conn.execute(delete(Base.metadata.tables[name]))


# --- the bench user -----------------------------------------------------------------------------

def ensure_bench_user(session: Session, password: str = BENCH_PASSWORD) -> Any:
    """The bench admin, created through app.auth.service (hashed password, audit entry)."""
    from app.auth.models import User
    from app.auth.service import create_user

    user = session.scalar(select(User).options(selectinload(User.teams))
                          .where(User.email == BENCH_EMAIL))
    if user is None:
        user = create_user(session, email=BENCH_EMAIL, password=password, role="admin",
                           name="Bench Admin", actor="bench", actor_id=None)
    return user


def create_bench_token(session: Session, user: Any, name: str = "bench") -> str:
    from app.auth.service import create_api_token

    _, raw = create_api_token(session, user=user, name=name, actor="bench", actor_id=None)
    return raw


def write_token(path: Path, token: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")


# --- main ---------------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), required=True)
    parser.add_argument("--database-url", required=True,
                        help="SQLAlchemy URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/"
                             "northstar_bench_s or sqlite:////tmp/northstar-bench-s.db")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--password", default=BENCH_PASSWORD,
                        help=f"Password of {BENCH_EMAIL} (created when missing).")
    parser.add_argument("--token-file", type=Path,
                        help="Write the bench API token here (mode 600); keep it out of git.")
    parser.add_argument("--reset", action="store_true",
                        help="Empty the generated tables first (users, tokens and audit log "
                             "included) instead of refusing a database that holds teams.")
    args = parser.parse_args(argv)

    from app.maturity.rubric import load_rubric
    from app.ops.migrate import upgrade_to_head
    from app.teams.models import Persona, Stage, Team

    url = args.database_url
    backend = make_url(url).get_backend_name()
    started = time.perf_counter()
    revision = upgrade_to_head(url)
    print(f"migrated to {revision} ({time.perf_counter() - started:.1f} s)")
    engine = make_engine(url)
    try:
        if args.reset:
            reset(engine)
        with make_sessionmaker(engine)() as session:
            if session.scalar(select(func.count()).select_from(Team)):
                print("error: the database already holds teams; use --reset to replace them",
                      file=sys.stderr)
                return 2
            user = ensure_bench_user(session, args.password)
            token = create_bench_token(session, user)
            session.commit()
            personas = session.scalars(select(Persona).order_by(Persona.position)).all()
            stages = session.scalars(select(Stage).order_by(Stage.position)).all()
            user_id = user.id

        t0 = time.perf_counter()
        org = generate(SCALES[args.scale], seed=args.seed, today=datetime.now(UTC).date(),
                       personas=personas, stages=stages, user_id=user_id, rubric=load_rubric())
        t1 = time.perf_counter()
        (load_postgresql if backend == "postgresql" else load_sqlite)(engine, org)
        t2 = time.perf_counter()
        derive(engine)
        t3 = time.perf_counter()
    finally:
        engine.dispose()

    width = max(len(k) for k in org.counts)
    for name in LOAD_ORDER:
        print(f"  {name:<{width}}  {org.counts[name]:>9,}")
    how = "COPY" if backend == "postgresql" else "executemany"
    print(f"scale {args.scale} on {backend}: generated in {t1 - t0:.1f} s, loaded ({how}) in "
          f"{t2 - t1:.1f} s, derived tables and statistics in {t3 - t2:.1f} s; "
          f"total {t3 - t0:.1f} s (migration excluded)")
    print(f"bench login: {BENCH_EMAIL} / {args.password}")
    if args.token_file:
        write_token(args.token_file, token)
        print(f"API token written to {args.token_file}")
    else:
        print(f"API token: {token}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
