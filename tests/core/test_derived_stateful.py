"""Every derived table (app/core/derived.py) answers what the live query answers, whatever the
order of writes, savepoints, rollbacks, imports, setting changes and new quarters.

A Hypothesis state machine drives one session the way the app does (its commits are the
outermost transaction's; the test harness runs it inside a savepoint of the test's connection)
and after every step compares each stored read with the live query: the cost totals of the
covered quarters, the stored run-rates, the model milestones, the deployments per month and the
models' production periods.
"""

import os
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.auth.permissions import Principal
from app.core import clock, derived
from app.core.periods import quarter_of
from app.ml_models.models import EventType, LifecycleEvent, MLModel
from app.pain_points import csv_io, queries, summary
from app.pain_points.models import CostSummaryState, PainPoint, RunRateRank
from app.pain_points.measures import GroupBy, PainPointFilters
from app.settings.models import OrgSettings
from app.teams.models import Team, TeamPersona
from app.value import production
from app.value.models import ProductionPeriod
from app.velocity import milestones
from app.velocity.models import DeploymentMonth, ModelMilestone
from tests import factories

START = date(2026, 11, 20)
PERSONAS = ("data-scientist", "ml-engineer")
STAGES = ("deployment", "monitoring")
EVENT_TYPES = [EventType.ideated, EventType.validated, EventType.deployed, EventType.rolled_back,
               EventType.deployed, EventType.retired]


def close(a: D | None, b: D | None, backend: str) -> bool:
    if a is None or b is None:
        return a == b
    # PostgreSQL sums exact NUMERIC both ways; SQLite sums doubles, in another order.
    return a == b if backend == "postgresql" else abs(D(a) - D(b)) <= D("0.0001")


