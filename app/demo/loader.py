"""Loads the demo organisation of app/demo/catalog.py into a database, once.

Lifecycle events and compute costs are generated, not listed: deterministically (a fixed seed
per model) and relative to `today`, so the dashboards always show the last six quarters.
"""

import calendar
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.auth.models import Role, User
from app.auth.passwords import MIN_PASSWORD_LENGTH, verify_password
from app.auth.service import create_user
from app.core.errors import FieldError, ValidationFailed
from app.demo import catalog
from app.demo.value import add_model_value
from app.initiatives.models import Initiative, InitiativeLink, InitiativeStatus
from app.maturity.models import Answer, MaturityAnswer, MaturityAssessment
from app.maturity.rubric import Rubric, load_rubric
from app.maturity.scoring import score
from app.ml_models.models import (
    ComputeCost, EventSource, EventType, LifecycleEvent, MLModel, ModelKind,
)
from app.pain_points.models import (
    MAX_ONE_TIME_HOURS, MAX_PEOPLE_AFFECTED, MAX_TITLE_LENGTH, MAX_WEEKLY_HOURS, PainPoint,
    PainPointKind, PainPointStatus,
)
from app.teams.models import Persona, Stage, Team
from app.teams.schemas import HeadcountIn, TeamCreate
from app.teams.service import create_team

ACTOR = "demo"
DEFAULT_PASSWORD = "northstar-demo"
# The demo is present when this team is: loading twice adds nothing.
MARKER_TEAM = "fraud-detection"
SEED = 20261129
# Teams whose CI/CD posts lifecycle events through the API; the others log them by hand.
API_TEAMS = frozenset({"fraud-detection", "recommendations"})
QUARTERS_OF_HISTORY = 6
COST_MONTHS = 6
# Blended rate of a rented GPU hour; the rest of an LLM model's spend is API calls.
GPU_HOUR_RATE = Decimal("2.90")


@dataclass(frozen=True)
class DemoUser:
    email: str
    role: Role
    name: str
    teams: tuple[str, ...] = ()


DEMO_USERS = (
    DemoUser("admin@northstar.demo", Role.admin, "Avery Admin"),
    DemoUser("pm@northstar.demo", Role.pm, "Priya Raman", ("fraud-detection", "recommendations")),
    DemoUser("leader@northstar.demo", Role.leader, "Jordan Chen"),
    DemoUser("viewer@northstar.demo", Role.viewer, "Sam Taylor", ("fraud-detection",)),
)


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    # None when the account existed already with another password.
    password: str | None
    created: bool


@dataclass(frozen=True)
class DemoResult:
    loaded: bool  # False: the demo organisation was there already, nothing was added
    logins: tuple[DemoLogin, ...]
    counts: dict[str, int] = field(default_factory=dict)  # rows added per kind of object


class DemoDataError(ValueError):
    """The catalog holds something the database would refuse; nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("demo catalog is inconsistent:\n  " + "\n  ".join(problems))
        self.problems = problems


# --- lifecycle events, generated ----------------------------------------------------------

MILESTONES = (
    EventType.ideated, EventType.data_ready, EventType.experiment_started, EventType.validated,
    EventType.registered, EventType.deployed,
)


@dataclass(frozen=True)
class Profile:
    # Days between successive milestones, ideated -> data_ready -> ... -> deployed.
    gaps: tuple[tuple[int, int], ...]
    # Days between retrains once in production; None: never retrained.
    retrain_every: tuple[int, int] | None = None
    # Chance that a deployment is rolled back (the first one always is when > 0).
    rollback_chance: float = 0.0


PROFILES = {
    "fast": Profile(((2, 8), (2, 6), (5, 15), (1, 3), (1, 4)), (25, 50)),
    "typical": Profile(((7, 20), (5, 14), (14, 35), (3, 10), (3, 12)), (45, 90)),
    "slow": Profile(((15, 40), (10, 30), (30, 70), (7, 21), (14, 45)), (90, 150)),
    "flaky": Profile(((5, 15), (4, 12), (10, 30), (2, 7), (2, 10)), (30, 60), 0.4),
    # Stalls before production: waiting on a review, a ticket, data access.
    "stuck": Profile(((7, 20), (5, 14), (14, 35), (3, 10))),
    # Ideated within the last 60 days, still exploring.
    "new": Profile(((2, 8), (3, 10))),
}
# Older ideas moved slower: lead times shrink over the six quarters as the platform improves.
PACE_OLDEST, PACE_NEWEST = 1.35, 0.75
# A rollback and the redeploy after it happen within hours, at most this many in all.
MAX_ROLLBACK_HOURS = 72 + 120


@dataclass(frozen=True)
class EventSpec:
    type: EventType
    occurred_at: datetime
    version: str | None = None


def history_start(today: date) -> date:
    """First day of the quarter five quarters before today's: six quarters in all."""
    index = today.year * 4 + (today.month - 1) // 3 - (QUARTERS_OF_HISTORY - 1)
    return date(index // 4, index % 4 * 3 + 1, 1)


def model_rng(team: str, name: str) -> random.Random:
    # A seed per model keeps each model's history stable when the catalog grows.
    return random.Random(f"{SEED}:{team}/{name}")


def _at(rng: random.Random, day: date) -> datetime:
    """A moment of office hours on `day`, in UTC."""
    return datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59)), UTC)


