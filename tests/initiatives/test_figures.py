"""The initiative figure builders: pure dicts, checked by plotly.graph_objects.Figure."""

from datetime import date
from decimal import Decimal as D

import plotly.graph_objects as go

from app.initiatives import figures
from app.pain_points import cost

BARS = [
    figures.SavingsBar(1, "Python SDK over managed Spark", D("126040"), D("93840"), D("187680"),
                       D("46317.24")),
    figures.SavingsBar(2, "Model registry & <one-click> rollback", D("50000"), D("40000"),
                       D("70000"), D("0")),
]


def test_expected_vs_realized_is_a_grouped_bar_with_the_range_as_error_bars():
    fig = figures.expected_vs_realized(BARS, "USD")
    go.Figure(fig)  # raises on a misspelt property
    expected, realized = fig["data"]
    assert fig["layout"]["barmode"] == "group"
    assert [t["name"] for t in fig["data"]] == ["Expected annual savings", "Realized to date"]
    assert expected["x"] == [126040.0, 50000.0] and realized["x"] == [46317.24, 0.0]
    assert expected["error_x"]["array"] == [187680 - 126040, 20000]
    assert expected["error_x"]["arrayminus"] == [126040 - 93840, 10000]
    # Bars are keyed by id (titles may repeat) and labelled by title, first row on top.
    assert expected["y"] == ["1", "2"]
    yaxis = fig["layout"]["yaxis"]
    assert yaxis["ticktext"][0] == "Python SDK over managed Spark"
    assert yaxis["autorange"] == "reversed"
    # Hover text is HTML to Plotly: titles are escaped.
    assert "&lt;one-click&gt;" in realized["customdata"][1]


def test_long_titles_are_shortened_on_the_axis_only():
    long = figures.SavingsBar(3, "A" * 60, D(1), D(1), D(1), D(0))
    fig = figures.expected_vs_realized([long], "EUR")
    assert fig["layout"]["yaxis"]["ticktext"] == ["A" * 37 + "…"]
    assert fig["data"][1]["customdata"] == ["A" * 60]
    assert fig["layout"]["xaxis"]["title"]["text"] == "Savings (EUR)"


def test_empty_figures_say_so():
    for fig in (figures.expected_vs_realized([], "USD"), figures.payback_curve([], "USD"),
                figures.roi_ranking([], 3), figures.realized_by_quarter([], "USD")):
        go.Figure(fig)
        assert fig["data"] == []
        assert fig["layout"]["annotations"][0]["text"]


def test_roi_ranking_puts_the_best_first_and_losses_in_another_colour():
    rows = [figures.RoiBar(1, "Loses", D("-0.2060")), figures.RoiBar(2, "Best", D("1.9958")),
            figures.RoiBar(3, "Middle", D("0.3097"))]
    fig = figures.roi_ranking(rows, 2)
    go.Figure(fig)
    bar = fig["data"][0]
    assert bar["orientation"] == "h"
    assert bar["y"] == ["2", "3", "1"]
    assert bar["x"] == [199.58, 30.97, -20.6]
    assert bar["marker"]["color"] == [figures.REALIZED, figures.REALIZED, figures.NEGATIVE]
    assert fig["layout"]["xaxis"]["title"]["text"] == "ROI over 2 years (%)"
    assert fig["layout"]["yaxis"]["ticktext"] == ["Best", "Middle", "Loses"]


