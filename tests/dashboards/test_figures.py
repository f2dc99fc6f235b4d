"""The dashboards' figure builders and number formats: pure functions, tested without a
browser; every figure is fed once to plotly.graph_objects to catch misspelt properties."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal as D

import plotly.graph_objects as go
import pytest

from app.core.periods import Quarter
from app.core import charts, money
from app.core.money import money_range, money_short
from app.dashboards.tiles import build_tiles, change
from app.pain_points import figures as cost_figures
from app.velocity import figures as velocity_figures


def valid(fig: dict) -> dict:
    go.Figure(fig)  # raises on a property plotly does not know
    return fig


# --- numbers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [
    (D("1234567"), "$1.2M"), (D("950000"), "$950K"), (D("999960"), "$1.0M"),
    (D("12345"), "$12.3K"), (D("840.49"), "$840"), (D("0"), "$0"), (D("-1500"), "−$1.5K"),
    (D("2500000000"), "$2.5B"), (D("125000"), "$125K"), (D("999.6"), "$1.0K"),
])
def test_money_short(value, text):
    assert money_short(value) == text


def test_money_short_other_currencies_and_nothing():
    assert money_short(D("1200000"), "EUR") == "€1.2M"
    assert money_short(D("1200000"), "CHF") == "1.2M CHF"
    assert money_short(None) == "—"


def test_money_range_writes_the_range_in_the_unit_of_the_figure():
    assert money_range(D("1200000"), D("900000"), D("1600000")) == "$1.2M ($0.9M–$1.6M)"
    assert money_range(D("950000"), D("700000"), D("1600000")) == "$950K ($700K–$1,600K)"
    # No spread, no range.
    assert money_range(D("500"), D("500"), D("500")) == "$500"
    assert money_range(None, None, None) == "—"


def test_number_percent_days_plain():
    assert money.number(D("12345.678"), 1) == "12,345.7"
    assert money.percent(D("0.125")) == "12.5%"
    assert money.percent(None) == "—"
    assert money.days(D("41.25")) == "41.2 days"  # half-even
    assert money.plain(D("1E+5")) == "100000"
    assert money.plain(None) == ""


def test_change_in_percent_coloured_by_which_way_is_good():
    up = change(D("110"), D("100"), mode="percent", better="down", previous_label="2026-Q3")
    assert (up.arrow, up.text, up.tone) == ("▲", "+10.0%", "bad")
    assert up.words == "up 10.0% on 2026-Q3, worse"
    down = change(D("90"), D("100"), mode="percent", better="down")
    assert (down.arrow, down.text, down.tone) == ("▼", "−10.0%", "good")
    neutral = change(D("90"), D("100"), mode="percent", better=None)
    assert neutral.tone == "neutral" and neutral.words.endswith("quarter")


def test_change_in_points_and_plain_difference():
    rate = change(D("0.30"), D("0.25"), mode="points", better="up")
    assert (rate.text, rate.tone) == ("+5.0 pts", "good")
    level = change(D("1.2"), D("1.45"), mode="delta", better="up")
    assert (level.arrow, level.text, level.tone) == ("▼", "−0.25", "bad")


def test_change_with_nothing_to_compare():
    assert change(D("5"), D("0"), mode="percent", better="up").text == "new"
    assert change(D("5"), None, mode="percent", better="up").text == "—"
    assert change(None, D("5"), mode="percent", better="up").tone == "neutral"
    same = change(D("5"), D("5.00"), mode="percent", better="up")
    assert (same.arrow, same.text, same.tone) == ("", "no change", "neutral")


def test_wrap_cuts_long_labels_and_escapes_them():
    assert charts.wrap("Data acquisition & exploration", 16) == (
        "Data acquisition<br>&amp; exploration")
    assert charts.wrap("one two three four five six seven", 8, 2) == "one two<br>three…"
    assert charts.wrap("Notebook-to-production rewrite", 14, 2) == (
        "Notebook-to-p…<br>rewrite")
    assert charts.wrap("<script>") == "&lt;script&gt;"


# --- cost -------------------------------------------------------------------------------------

@dataclass
class Group:
    key: str
    label: str
    annual_run_rate: D
    annual_run_rate_low: D
    annual_run_rate_high: D


def test_cost_bars_with_ranges_and_drill_down_links():
    rows = [Group("data-prep", "Data preparation", D("300"), D("200"), D("500")),
            Group("serving", "Serving", D("0"), D("0"), D("0")),
            Group("deployment", "Deployment <b>", D("100"), D("50"), D("150"))]
    fig = valid(cost_figures.cost_bars(rows, "USD", link=lambda slug: f"/pain-points?stage={slug}"))
    [bar] = fig["data"]
    # A stage that costs nothing gets no bar; the order is kept (lifecycle order).
    assert bar["y"] == ["Data preparation", "Deployment &lt;b&gt;"]
    assert bar["x"] == [300.0, 100.0]
    assert bar["error_x"]["array"] == [200.0, 50.0]
    assert bar["error_x"]["arrayminus"] == [100.0, 50.0]
    assert bar["customdata"] == ["/pain-points?stage=data-prep", "/pain-points?stage=deployment"]
    assert "$300 ($200–$500) a year" in bar["hovertext"][0]
    assert fig["layout"]["xaxis"]["tickprefix"] == "$"


def test_cost_bars_sorted_by_cost_and_empty():
    rows = [Group("a", "A", D("1"), D("1"), D("1")), Group("b", "B", D("5"), D("4"), D("6"))]
    fig = cost_figures.cost_bars(rows, "USD", link=str, sort_by_cost=True)
    assert fig["data"][0]["y"] == ["B", "A"]
    empty = cost_figures.cost_bars([Group("a", "A", D(0), D(0), D(0))], "USD", link=str)
    assert charts.is_empty(empty)
    valid(empty)


@dataclass
class Ranked:
    id: int
    title: str
    annual_run_rate: D
    annual_run_rate_low: D
    annual_run_rate_high: D


def test_pareto_cumulative_share_of_the_whole_run_rate():
    top = [Ranked(7, "Slow backtests", D("600"), D("400"), D("900")),
           Ranked(3, "No registry", D("300"), D("200"), D("400"))]
    rows = cost_figures.pareto_rows(top, total=D("1200"))
    assert [r.rank for r in rows] == [1, 2]
    assert [r.cumulative_share for r in rows] == [D("0.5"), D("0.75")]
    fig = valid(cost_figures.pareto(rows, "USD", link=lambda i: f"/pain-points/{i}"))
    bars, line = fig["data"]
    assert bars["customdata"] == ["/pain-points/7", "/pain-points/3"]
    assert bars["error_y"]["array"] == [300.0, 100.0]
    assert line["yaxis"] == "y2" and line["y"] == [50.0, 75.0]
    assert fig["layout"]["yaxis2"]["overlaying"] == "y"
    assert cost_figures.pareto_rows(top, total=D(0))[0].cumulative_share is None
    assert charts.is_empty(cost_figures.pareto([], "USD", link=str))


@dataclass
class GridCell:
    row_key: str
    column_key: str
    annual_run_rate: D
    annual_run_rate_low: D
    annual_run_rate_high: D
    pain_points: int


def test_journey_heatmap_stage_rows_persona_columns_with_links():
    personas = [("ds", "Data scientist"), ("mle", "ML engineer")]
    stages = [("prep", "Data preparation"), ("deploy", "Deployment")]
    cells = [GridCell("ds", "prep", D("120000"), D("90000"), D("160000"), 2),
             GridCell("mle", "deploy", D("5000"), D("4000"), D("7000"), 1)]
    fig = valid(cost_figures.journey_heatmap(
        cells, personas, stages, "USD", link=lambda p, s: f"/pain-points?persona={p}&stage={s}"))
    [heat] = fig["data"]
    assert heat["z"] == [[120000.0, None], [None, 5000.0]]
    assert heat["text"] == [["$120K", ""], ["", "$5.0K"]]
    assert heat["customdata"] == [["/pain-points?persona=ds&stage=prep", ""],
                                  ["", "/pain-points?persona=mle&stage=deploy"]]
    assert "2 pain points" in heat["hovertext"][0][0]
    assert charts.is_empty(cost_figures.journey_heatmap([], personas, stages, "USD", link=str))


@dataclass
class Split:
    unresolved: D
    resolved: D
    cost_low: D
    cost_high: D


def test_cost_trend_stacks_unresolved_and_resolved():
    rows = [("2026-Q1", Split(D("100"), D("0"), D("80"), D("130"))),
            ("2026-Q2", Split(D("60"), D("40"), D("70"), D("140")))]
    fig = valid(cost_figures.cost_trend(rows, "USD"))
    unresolved, resolved = fig["data"]
    assert fig["layout"]["barmode"] == "stack"
    assert unresolved["x"] == ["2026-Q1", "2026-Q2"] and unresolved["y"] == [100.0, 60.0]
    assert resolved["y"] == [0.0, 40.0]
    assert "Quarter total: $100 ($70–$140)" in resolved["hovertext"][1]
    assert charts.is_empty(cost_figures.cost_trend([("2026-Q1", Split(D(0), D(0), D(0), D(0)))],
                                               "USD"))


# --- velocity ---------------------------------------------------------------------------------

@dataclass
class Dist:
    median: D | None
    p90: D | None
    count: int


def test_lead_time_trend_median_and_p90_with_gaps():
    rows = [("2025-Q4", Dist(None, None, 0)), ("2026-Q1", Dist(D("40"), D("90"), 3)),
            ("2026-Q2", Dist(None, None, 0)), ("2026-Q3", Dist(D("30"), D("50"), 2))]
    fig = valid(velocity_figures.lead_time_trend(rows))
    median, p90 = fig["data"]
    # The axis starts at the first quarter with a deployment; a later gap stays a gap.
    assert median["x"] == ["2026-Q1", "2026-Q2", "2026-Q3"]
    assert median["y"] == [40.0, None, 30.0] and p90["y"] == [90.0, None, 50.0]
    assert median["customdata"] == ["3 models", "0 models", "2 models"]
    assert charts.is_empty(velocity_figures.lead_time_trend([("2026-Q1", Dist(None, None, 0))]))


@dataclass
class Dwell:
    from_milestone: str
    to_milestone: str
    median: D | None
    count: int


def test_stage_dwell_bars_skip_steps_not_measured():
    rows = [Dwell("ideated", "data_ready", D("10"), 4), Dwell("data_ready", "experiment_started",
                                                               None, 0)]
    fig = valid(velocity_figures.stage_dwell_bars(rows))
    [bar] = fig["data"]
    assert bar["y"] == ["Ideated → Data ready"] and bar["x"] == [10.0]
    assert fig["layout"]["xaxis"]["range"][1] > 10  # room for the label outside the bar


@dataclass
class Month:
    month: date
    deployments: int
    rollbacks: int
    change_failure_rate: D | None


def test_deployments_by_month_bars_and_failure_rate_line():
    rows = [Month(date(2026, 1, 1), 4, 1, D("0.25")), Month(date(2026, 2, 1), 0, 0, None)]
    fig = valid(velocity_figures.deployments_by_month(
        rows, link=lambda month: f"/models?deployed_in={month:%Y-%m}"))
    bars, line = fig["data"]
    assert bars["x"] == ["Jan 2026", "Feb 2026"] and bars["y"] == [4, 0]
    # Each bar opens the models deployed in its own month.
    assert bars["customdata"] == ["/models?deployed_in=2026-01", "/models?deployed_in=2026-02"]
    assert line["yaxis"] == "y2" and line["y"] == [0.25, None]


@dataclass
class Funnel:
    quarter: Quarter
    reached: dict = field(default_factory=dict)


def test_funnel_bars_one_trace_per_milestone():
    milestones = ("ideated", "validated", "deployed")
    cohorts = [Funnel(Quarter(2026, 1), {"ideated": 10, "validated": 6, "deployed": 3}),
               Funnel(Quarter(2026, 2), {"ideated": 0, "validated": 0, "deployed": 0})]
    fig = valid(velocity_figures.funnel_bars(cohorts, milestones,
                                    link=lambda q, m: f"/models?cohort={q}&reached={m}"))
    assert [t["name"] for t in fig["data"]] == ["Ideated", "Validated", "Deployed"]
    # Each bar opens the models of its own cohort that reached its own milestone.
    assert fig["data"][1]["customdata"] == ["/models?cohort=2026-Q1&reached=validated",
                                            "/models?cohort=2026-Q2&reached=validated"]
    assert fig["data"][2]["y"] == [3, 0]
    assert fig["data"][2]["hovertext"][0] == "3 of 10 reached deployed"
    assert fig["layout"]["barmode"] == "group"
    assert charts.is_empty(velocity_figures.funnel_bars(cohorts[1:], milestones,
                                                        link=lambda q, m: ""))


@dataclass
class Spend:
    month: date
    llm: D
    other: D


def test_spend_by_month_fills_every_month_of_the_period():
    rows = [Spend(date(2026, 2, 1), D("1200"), D("300"))]
    fig = valid(velocity_figures.spend_by_month(rows, "USD", date(2026, 1, 1), date(2026, 3, 31),
                                       link="/models?kind=llm"))
    llm, other = fig["data"]
    assert llm["x"] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    assert llm["y"] == [0.0, 1200.0, 0.0] and other["y"] == [0.0, 300.0, 0.0]
    assert "customdata" not in other  # only the LLM bars drill down
    assert charts.is_empty(velocity_figures.spend_by_month([], "USD", date(2026, 1, 1),
                                                   date(2026, 3, 31), link="/models"))


# --- tiles ------------------------------------------------------------------------------------

@dataclass
class F:
    value: D | None
    low: D | None = None
    high: D | None = None
    n: int | None = None
    provisional: bool = False


def kpis(scale: int, *, provisional: bool = False):
    names = ["annual_cost", "hours_per_week", "fte", "quarter_cost", "lead_time_median",
             "lead_time_p90", "production_rate", "deployments", "change_failure_rate",
             "realized_savings", "llm_spend", "maturity"]
    values = {name: F(D(scale)) for name in names}
    values["annual_cost"] = F(D(1_000_000 * scale), D(800_000 * scale), D(1_500_000 * scale), 12)
    values["production_rate"] = F(D("0.5") * scale / 2, n=8, provisional=provisional)
    return type("Kpis", (), values)


def test_tiles_in_order_with_changes_ranges_and_samples():
    tiles = build_tiles(kpis(2, provisional=True), kpis(1), "USD", "2026-Q3")
    assert [t.metric for t in tiles] == [
        "annual-cost", "hours-per-week", "quarter-cost", "lead-time", "production-rate",
        "deployments", "change-failure-rate", "realized-savings", "llm-spend", "maturity"]
    cost = tiles[0]
    assert (cost.text, cost.range_text, cost.n_text) == ("$2.0M", "$1.6M–$3.0M",
                                                         "from 12 pain points")
    assert (cost.change.text, cost.change.tone, cost.kind) == ("+100.0%", "bad", "estimated")
    by_metric = {t.metric: t for t in tiles}
    assert by_metric["production-rate"].provisional
    assert by_metric["production-rate"].change.text == "+25.0 pts"
    # A cohort that may still ship gets no colour for its change.
    assert by_metric["production-rate"].change.tone == "neutral"
    assert by_metric["production-rate"].change.words.endswith("provisional")
    settled = {t.metric: t for t in build_tiles(kpis(2), kpis(1), "USD", "2026-Q3")}
    assert settled["production-rate"].change.tone == "good"
    assert by_metric["deployments"].change.tone == "good"
    assert by_metric["llm-spend"].change.tone == "neutral"
    assert by_metric["hours-per-week"].extra[0][0] == "fte"
    assert by_metric["lead-time"].extra[0][0] == "lead-time-p90"


def test_spend_by_month_has_no_grey_series_when_only_llm_models_spent():
    rows = [Spend(date(2026, 2, 1), D("1200"), D("0"))]
    fig = valid(velocity_figures.spend_by_month(rows, "USD", date(2026, 1, 1), date(2026, 3, 31),
                                       link="/models?kind=llm"))
    # The legend listed "Other compute" with no grey bar anywhere.
    assert [t["name"] for t in fig["data"]] == ["LLM spend"]
