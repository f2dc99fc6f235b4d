"""The maturity figure builders: pure dicts, each checked once by plotly.graph_objects.Figure."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal as D

import plotly.graph_objects as go
import pytest

from app.maturity import figures
from app.maturity.rubric import load_rubric
from app.velocity.queries import Distribution

RUBRIC = load_rubric()


@dataclass
class Row:
    team_name: str
    team_slug: str
    level: int | None
    score: D | None


@dataclass
class Lead:
    level: int | None
    teams: int
    lead_time: Distribution


@pytest.mark.parametrize("level,score,text", [
    (1, D("1.40"), "1.4 — between level 1 and 2"),
    (1, D("1.42"), "1.42 — between level 1 and 2"),
    (0, D("0.88"), "0.88 — between level 0 and 1"),
    (1, D("1.00"), "1.0 — level 1"),
    (2, D("2.00"), "2.0 — level 2, the top level"),
])
def test_score_label(level, score, text):
    assert figures.score_label(level, score, 2) == text


def test_level_bars_show_assessed_teams_with_their_level():
    fig = figures.level_score_bars([Row("Fraud", "fraud", 1, D("1.42")),
                                    Row("New <team>", "new", None, None),
                                    Row("Churn", "churn", 0, D("0.50"))], 2)
    go.Figure(fig)
    bar = fig["data"][0]
    assert bar["y"] == ["Fraud", "Churn"] and bar["x"] == [1.42, 0.5]
    assert bar["text"] == ["level 1 · 1.42", "level 0 · 0.5"]
    assert bar["customdata"] == ["fraud", "churn"]
    assert fig["layout"]["xaxis"]["ticktext"] == ["Level 0", "Level 1", "Level 2"]


def test_every_builder_has_an_empty_state():
    for fig in (figures.level_score_bars([Row("A", "a", None, None)], 2),
                figures.capability_heatmap([], RUBRIC.capabilities),
                figures.score_history_lines(["2026-Q1"], [("A", [None])], 2),
                figures.team_history_line([], 2),
                figures.lead_time_by_level_bars([Lead(1, 2, Distribution(None, None, 0))])):
        go.Figure(fig)
        assert fig["data"] == [] and fig["layout"]["annotations"][0]["text"]


def test_heatmap_colours_answers_and_labels_them():
    teams = [("Fraud & co", {"experiment_tracking": "yes", "data_validation": "partial"}),
             ("Churn", {c.key: "no" for c in RUBRIC.capabilities})]
    fig = figures.capability_heatmap(teams, RUBRIC.capabilities)
    go.Figure(fig)
    heat = fig["data"][0]
    assert heat["type"] == "heatmap" and heat["texttemplate"] == "%{text}"
    assert heat["x"] == ["Fraud &amp; co", "Churn"]  # Plotly reads labels as HTML
    keys = RUBRIC.keys()
    assert heat["y"][0] == f"L1 · {RUBRIC.capabilities[0].title}"
    assert heat["z"][keys.index("experiment_tracking")] == [1.0, 0.0]
    assert heat["z"][keys.index("data_validation")] == [0.5, 0.0]
    # A capability the older assessment did not answer: no colour, a dash.
    assert heat["z"][keys.index("model_registry")] == [None, 0.0]
    assert heat["text"][keys.index("model_registry")] == ["—", "no"]
    assert (heat["zmin"], heat["zmax"]) == (0, 1)


def test_score_history_has_a_line_per_team_with_gaps_before_the_first_assessment():
    fig = figures.score_history_lines(
        ["2026-Q1", "2026-Q2", "2026-Q3"],
        [("Fraud", [None, D("0.50"), D("1.42")]), ("Never", [None, None, None])], 2)
    go.Figure(fig)
    [line] = fig["data"]
    assert line["name"] == "Fraud" and line["y"] == [None, 0.5, 1.42]
    assert line["x"] == ["2026-Q1", "2026-Q2", "2026-Q3"]


def test_team_history_line():
    fig = figures.team_history_line([(date(2026, 1, 10), 0, D("0.50")),
                                     (date(2026, 6, 1), 1, D("1.42"))], 2)
    go.Figure(fig)
    line = fig["data"][0]
    assert line["x"] == ["2026-01-10", "2026-06-01"] and line["y"] == [0.5, 1.42]
    assert line["text"] == ["level 0 · 0.5", "level 1 · 1.42"]


def test_lead_time_by_level_bars_skip_levels_with_nothing_deployed():
    fig = figures.lead_time_by_level_bars([
        Lead(0, 2, Distribution(D("120.5"), D("150"), 4)),
        Lead(1, 1, Distribution(None, None, 0)),
        Lead(2, 1, Distribution(D("20"), D("36"), 1)),
        Lead(None, 1, Distribution(D("65"), D("65"), 1)),
    ])
    go.Figure(fig)
    bar = fig["data"][0]
    assert bar["x"] == ["Level 0", "Level 2", "Not assessed"]
    assert bar["y"] == [120.5, 20.0, 65.0]
    assert bar["text"] == ["120.5 d · 4 models", "20.0 d · 1 model", "65.0 d · 1 model"]
    assert "current" in fig["layout"]["xaxis"]["title"]["text"]