def generate_events(team: str, name: str, profile_name: str, *, today: date) -> list[EventSpec]:
    """A model's lifecycle over the last six quarters, every event before `today` (UTC)."""
    rng = model_rng(team, name)
    profile = PROFILES[profile_name]
    start = history_start(today)
    horizon = datetime.combine(today, time.min, UTC)
    if profile_name == "new":
        first_day, pace = today - timedelta(days=rng.randint(3, 58)), 1.0
    elif profile_name == "stuck":
        first_day = start + timedelta(days=rng.randint(0, (today - start).days - 150))
        pace = 1.0
    else:
        # Leave room for the slowest path to production at the slowest pace.
        longest = sum(hi for _, hi in profile.gaps) * PACE_OLDEST + MAX_ROLLBACK_HOURS / 24 + 2
        latest = (today - start).days - int(longest)
        offset = rng.randint(0, latest)
        first_day = start + timedelta(days=offset)
        pace = PACE_OLDEST - (PACE_OLDEST - PACE_NEWEST) * offset / latest

    events = [EventSpec(EventType.ideated, _at(rng, first_day))]
    day = first_day
    stop = len(profile.gaps)
    if profile_name == "stuck":
        # Stalled after experimenting, validating or registering.
        stop = rng.choice([2, 3, 4])
    for milestone, (lo, hi) in zip(MILESTONES[1 : stop + 1], profile.gaps, strict=False):
        day += timedelta(days=max(1, round(rng.randint(lo, hi) * pace)))
        if day >= today:
            break
        version = "1" if milestone in (EventType.registered, EventType.deployed) else None
        events.append(EventSpec(milestone, _at(rng, day), version))
    if events[-1].type is not EventType.deployed:
        return events

    # In production: retrains, each registered then deployed; flaky models roll back.
    deployments = 0
    version = 1
    while True:
        last = events[-1]
        deployments += 1
        if profile.rollback_chance and (deployments == 1 or rng.random() < profile.rollback_chance):
            rolled_back = last.occurred_at + timedelta(hours=rng.randint(2, 72))
            redeployed = rolled_back + timedelta(hours=rng.randint(6, 120))
            if redeployed < horizon:
                events.append(EventSpec(EventType.rolled_back, rolled_back, last.version))
                events.append(EventSpec(EventType.deployed, redeployed, f"{version}.1"))
        if profile.retrain_every is None:
            break
        registered_day = events[-1].occurred_at.date() + timedelta(
            days=rng.randint(*profile.retrain_every))
        deployed_day = registered_day + timedelta(days=rng.randint(1, 3))
        if deployed_day >= today:
            break
        version += 1
        events.append(EventSpec(EventType.registered, _at(rng, registered_day), str(version)))
        events.append(EventSpec(EventType.deployed, _at(rng, deployed_day), str(version)))
    return events


def check_events(label: str, events: Sequence[EventSpec], *, today: date) -> list[str]:
    horizon = datetime.combine(today, time.min, UTC)
    problems = []
    if not events or events[0].type is not EventType.ideated:
        problems.append(f"model {label}: the first event must be 'ideated'")
    times = [e.occurred_at for e in events]
    if any(t.tzinfo is None or t.utcoffset() != timedelta(0) for t in times):
        problems.append(f"model {label}: event times must be timezone-aware UTC")
    elif times != sorted(times) or len(set(times)) != len(times):
        problems.append(f"model {label}: events out of order")
    elif times and times[-1] >= horizon:
        problems.append(f"model {label}: an event lies in the future")
    firsts = [next((e.occurred_at for e in events if e.type is m), None) for m in MILESTONES]
    reached = [t for t in firsts if t is not None]
    if reached != sorted(reached):
        problems.append(f"model {label}: milestones out of order")
    return problems


