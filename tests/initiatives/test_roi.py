"""Expected and realized savings, ROI and payback on hand-worked examples."""

from datetime import date
from decimal import Decimal as D

from app.initiatives.models import Initiative, InitiativeLink
from app.initiatives.queries import savings
from app.initiatives.roi import cost_over, payback_months, roi
from tests import factories
from tests.helpers import cents

WEEKS = D(46)


def test_roi_and_payback_formulas():
    assert cost_over(D(100000), D(20000), 3) == D(160000)
    assert roi(D(126040), D(100000), D(20000), 1) == D(6040) / D(120000)
    assert roi(D(126040), D(100000), D(20000), 3) == (D(378120) - D(160000)) / D(160000)
    assert payback_months(D(126040), D(100000), D(20000)) == D(100000) / D(106040) * 12


def test_payback_is_never_when_savings_do_not_exceed_the_run_cost():
    assert payback_months(D(20000), D(100000), D(20000)) is None
    assert payback_months(D(1000), D(0), D(5000)) is None


def test_an_initiative_that_costs_nothing_has_no_roi():
    assert roi(D(1000), D(0), D(0), 2) is None


def test_expected_and_realized_savings(db):
    team = factories.make_team(db, headcounts={"data-scientist": (10, D("120"))})
    ml = factories.persona(db, "ml-engineer")
    open_pp = factories.make_pain_point(db, team)  # run-rate 119,600 (low 55,200, high 220,800)
    after = factories.make_pain_point(db, team, persona_id=ml.id, hours_low=D(2), hours_likely=D(2),
                                      hours_high=D(2), people_affected=5, status="resolved",
                                      resolved_on=date(2026, 3, 2))  # 55,200
    before = factories.make_pain_point(db, team, hours_low=D(1), hours_likely=D(1), hours_high=D(1),
                                       people_affected=5, status="resolved",
                                       resolved_on=date(2026, 2, 2))  # 27,600, before delivery
    zero = factories.make_pain_point(db, team, hours_likely=D(3))  # linked with 0 %
    initiative = Initiative(title="Python SDK over managed Spark", one_time_cost=D(100000),
                            yearly_run_cost=D(20000), started_on=date(2025, 9, 1),
                            delivered_on=date(2026, 3, 1), status="delivered")
    db.add(initiative)
    db.flush()
    db.add_all([
        InitiativeLink(initiative_id=initiative.id, pain_point_id=open_pp.id,
                       expected_reduction=D(50)),
        InitiativeLink(initiative_id=initiative.id, pain_point_id=after.id,
                       expected_reduction=D(100)),
        InitiativeLink(initiative_id=initiative.id, pain_point_id=before.id,
                       expected_reduction=D(40)),
        InitiativeLink(initiative_id=initiative.id, pain_point_id=zero.id,
                       expected_reduction=D(0)),
    ])
    db.flush()
    result = savings(db, [initiative.id], weeks=WEEKS, first=date(2026, 1, 1),
                     last=date(2026, 12, 31))[initiative.id]
    # 119,600 × 50 % + 55,200 × 100 % + 27,600 × 40 % + anything × 0 %
    assert cents(result.expected) == D("126040.00")
    assert cents(result.expected_low) == D("27600.00") + D("55200.00") + D("11040.00")
    # Only the pain point resolved after delivery realizes savings: 55,200 × 219 / 261
    # (weekdays from Monday 2 March to the end of 2026, out of 261).
    assert cents(result.realized) == cents(D(55200) * 219 / 261) == D("46317.24")
    assert result.linked == 4


def test_an_undelivered_initiative_realizes_nothing(db):
    team = factories.make_team(db, headcounts={"data-scientist": 10})
    pp = factories.make_pain_point(db, team, status="resolved", resolved_on=date(2026, 3, 2))
    initiative = Initiative(title="Proposed", status="proposed")
    db.add(initiative)
    db.flush()
    db.add(InitiativeLink(initiative_id=initiative.id, pain_point_id=pp.id,
                          expected_reduction=D(100)))
    db.flush()
    result = savings(db, [initiative.id], weeks=WEEKS, first=date(2026, 1, 1),
                     last=date(2026, 12, 31))[initiative.id]
    assert result.realized == 0 and result.expected > 0
