"""Value delivered read off model_value_month (app/value/monthly.py) equals the live query for
every shape of period and filter, the rows follow every write they depend on, and months past
the horizon are live until `northstar maintain` rolls it forward."""

import random
from datetime import date
from decimal import Decimal as D
from unittest import mock

from sqlalchemy import func, select

from app.core import clock, derived
from app.value import formulas as f
from app.value import monthly, queries
from app.value.formulas import AnnualValue, Event, ModelFacts
from app.value.models import ModelValueMonth, ModelValueState
from app.value.queries import ValueFilters
from tests import factories
from tests.helpers import at, sums_agree
from tests.value.helpers import assert_months_agree, random_facts, store

DAILY = AnnualValue(D(3650), D(7300), D(10950))


def _live():
    """The value queries as they answer without the stored months."""
    return mock.patch.object(queries.monthly, "covers", lambda *_: False)


def _agree(stored: queries.ValueFigures, live: queries.ValueFigures, backend: str) -> None:
    for a, b in ((stored.value.low, live.value.low), (stored.value.expected,
                                                       live.value.expected),
                 (stored.value.high, live.value.high), (stored.measured, live.measured),
                 (stored.estimated, live.estimated), (stored.compute, live.compute)):
        assert sums_agree(a, b, backend), (stored, live)


def _portfolio(db, seed: int):
    rng = random.Random(seed)
    teams = [factories.make_team(db, name=f"Kept {seed} {n}", slug=f"kept-{seed}-{n}")
             for n in range(2)]
    for i in range(16):
        facts, ideated = random_facts(rng, f"m{i}", date(2025, 1, 1), 540)
        store(db, teams[i % 2], facts, ideated=ideated)
    return teams


def test_stored_months_give_the_live_figures_for_every_period_and_filter(db):
    backend = db.get_bind().dialect.name
    teams = _portfolio(db, 7)
    quarters = [(n, date(2025, 3 * n + 1, 1),
                 date(2025, 3 * n + 3, f.days_in_month(date(2025, 3 * n + 3, 1))))
                for n in range(4)]
    cutting = [(0, date(2025, 2, 10), date(2025, 11, 3)), (1, date(2026, 1, 15),
                                                           date(2026, 1, 20))]
    for scope in (ValueFilters(team_ids=frozenset(t.id for t in teams)),
                  ValueFilters(team_ids=frozenset({teams[0].id}))):
        for buckets in (quarters, cutting):
            stored = queries.value_by_bucket(db, scope, buckets)
            with _live():
                live = queries.value_by_bucket(db, scope, buckets)
            for key, _, _ in buckets:
                _agree(stored[key], live[key], backend)
        stored_rows, total, top = queries.ranked_models(
            db, scope, date(2025, 2, 10), date(2025, 11, 3), order="net", limit=5, top=3)
        with _live():
            live_rows, live_total, live_top = queries.ranked_models(
                db, scope, date(2025, 2, 10), date(2025, 11, 3), order="net", limit=5, top=3)
        assert total == live_total > 0
        assert [r.model_id for r in stored_rows] == [r.model_id for r in live_rows]
        assert [r.model_id for r in top] == [r.model_id for r in live_top]
        for s, lv in zip(stored_rows, live_rows, strict=True):
            _agree(s.figures, lv.figures, backend)
    # The stored rows answered: the portfolio's months are in model_value_month.
    assert db.scalar(select(func.count()).select_from(ModelValueMonth).where(
        ModelValueMonth.month < date(2026, 7, 1))) > 0
    assert_months_agree(db, backend)


def test_every_write_a_month_depends_on_refreshes_the_models_rows(db):
    backend = db.get_bind().dialect.name
    team = factories.make_team(db)
    model = store(db, team, ModelFacts("kept", DAILY, events=[
        Event("deployed", at("2025-01-10", 12)), Event("retired", at("2025-05-20"))]))
    other = store(db, team, ModelFacts("other", DAILY, events=[Event("deployed",
                                                                     at("2025-03-01"))]))
    assert_months_agree(db, backend)
    kpi = factories.make_kpi(db, model, value_per_unit=D("0.5"))
    observation = factories.make_kpi_observation(db, kpi, month=date(2025, 2, 1),
                                                 amount=D(900))
    cost = factories.make_compute_cost(db, model, month=date(2025, 7, 1), amount=D(120))
    db.flush()
    assert_months_agree(db, backend)

    def figures(month: date) -> tuple:
        derived.fresh(db, monthly.MONTHS.name)
        row = db.get(ModelValueMonth, (model.id, month))
        db.expire_all()
        return row and (row.value, row.measured, row.estimated, row.compute)

    assert figures(date(2025, 2, 1))[:3] == (D(450), D(450), D(0))
    observation.amount = D(1000)
    kpi.value_per_unit = D(2)
    db.flush()
    assert figures(date(2025, 2, 1))[0] == D(2000)
    cost.amount = D(130)
    db.flush()
    assert figures(date(2025, 7, 1))[3] == D(130)
    db.get(type(model), model.id).annual_value_likely = D(8000)
    db.flush()
    assert_months_agree(db, backend)
    factories.make_event(db, model, type="deployed", occurred_at=at("2025-09-01"))
    db.flush()
    assert figures(date(2025, 10, 1)) is not None  # in production again, up to the horizon
    assert_months_agree(db, backend)
    db.delete(db.get(type(kpi), kpi.id))
    db.delete(db.get(type(cost), cost.id))
    db.flush()
    assert figures(date(2025, 7, 1)) is None
    assert_months_agree(db, backend)
    db.delete(db.get(type(other), other.id))
    db.commit()
    assert_months_agree(db, backend)


def test_months_past_the_horizon_are_live_until_maintain_rolls_it(db, monkeypatch):
    backend = db.get_bind().dialect.name
    team = factories.make_team(db)
    scope = ValueFilters(team_ids=frozenset({team.id}))
    store(db, team, ModelFacts("forever", DAILY, events=[Event("deployed", at("2025-01-01"))]))
    monkeypatch.setattr(clock, "today", lambda: date(2026, 1, 15))
    derived.rebuild_all(db, monthly.MONTHS.name)
    horizon = db.scalar(select(ModelValueState.horizon))
    assert horizon == date(2027, 3, 1)
    later = (0, date(2027, 4, 1), date(2027, 6, 30))
    assert not monthly.covers(db, later[2])
    past = queries.value_by_bucket(db, scope, [later])[0]
    assert sums_agree(past.value.expected, D(7300) * 91 / 365, backend)  # live: 20 a day
    assert db.scalar(select(func.count()).select_from(ModelValueMonth).where(
        ModelValueMonth.month > horizon)) == 0

    monkeypatch.setattr(clock, "today", lambda: date(2026, 4, 2))
    assert "model_value_month" in derived.maintain_all(db)
    assert "model_value_month" not in derived.maintain_all(db)  # nothing more this month
    assert db.scalar(select(ModelValueState.horizon)) == date(2027, 6, 1)
    assert monthly.covers(db, later[2])
    stored = queries.value_by_bucket(db, scope, [later])[0]
    _agree(stored, past, backend)
    assert_months_agree(db, backend)