def _month_starts(today: date, count: int) -> list[date]:
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def generate_compute_costs(
    team: str, name: str, events: Sequence[EventSpec], *, today: date,
) -> list[tuple[date, Decimal, Decimal]]:
    """(month, GPU hours, amount) of an LLM model for each of the last six months it existed.

    Experimenting costs little; serving costs more and grows month over month (the snowballing
    bill of the demo's pain points). The current month is month-to-date.
    """
    rng = random.Random(f"{SEED}:cost:{team}/{name}")
    ideated = events[0].occurred_at.date()
    deployed = next((e.occurred_at.date() for e in events if e.type is EventType.deployed), None)
    serving_base = Decimal(rng.randint(2500, 9000))
    growth = Decimal(str(round(rng.uniform(1.04, 1.15), 3)))
    rows = []
    for i, month in enumerate(_month_starts(today, COST_MONTHS)):
        days_in_month = calendar.monthrange(month.year, month.month)[1]
        month_end = month + timedelta(days=days_in_month)  # exclusive
        live_from, live_to = max(month, ideated), min(month_end, today)
        if live_to <= live_from:
            continue
        share = Decimal(str((live_to - live_from).days / days_in_month))
        serving = deployed is not None and deployed < month_end
        if serving:
            gpu_hours = Decimal(rng.randint(60, 320))
            api = serving_base * growth ** i
        else:
            gpu_hours = Decimal(rng.randint(10, 120))
            api = Decimal(rng.randint(200, 1200))
        gpu_hours = (gpu_hours * share).quantize(Decimal("0.01"))
        amount = (gpu_hours * GPU_HOUR_RATE + api * share).quantize(Decimal("0.01"))
        rows.append((month, gpu_hours, amount))
    return rows


# --- the catalog's own sanity ---------------------------------------------------------------


def people_affected(pain_point: Mapping[str, Any], teams: Mapping[str, Mapping[str, Any]]) -> int:
    """The catalog's number, else the team's headcount of that persona (docs/product.md)."""
    if pain_point["people_affected"] is not None:
        return pain_point["people_affected"]
    return teams[pain_point["team"]]["headcounts"].get(pain_point["persona"], 0)