class DerivedTables(RuleBasedStateMachine):
    connection = None  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.outer = self.connection.begin_nested()
        self.db = Session(bind=self.connection, join_transaction_mode="create_savepoint",
                          expire_on_commit=False)
        self.backend = self.connection.dialect.name
        self.today = START
        self.rng = random.Random(0)

    def teardown(self) -> None:
        self.db.close()
        self.outer.rollback()

    # --- helpers ------------------------------------------------------------------------------

    def _pain_points(self) -> list[PainPoint]:
        return list(self.db.scalars(select(PainPoint).order_by(PainPoint.id)))

    def _events(self) -> list[LifecycleEvent]:
        return list(self.db.scalars(select(LifecycleEvent).order_by(LifecycleEvent.id)))

    def _write(self, choice: int) -> None:
        """One write of a tracked kind, picked by `choice`."""
        db, rng = self.db, random.Random(choice)
        kind = choice % 9
        pain_points, events = self._pain_points(), self._events()
        teams = list(db.scalars(select(Team).order_by(Team.id)))
        if kind == 0 or not pain_points:
            observed = self.today - timedelta(days=rng.randint(0, 900))
            factories.make_pain_point(
                db, rng.choice(teams), persona=rng.choice(PERSONAS), stage=rng.choice(STAGES),
                kind=rng.choice(["recurring", "recurring", "one_time"]),
                people_affected=rng.randint(1, 20), observed_since=observed,
                hours_low=D(1), hours_likely=D(rng.randint(1, 6)), hours_high=D(8))
        elif kind == 1:
            p = rng.choice(pain_points)
            p.people_affected = rng.randint(1, 40)
        elif kind == 2:
            p = rng.choice(pain_points)
            p.team_id = rng.choice(teams).id
            p.stage_id = factories.stage(db, rng.choice(STAGES)).id
        elif kind == 3:
            p = rng.choice(pain_points)
            if p.resolved_on is None:
                p.status, p.resolved_on = "resolved", max(p.observed_since, self.today
                                                          - timedelta(days=rng.randint(0, 200)))
            else:
                p.status, p.resolved_on = "open", None
        elif kind == 4:
            p = rng.choice(pain_points)
            p.deleted_at = None if p.deleted_at else datetime.now(UTC)
        elif kind == 5:
            rows = db.scalars(select(TeamPersona).order_by(TeamPersona.team_id,
                                                           TeamPersona.persona_id))
            row = rng.choice(list(rows))
            row.hourly_cost = None if row.hourly_cost else D(rng.randint(80, 200))
        elif kind == 6:
            factories.persona(db, rng.choice(PERSONAS)).hourly_cost = D(rng.randint(60, 160))
        elif kind == 7 or not events:
            model = rng.choice(list(db.scalars(select(MLModel).order_by(MLModel.id))))
            db.add(LifecycleEvent(
                model_id=model.id, type=rng.choice(EVENT_TYPES), source="manual",
                occurred_at=datetime.combine(self.today, datetime.min.time(), UTC)
                - timedelta(days=rng.randint(0, 700), hours=rng.randint(0, 23))))
        else:
            what = rng.randint(0, 3)
            if what == 0:
                db.delete(rng.choice(events))
            elif what == 1:
                e = rng.choice(events)
                e.occurred_at = e.occurred_at - timedelta(days=rng.randint(1, 60))
                e.type = rng.choice(EVENT_TYPES)
            elif what == 2:
                e = rng.choice(events)
                e.model_id = rng.choice(list(db.scalars(select(MLModel.id))))
            else:
                model = rng.choice(list(db.scalars(select(MLModel).order_by(MLModel.id))))
                model.team_id = rng.choice(teams).id
        db.flush()

    # --- steps --------------------------------------------------------------------------------

    @initialize()
    def organisation(self) -> None:
        db = self.db
        teams = [factories.make_team(db, headcounts={"data-scientist": (8, D("130")),
                                                     "ml-engineer": 3}),
                 factories.make_team(db, headcounts={"data-scientist": 5, "ml-engineer": 2})]
        for n in range(3):
            db.add(MLModel(team_id=teams[n % 2].id, name=f"model {n}"))
        db.flush()
        self.admin = factories.make_user(db, role=Role.admin)
        for n in range(6):
            self._write(n)
        derived.rebuild_all(db)  # the window of the frozen day, as `northstar migrate` builds it
        db.commit()

    @rule(choice=st.integers(0, 10_000))
    def write_and_commit(self, choice: int) -> None:
        self._write(choice)
        self.db.commit()

    @rule(choice=st.integers(0, 10_000))
    def write_and_read_uncommitted(self, choice: int) -> None:
        self._write(choice)  # the invariants then read this session's own writes

    @rule(choice=st.integers(0, 10_000), read_inside=st.booleans())
    def savepoint_rolled_back(self, choice: int, read_inside: bool) -> None:
        self._write(choice)  # flushed before the savepoint: must stay counted
        savepoint = self.db.begin_nested()
        self._write(choice + 1)
        if read_inside:
            self.check_cost()  # refreshes inside the savepoint
            self.check_velocity()
        savepoint.rollback()

    @rule(choice=st.integers(0, 10_000))
    def savepoint_released(self, choice: int) -> None:
        with self.db.begin_nested():
            self._write(choice)

    @rule(choice=st.integers(0, 10_000))
    def outer_rollback(self, choice: int) -> None:
        self._write(choice)
        self.check_cost()
        self.db.rollback()

    @rule(rows=st.integers(1, 6), bad=st.integers(0, 3), commit=st.booleans())
    def import_with_skipped_rows(self, rows: int, bad: int, commit: bool) -> None:
        self._import(rows, bad)  # uncommitted: later savepoints must not add its rows twice
        if commit:
            self.db.commit()

    def _import(self, rows: int, bad: int) -> None:
        teams = list(self.db.scalars(select(Team.slug).order_by(Team.id)))
        lines = ["team,persona,stage,title,hours_low,hours_likely,hours_high,observed_since"]
        for n in range(rows):
            lines.append(f"{teams[n % 2]},{PERSONAS[n % 2]},{STAGES[n % 2]},Imported {n},1,2,3,"
                         f"{(self.today - timedelta(days=30 * n)).isoformat()}")
        for n in range(bad):
            lines.append(f"{teams[0]},data-scientist,nowhere,Bad {n},1,2,3,")
        user = self.db.get(type(self.admin), self.admin.id)
        actor = Principal(user_id=user.id, email=user.email, role=user.role, name=user.name,
                          team_ids=frozenset())
        result = csv_io.import_pain_points(self.db, "\n".join(lines).encode(), actor=actor,
                                           today=self.today, skip_invalid=True)
        assert (result.imported, len(result.errors)) == (rows, bad)

    @rule(rows=st.integers(1, 4))
    def import_in_a_savepoint_rolled_back(self, rows: int) -> None:
        """The totals the import added are read inside the savepoint, which then rolls back."""
        savepoint = self.db.begin_nested()
        self._import(rows, 1)
        self.check_cost()
        savepoint.rollback()

    @rule(weeks=st.sampled_from([D("44"), D("46"), D("47.5")]),
          month=st.sampled_from([1, 4, 7]), maintain=st.booleans())
    def change_settings(self, weeks: D, month: int, maintain: bool) -> None:
        org = self.db.get(OrgSettings, 1)
        org.working_weeks_per_year, org.fiscal_year_start_month = weeks, month
        self.db.commit()
        if maintain:
            derived.maintain_all(self.db)
            self.db.commit()

    @rule(days=st.integers(20, 120), maintain=st.booleans())
    def time_passes(self, days: int, maintain: bool) -> None:
        self.today += timedelta(days=days)
        if maintain:
            derived.maintain_all(self.db)
            self.db.commit()

    # --- what must hold -----------------------------------------------------------------------

    @invariant()
    def check_cost(self) -> None:
        db = self.db
        org = db.get(OrgSettings, 1)
        weeks, month = org.working_weeks_per_year, org.fiscal_year_start_month
        current = quarter_of(self.today, month)
        state = db.scalar(select(CostSummaryState))
        built_for_now = state is not None and state.working_weeks_per_year == weeks
        quarters = [current, current.next(), current.previous(), current.previous().previous()]
        for quarter in quarters:
            period = dict(first=quarter.first_day, last=quarter.last_day, weeks=weeks,
                          group_by=GroupBy.team)
            stored = summary.cost_figures(db, PainPointFilters(), **period)
            # Stored: the same weeks, and the period is one of the stored quarters (a change
            # of the fiscal year's start may keep the same quarters: 1 → 4 → 7).
            covered = built_for_now and (
                state.first_day <= quarter.first_day <= state.last_day
                and quarter_of(quarter.first_day, state.fiscal_year_start_month).first_day
                == quarter.first_day)
            assert (stored is not None) == covered, (quarter, state)
            if stored is None:
                continue
            live = queries.live_cost_figures(db, PainPointFilters(), **period)
            assert [r.key for r in stored] == [r.key for r in live]
            for s, lv in zip(stored, live, strict=True):
                assert (s.pain_points, s.active_pain_points) == (lv.pain_points,
                                                                 lv.active_pain_points)
                for name in ("cost", "cost_low", "cost_high", "annual_run_rate",
                             "hours_per_week"):
                    assert close(getattr(s, name), getattr(lv, name), self.backend), (name, s, lv)
        if built_for_now:
            stored_ids = set(db.scalars(select(RunRateRank.pain_point_id)))
            live_ids = set(db.scalars(select(PainPoint.id).where(
                PainPoint.deleted_at.is_(None), PainPoint.kind == "recurring")))
            assert stored_ids == live_ids

    @invariant()
    def check_velocity(self) -> None:
        db = self.db
        derived.fresh(db, milestones.MILESTONES.name)
        derived.fresh(db, milestones.DEPLOYMENT_MONTHS.name)
        columns = [ModelMilestone.__table__.c[c.name] for c in ModelMilestone.__table__.c]
        stored = set(db.execute(select(*columns)).all())
        live = set(db.execute(milestones.milestone_rows()).all())
        assert stored == live
        stored_months = set(db.execute(select(
            DeploymentMonth.team_id, DeploymentMonth.month, DeploymentMonth.deployments,
            DeploymentMonth.rollbacks)).all())
        assert stored_months == set(db.execute(milestones.month_rows()).all())

    @invariant()
    def check_production_periods(self) -> None:
        db = self.db
        derived.fresh(db, production.PERIODS.name)
        stored = set(db.execute(select(ProductionPeriod.model_id, ProductionPeriod.start_day,
                                       ProductionPeriod.end_day)).all())
        assert stored == set(db.execute(production.period_rows()).all())


def test_every_stored_read_equals_the_live_query(connection, monkeypatch):
    machine_today: list = []

    class Machine(DerivedTables):
        def __init__(self) -> None:
            super().__init__()
            machine_today[:] = [self]

    Machine.connection = connection
    monkeypatch.setattr(clock, "today", lambda: machine_today[0].today)
    run_state_machine_as_test(Machine, settings=settings(
        max_examples=int(os.environ.get("NORTHSTAR_STATEFUL_EXAMPLES", "10")),
        stateful_step_count=25, deadline=None,
        suppress_health_check=list(HealthCheck)))
