"""Every derived table (app/core/derived.py) answers what the live query answers, whatever the
order of writes, savepoints, rollbacks, imports, setting changes and new quarters.

A Hypothesis state machine drives one session the way the app does (its commits are the
outermost transaction's; the test harness runs it inside a savepoint of the test's connection)
and after every step compares each stored read with the live query: the cost totals of the
covered quarters, the stored run-rates, the model milestones, the deployments per month, the
models' production periods and the initiatives' savings (with the ROI dashboard's ranking read
off them).
"""

import os
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from unittest import mock

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
from app.initiatives import queries as initiative_queries
from app.initiatives import roi
from app.initiatives import savings as initiative_savings
from app.initiatives.models import Initiative, InitiativeLink, InitiativeSavingState
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
from tests.helpers import sums_agree
from tests.value.helpers import assert_months_agree

START = date(2026, 11, 20)
PERSONAS = ("data-scientist", "ml-engineer")
STAGES = ("deployment", "monitoring")
EVENT_TYPES = [EventType.ideated, EventType.validated, EventType.deployed, EventType.rolled_back,
               EventType.deployed, EventType.retired]


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
        kind = choice % 11
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
        elif kind == 9:
            self._link(rng, pain_points)
        elif kind == 10:
            initiative = rng.choice(list(db.scalars(select(Initiative).order_by(Initiative.id))))
            what = rng.randint(0, 3)
            if what == 0:
                initiative.delivered_on = (None if initiative.delivered_on else
                                           self.today - timedelta(days=rng.randint(0, 400)))
                initiative.started_on = None
            elif what == 1:
                initiative.deleted_at = None if initiative.deleted_at else datetime.now(UTC)
            elif what == 2:
                initiative.one_time_cost = D(rng.choice([0, 5000, 20000]))
                initiative.yearly_run_cost = D(rng.choice([0, 1000]))
            else:
                initiative.team_id = rng.choice([None, *(t.id for t in teams)])
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

    def _link(self, rng: random.Random, pain_points: list[PainPoint]) -> None:
        """Adds, changes or removes a link of an initiative."""
        db = self.db
        initiative = rng.choice(list(db.scalars(select(Initiative).order_by(Initiative.id))))
        links = list(db.scalars(select(InitiativeLink).where(
            InitiativeLink.initiative_id == initiative.id)
            .order_by(InitiativeLink.pain_point_id)))
        linked = {link.pain_point_id for link in links}
        free = [p for p in pain_points if p.id not in linked]
        what = rng.randint(0, 2)
        if what == 0 and free:
            db.add(InitiativeLink(initiative_id=initiative.id, pain_point_id=rng.choice(free).id,
                                  expected_reduction=D(rng.randint(0, 100))))
        elif what == 1 and links:
            rng.choice(links).expected_reduction = D(rng.randint(0, 100))
        elif links:
            db.delete(rng.choice(links))

    # --- steps --------------------------------------------------------------------------------

    @initialize()
    def organisation(self) -> None:
        db = self.db
        teams = [factories.make_team(db, headcounts={"data-scientist": (8, D("130")),
                                                     "ml-engineer": 3}),
                 factories.make_team(db, headcounts={"data-scientist": 5, "ml-engineer": 2})]
        for n in range(3):
            db.add(MLModel(team_id=teams[n % 2].id, name=f"model {n}", annual_value_low=D(1000),
                           annual_value_likely=D(3001 + n), annual_value_high=D(9000)))
        db.flush()
        self.admin = factories.make_user(db, role=Role.admin)
        for n in range(6):
            self._write(n)
        db.add_all([Initiative(title=title, team_id=team, status="delivered",
                               one_time_cost=D(10000), yearly_run_cost=D(500),
                               delivered_on=self.today - timedelta(days=300))
                    for title, team in (("Org-wide", None), ("Red", teams[0].id),
                                        ("blue", teams[1].id))])
        db.flush()
        for n in range(6):
            self._link(random.Random(n), self._pain_points())
        db.flush()
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
            self.check_roi()
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
                    assert sums_agree(getattr(s, name), getattr(lv, name),
                                      self.backend), (name, s, lv)
        if built_for_now:
            stored_ids = set(db.scalars(select(RunRateRank.pain_point_id)))
            live_ids = set(db.scalars(select(PainPoint.id).where(
                PainPoint.deleted_at.is_(None), PainPoint.kind == "recurring")))
            assert stored_ids == live_ids

    @invariant()
    def check_roi(self) -> None:
        """Savings read off initiative_saving equal the live ones, for every team filter, and
        the ROI dashboard ranks the same way from either."""
        db = self.db
        weeks = db.get(OrgSettings, 1).working_weeks_per_year
        stored = initiative_savings.stored(db, weeks)
        built = db.scalar(select(InitiativeSavingState.working_weeks_per_year))
        assert stored == (built == weeks)
        if not stored:
            return
        ids = list(db.scalars(select(Initiative.id).order_by(Initiative.id)))
        teams = list(db.scalars(select(Team.id).order_by(Team.id)))
        period = dict(weeks=weeks, first=self.today - timedelta(days=500), last=self.today)
        for team_ids in (None, frozenset(teams[:1]), frozenset(teams[1:])):
            live = initiative_queries.live_savings(db, ids, team_ids=team_ids, **period)
            kept = initiative_queries.savings(db, ids, team_ids=team_ids, **period)
            assert kept.keys() == live.keys()
            for i in ids:
                s, lv = kept[i], live[i]
                assert s.linked == lv.linked, (i, s, lv)
                for name in ("expected", "expected_low", "expected_high", "realized"):
                    assert sums_agree(getattr(s, name), getattr(lv, name),
                                      self.backend), (name, s, lv)
            if team_ids is not None:
                # The ranking by team is proven page by page in test_savings_stored.py; here
                # the org-wide board follows every step (it took half of this test's time).
                continue
            filters = initiative_queries.InitiativeFilters(
                team_id=None if team_ids is None else min(team_ids))
            board = dict(filters=filters, team_ids=team_ids, weeks=weeks, horizon_years=2,
                         page=1, page_size=2, top=2, today=self.today)
            from_kept = initiative_queries.roi_board(db, **board)
            with mock.patch.object(initiative_queries, "_stored", lambda *_: False):
                from_live = initiative_queries.roi_board(db, **board)
            for rows in ("by_savings", "by_roi", "table"):
                assert ([r.initiative.id for r in getattr(from_kept, rows)]
                        == [r.initiative.id for r in getattr(from_live, rows)]), rows
            assert ((from_kept.total, from_kept.with_roi, from_kept.period)
                    == (from_live.total, from_live.with_roi, from_live.period))
            # The order roi.py's formula gives, sorted in Python (as the dashboard once did).
            rows, total = initiative_queries.list_initiatives(db, filters, with_links=False)
            expected = initiative_queries.expected_savings(
                db, [r.initiative.id for r in rows], weeks=weeks, team_ids=team_ids)
            rois = {r.initiative.id: roi.roi(expected[r.initiative.id], r.initiative.one_time_cost,
                                             r.initiative.yearly_run_cost, 2) for r in rows}
            by_savings = sorted(rows, key=lambda r: (-expected[r.initiative.id],
                                                     r.initiative.title, r.initiative.id))
            by_roi = sorted(rows, key=lambda r: (rois[r.initiative.id] is None,
                                                 -(rois[r.initiative.id] or 0),
                                                 r.initiative.title, r.initiative.id))
            assert from_kept.total == total
            assert ([r.initiative.id for r in from_kept.by_savings]
                    == [r.initiative.id for r in by_savings[:2]])
            assert ([r.initiative.id for r in from_kept.table]
                    == [r.initiative.id for r in by_roi[:2]])

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

    @invariant()
    def check_model_value_months(self) -> None:
        assert_months_agree(self.db, self.backend)  # one query each way


def test_every_stored_read_equals_the_live_query(connection, monkeypatch):
    machine_today: list = []

    class Machine(DerivedTables):
        def __init__(self) -> None:
            super().__init__()
            machine_today[:] = [self]

    Machine.connection = connection
    monkeypatch.setattr(clock, "today", lambda: machine_today[0].today)
    # Ten runs of 25 steps on PostgreSQL (production's backend, CI's first pass), five on
    # SQLite: the orders of writes searched are the same on both, and every run goes through
    # each backend's own statements (upserts, IN lists or arrays, locks); the second backend's
    # half budget saved ~25 s of the suite. NORTHSTAR_STATEFUL_EXAMPLES sets both, for a
    # longer search by hand.
    default = "10" if connection.dialect.name == "postgresql" else "5"
    run_state_machine_as_test(Machine, settings=settings(
        max_examples=int(os.environ.get("NORTHSTAR_STATEFUL_EXAMPLES", default)),
        stateful_step_count=25, deadline=None,
        suppress_health_check=list(HealthCheck)))