def check_catalog(
    *, teams: Sequence[Mapping[str, Any]], pain_points: Sequence[Mapping[str, Any]],
    models: Sequence[Mapping[str, Any]], initiatives: Sequence[Mapping[str, Any]],
    assessments: Sequence[Mapping[str, Any]], personas: Iterable[str], stages: Iterable[str],
    rubric: Rubric,
) -> list[str]:
    """Everything in the catalog that a constraint of the schema (or common sense) refuses."""
    personas, stages = set(personas), set(stages)
    problems: list[str] = []
    by_slug = {t["slug"]: t for t in teams}
    if len(by_slug) != len(teams):
        problems.append("team slugs must be unique")
    for team in teams:
        for persona in [*team["headcounts"], *team["hourly_overrides"]]:
            if persona not in personas:
                problems.append(f"team {team['slug']}: unknown persona {persona}")
        if any(not 0 <= n <= MAX_PEOPLE_AFFECTED for n in team["headcounts"].values()):
            problems.append(f"team {team['slug']}: headcount out of range")

    titles: dict[str, Mapping[str, Any]] = {}
    for p in pain_points:
        label = f"pain point {p['title']!r}"
        if not p["title"] or len(p["title"]) > MAX_TITLE_LENGTH:
            problems.append(f"{label}: title must have 1 to {MAX_TITLE_LENGTH} characters")
        if p["title"] in titles:
            problems.append(f"{label}: titles must be unique (initiatives link by title)")
        titles[p["title"]] = p
        if p["team"] not in by_slug:
            problems.append(f"{label}: unknown team {p['team']}")
            continue
        if p["persona"] not in personas:
            problems.append(f"{label}: unknown persona {p['persona']}")
        if p["stage"] not in stages:
            problems.append(f"{label}: unknown stage {p['stage']}")
        if p["kind"] not in set(PainPointKind):
            problems.append(f"{label}: unknown kind {p['kind']}")
        low, likely, high = p["hours"]
        if not Decimal(0) <= low <= likely <= high:
            problems.append(f"{label}: hours must satisfy 0 <= low <= likely <= high")
        limit = MAX_WEEKLY_HOURS if p["kind"] == PainPointKind.recurring else MAX_ONE_TIME_HOURS
        if high > limit:
            problems.append(f"{label}: more than {limit} hours")
        people = people_affected(p, by_slug)
        headcount = by_slug[p["team"]]["headcounts"].get(p["persona"], 0)
        if not 1 <= people <= MAX_PEOPLE_AFFECTED:
            problems.append(f"{label}: affects {people} people (the team's headcount of "
                            f"{p['persona']} is {headcount})")
        elif people > headcount:
            problems.append(f"{label}: affects {people} people, more than the team's "
                            f"{headcount} {p['persona']}")
        if p["status"] not in set(PainPointStatus):
            problems.append(f"{label}: unknown status {p['status']}")
        if (p["status"] == PainPointStatus.resolved) != (p["resolved_days_ago"] is not None):
            problems.append(f"{label}: a resolved date goes with status resolved, and only with it")
        if p["observed_days_ago"] < 0:
            problems.append(f"{label}: observed in the future")
        if p["resolved_days_ago"] is not None and not (
            0 <= p["resolved_days_ago"] <= p["observed_days_ago"]
        ):
            problems.append(f"{label}: resolved before it was observed, or in the future")

    names = set()
    for m in models:
        label = f"model {m['team']}/{m['name']}"
        if m["team"] not in by_slug:
            problems.append(f"{label}: unknown team")
        if not m["name"] or (m["team"], m["name"]) in names:
            problems.append(f"{label}: names must be non-empty and unique per team")
        names.add((m["team"], m["name"]))
        if m["kind"] not in set(ModelKind):
            problems.append(f"{label}: unknown kind {m['kind']}")
        if m["profile"] not in PROFILES:
            problems.append(f"{label}: unknown profile {m['profile']}")
        if m["value_per_month"] is not None and m["value_per_month"] < 0:
            problems.append(f"{label}: negative business value")

    for i in initiatives:
        label = f"initiative {i['title']!r}"
        if not i["title"]:
            problems.append(f"{label}: empty title")
        if i["team"] is not None and i["team"] not in by_slug:
            problems.append(f"{label}: unknown team {i['team']}")
        if i["status"] not in set(InitiativeStatus):
            problems.append(f"{label}: unknown status {i['status']}")
        if i["one_time_cost"] < 0 or i["yearly_run_cost"] < 0:
            problems.append(f"{label}: negative cost")
        started, delivered = i["started_days_ago"], i["delivered_days_ago"]
        if (i["status"] == InitiativeStatus.delivered) != (delivered is not None):
            problems.append(f"{label}: a delivery date goes with status delivered, and only so")
        started_status = (InitiativeStatus.in_progress, InitiativeStatus.delivered)
        if i["status"] in started_status and started is None:
            problems.append(f"{label}: started initiatives need a start date")
        if delivered is not None and (started is None or not 0 <= delivered <= started):
            problems.append(f"{label}: delivered before it started, or in the future")
        linked = [title for title, _ in i["links"]]
        if len(set(linked)) != len(linked):
            problems.append(f"{label}: a pain point is linked twice")
        for title, reduction in i["links"]:
            if title not in titles:
                problems.append(f"{label}: links an unknown pain point {title!r}")
            elif i["team"] is not None and titles[title]["team"] != i["team"]:
                problems.append(f"{label}: links {title!r} of another team")
            if not Decimal(0) <= reduction <= Decimal(100):
                problems.append(f"{label}: expected reduction must be 0-100 %")

    keys = set(rubric.keys())
    for a in assessments:
        label = f"assessment of {a['team']} {a['days_ago']} days ago"
        if a["team"] not in by_slug:
            problems.append(f"{label}: unknown team")
        if set(a["answers"]) != keys:
            missing, extra = sorted(keys - set(a["answers"])), sorted(set(a["answers"]) - keys)
            problems.append(f"{label}: answers must cover the rubric exactly "
                            f"(missing {missing}, unknown {extra})")
        if any(v not in set(Answer) for v in a["answers"].values()):
            problems.append(f"{label}: answers are no, partial or yes")
        if a["days_ago"] < 0:
            problems.append(f"{label}: in the future")
    return problems


# --- loading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """What the catalog resolves to before anything is written."""

    persona_ids: dict[str, int]
    stage_ids: dict[str, int]
    histories: dict[tuple[str, str], list[EventSpec]]
    rubric: Rubric