def test_payback_points_accumulate_savings_and_cost():
    periods = [("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
               ("2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
               ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30))]
    started_before = figures.CurveInitiative(D(100000), D(20000), date(2025, 9, 1),
                                             date(2026, 3, 1), [D(0), D(10), D(20)])
    starts_in_q2 = figures.CurveInitiative(D(5000), D(0), date(2026, 5, 1), None,
                                           [D(0), D(0), D(1)])
    points = figures.payback_points(periods, [started_before, starts_in_q2])
    assert [p.label for p in points] == ["2026-Q1", "2026-Q2", "2026-Q3"]
    assert [p.realized for p in points] == [D(0), D(10), D(31)]

    def run_cost(first: date, last: date) -> D:
        # The yearly run cost accrues from the delivery (1 March), pro-rated by weekdays.
        return D(20000) * cost.period_share(cost.day_number(date(2026, 3, 1)), cost.OPEN_ENDED,
                                            cost.year_slices(first, last))

    assert points[0].cost == D(100000) + run_cost(date(2026, 1, 1), date(2026, 3, 31))
    assert points[1].cost == (points[0].cost + D(5000)
                              + run_cost(date(2026, 4, 1), date(2026, 6, 30)))
    assert points[2].cost == points[1].cost + run_cost(date(2026, 7, 1), date(2026, 9, 30))
    # A whole year of run cost is the yearly run cost: Q1 from 2 March (a Monday) is 22 days.
    assert run_cost(date(2026, 1, 1), date(2026, 3, 31)) == D(20000) * 22 / 261
    assert points[2].net == points[2].realized - points[2].cost


def test_payback_curve_draws_cost_and_savings_lines():
    points = [figures.CurvePoint("2026-Q1", date(2026, 3, 31), D(0), D(100000)),
              figures.CurvePoint("2026-Q2", date(2026, 6, 30), D(150000), D(105000))]
    fig = figures.payback_curve(points, "USD")
    go.Figure(fig)
    cost_line, savings_line = fig["data"]
    assert cost_line["name"] == "Cumulative cost" and cost_line["y"] == [100000.0, 105000.0]
    assert savings_line["name"] == "Cumulative realized savings"
    assert savings_line["y"] == [0.0, 150000.0]
    assert cost_line["x"] == ["2026-Q1", "2026-Q2"]
    assert cost_line["line"]["dash"] == "dash"  # not told apart by colour alone


def test_realized_by_quarter_marks_the_current_quarter():
    fig = figures.realized_by_quarter([figures.QuarterBar("2026-Q3", D("100.5")),
                                       figures.QuarterBar("2026-Q4", D("20"), partial=True)],
                                      "USD")
    go.Figure(fig)
    bar = fig["data"][0]
    assert bar["x"] == ["2026-Q3", "2026-Q4"] and bar["y"] == [100.5, 20.0]
    assert bar["customdata"] == ["", "to date"]
    assert bar["marker"]["color"][0] != bar["marker"]["color"][1]


def test_the_grouped_payback_curve_equals_counting_each_initiative_in_each_period():
    """payback_points groups run costs by delivery; the reference below is docs/product.md's
    definition, initiative by initiative, period by period."""
    import random
    from datetime import date, timedelta
    from decimal import Decimal

    from app.core.periods import Quarter, quarters_between
    from app.initiatives.figures import CurveInitiative, payback_points
    from app.pain_points import cost

    rng = random.Random(4)
    quarters = quarters_between(Quarter(2023, 3), Quarter(2026, 4))
    periods = [(q.label, q.first_day, q.last_day) for q in quarters]
    initiatives = []
    for _ in range(60):
        started = date(2023, 1, 1) + timedelta(days=rng.randint(0, 1500))
        delivered = started + timedelta(days=rng.randint(0, 400)) if rng.random() < .7 else None
        initiatives.append(CurveInitiative(
            Decimal(rng.randint(0, 90_000)), Decimal(rng.choice([0, 1200, 5000, 33333])),
            started if rng.random() < .9 else None, delivered,
            [Decimal(rng.randint(0, 999)) for _ in periods]))

    def reference() -> list[tuple[Decimal, Decimal]]:
        out, realized, spent = [], Decimal(0), Decimal(0)
        for n, (_, first, last) in enumerate(periods):
            slices = cost.year_slices(first, last)
            for i in initiatives:
                realized += i.realized[n]
                if i.started_on is not None and i.started_on <= last and (
                        n == 0 or i.started_on >= first):
                    spent += i.one_time_cost
                if i.delivered_on is not None and i.yearly_run_cost:
                    spent += i.yearly_run_cost * cost.period_share(
                        cost.day_number(i.delivered_on), cost.OPEN_ENDED, slices)
            out.append((realized, spent))
        return out

    places = Decimal("0.000001")
    got = [(p.realized, p.cost.quantize(places)) for p in payback_points(periods, initiatives)]
    assert got == [(r, c.quantize(places)) for r, c in reference()]