def load_demo(session: Session, *, today: date, password: str = DEFAULT_PASSWORD) -> DemoResult:
    """Adds the demo organisation unless it is there; makes sure the demo users exist.

    Writes in the caller's transaction (flushes, never commits). Raises ValidationFailed for a
    password that is too short, and DemoDataError, before writing anything, for catalog entries
    the schema would refuse.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            [FieldError("password", f"use at least {MIN_PASSWORD_LENGTH} characters")]
        )
    loaded = session.scalar(select(Team.id).where(Team.slug == MARKER_TEAM)) is None
    if not loaded:
        logins, _ = _ensure_users(session, password)
        return DemoResult(loaded=False, logins=logins)

    plan = _plan(session, today=today)
    team_ids = _add_teams(session)
    # Users after teams (their memberships) and before pain points (the PM reports them).
    logins, user_ids = _ensure_users(session, password)
    counts = {"teams": len(team_ids), "users": sum(login.created for login in logins)}
    pain_point_ids = _add_pain_points(session, plan, today=today, team_ids=team_ids,
                                      reporter_id=user_ids["pm@northstar.demo"])
    counts["pain_points"] = len(pain_point_ids)
    counts |= _add_models(session, plan, today=today, team_ids=team_ids)
    counts |= add_model_value(session, plan.histories, today=today, team_ids=team_ids,
                              via_api=frozenset(API_TEAMS))
    counts |= _add_initiatives(session, today=today, team_ids=team_ids,
                               pain_point_ids=pain_point_ids)
    counts |= _add_assessments(session, plan, today=today, team_ids=team_ids,
                               assessor_id=user_ids["pm@northstar.demo"])
    record(session, actor=ACTOR, actor_id=None, action="load_demo", entity="demo",
           entity_id=MARKER_TEAM, after=counts)
    session.flush()
    return DemoResult(loaded=True, logins=logins, counts=counts)


def _plan(session: Session, *, today: date) -> _Plan:
    rubric = load_rubric()
    persona_ids = dict(session.execute(select(Persona.slug, Persona.id)).all())
    stage_ids = dict(session.execute(select(Stage.slug, Stage.id)).all())
    problems = check_catalog(
        teams=catalog.TEAMS, pain_points=catalog.PAIN_POINTS, models=catalog.MODELS,
        initiatives=catalog.INITIATIVES, assessments=catalog.ASSESSMENTS,
        personas=persona_ids, stages=stage_ids, rubric=rubric,
    )
    histories = {
        (m["team"], m["name"]): generate_events(m["team"], m["name"], m["profile"], today=today)
        for m in catalog.MODELS
    }
    for (team, name), events in histories.items():
        problems += check_events(f"{team}/{name}", events, today=today)
    if problems:
        raise DemoDataError(problems)
    return _Plan(persona_ids, stage_ids, histories, rubric)


def _ensure_users(session: Session, password: str) -> tuple[tuple[DemoLogin, ...], dict[str, int]]:
    emails = [u.email for u in DEMO_USERS]
    existing = {u.email: u for u in session.scalars(select(User).where(User.email.in_(emails)))}
    logins, ids = [], {}
    for demo_user in DEMO_USERS:
        user = existing.get(demo_user.email)
        if user is None:
            user = create_user(session, email=demo_user.email, password=password,
                               role=demo_user.role.value, name=demo_user.name,
                               team_slugs=list(demo_user.teams), actor=ACTOR, actor_id=None)
            logins.append(DemoLogin(user.email, user.role.value, password, created=True))
        else:
            # Never reset a password someone may have changed; only tell whether it still works.
            same = verify_password(password, user.password_hash)
            logins.append(DemoLogin(user.email, user.role.value, password if same else None,
                                    created=False))
        ids[user.email] = user.id
    return tuple(logins), ids


def _add_teams(session: Session) -> dict[str, int]:
    team_ids = {}
    for team in catalog.TEAMS:
        personas = list(dict.fromkeys([*team["headcounts"], *team["hourly_overrides"]]))
        data = TeamCreate(
            name=team["name"], slug=team["slug"], description=team["description"],
            headcounts=[
                HeadcountIn(persona=p, headcount=team["headcounts"].get(p, 0),
                            hourly_cost=team["hourly_overrides"].get(p))
                for p in personas
            ],
        )
        team_ids[team["slug"]] = create_team(session, data, actor=None, actor_label=ACTOR).id
    return team_ids


def _days_ago(today: date, days: int | None) -> date | None:
    return None if days is None else today - timedelta(days=days)


def _add_pain_points(session: Session, plan: _Plan, *, today: date, team_ids: dict[str, int],
                     reporter_id: int) -> dict[str, int]:
    """Adds the pain points; returns their ids by title."""
    teams = {t["slug"]: t for t in catalog.TEAMS}
    rows = []
    for p in catalog.PAIN_POINTS:
        low, likely, high = p["hours"]
        rows.append(PainPoint(
            team_id=team_ids[p["team"]], persona_id=plan.persona_ids[p["persona"]],
            stage_id=plan.stage_ids[p["stage"]], title=p["title"], description=p["description"],
            evidence=p["evidence"], kind=PainPointKind(p["kind"]), hours_low=low,
            hours_likely=likely, hours_high=high, people_affected=people_affected(p, teams),
            status=PainPointStatus(p["status"]),
            observed_since=_days_ago(today, p["observed_days_ago"]),
            resolved_on=_days_ago(today, p["resolved_days_ago"]), reporter_id=reporter_id,
        ))
    session.add_all(rows)
    session.flush()
    return {row.title: row.id for row in rows}


def _add_models(session: Session, plan: _Plan, *, today: date,
                team_ids: dict[str, int]) -> dict[str, int]:
    models = [
        MLModel(team_id=team_ids[m["team"]], name=m["name"], use_case=m["use_case"],
                kind=ModelKind(m["kind"]), **catalog.annual_value(m["value_per_month"]))
        for m in catalog.MODELS
    ]
    session.add_all(models)
    session.flush()
    events, costs = [], []
    for spec, model in zip(catalog.MODELS, models, strict=True):
        team, name = spec["team"], spec["name"]
        history = plan.histories[team, name]
        via_api = team in API_TEAMS
        events += [
            LifecycleEvent(
                model_id=model.id, type=e.type, occurred_at=e.occurred_at, version=e.version,
                source=EventSource.api if via_api else EventSource.manual,
                external_id=f"demo:{team}/{name}/{n}" if via_api else None,
            )
            for n, e in enumerate(history, start=1)
        ]
        if model.kind is ModelKind.llm:
            costs += [
                ComputeCost(model_id=model.id, month=month, gpu_hours=gpu_hours, amount=amount,
                            note="demo")
                for month, gpu_hours, amount in generate_compute_costs(team, name, history,
                                                                       today=today)
            ]
    session.add_all(events)
    session.flush()
    session.add_all(costs)
    session.flush()
    return {"models": len(models), "lifecycle_events": len(events), "compute_costs": len(costs)}


def _add_initiatives(session: Session, *, today: date, team_ids: dict[str, int],
                     pain_point_ids: dict[str, int]) -> dict[str, int]:
    initiatives = [
        Initiative(
            team_id=team_ids[i["team"]] if i["team"] else None, title=i["title"],
            description=i["description"], owner=i["owner"], status=InitiativeStatus(i["status"]),
            one_time_cost=i["one_time_cost"], yearly_run_cost=i["yearly_run_cost"],
            started_on=_days_ago(today, i["started_days_ago"]),
            delivered_on=_days_ago(today, i["delivered_days_ago"]),
        )
        for i in catalog.INITIATIVES
    ]
    session.add_all(initiatives)
    session.flush()
    links = [
        InitiativeLink(initiative_id=initiative.id, pain_point_id=pain_point_ids[title],
                       expected_reduction=reduction)
        for spec, initiative in zip(catalog.INITIATIVES, initiatives, strict=True)
        for title, reduction in spec["links"]
    ]
    session.add_all(links)
    session.flush()
    return {"initiatives": len(initiatives), "initiative_links": len(links)}


def _add_assessments(session: Session, plan: _Plan, *, today: date, team_ids: dict[str, int],
                     assessor_id: int) -> dict[str, int]:
    assessments, answers = [], []
    for spec in catalog.ASSESSMENTS:
        result = score(plan.rubric.capabilities, spec["answers"])
        assessments.append(MaturityAssessment(
            team_id=team_ids[spec["team"]], assessed_on=_days_ago(today, spec["days_ago"]),
            rubric_version=plan.rubric.version, level=result.level, score=result.score,
            assessor_id=assessor_id,
        ))
    session.add_all(assessments)
    session.flush()
    for spec, assessment in zip(catalog.ASSESSMENTS, assessments, strict=True):
        answers += [
            MaturityAnswer(assessment_id=assessment.id, capability=key, answer=Answer(value))
            for key, value in spec["answers"].items()
        ]
    session.add_all(answers)
    session.flush()
    return {"maturity_assessments": len(assessments), "maturity_answers": len(answers)}
