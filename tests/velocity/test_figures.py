"""The velocity figure builders: pure dicts, checked by plotly.graph_objects.Figure."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal as D

import plotly.graph_objects as go

from app.ml_models.models import EventSource, EventType
from app.velocity import figures


@dataclass
class Event:
    type: EventType
    occurred_at: datetime
    version: str | None = None
    source: EventSource = EventSource.manual


@dataclass
class Spend:
    month: date
    amount: D
    gpu_hours: D


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


EVENTS = [
    # Out of order on purpose: pipelines post late.
    Event(EventType.deployed, at("2026-03-01T12:00"), "1", EventSource.api),
    Event(EventType.ideated, at("2026-01-05T09:30")),
    Event(EventType.rolled_back, at("2026-03-04T08:00"), "2", EventSource.mlflow),
    Event(EventType.registered, at("2026-02-20T10:00"), "1", EventSource.mlflow),
    Event(EventType.deployed, at("2026-03-05T16:45"), "2", EventSource.api),
]


def test_timeline_has_a_trace_per_event_type_in_lifecycle_order():
    fig = figures.lifecycle_timeline(EVENTS)
    go.Figure(fig)  # raises on a misspelt property
    assert [t["name"] for t in fig["data"]] == ["Ideated", "Registered", "Deployed", "Rolled back"]
    deployed = fig["data"][2]
    assert deployed["type"] == "scatter" and deployed["mode"] == "markers"
    assert deployed["x"] == ["2026-03-01 12:00:00", "2026-03-05 16:45:00"]
    assert deployed["y"] == ["Deployed", "Deployed"]


def test_timeline_y_axis_lists_every_type_in_lifecycle_order_ideated_on_top():
    yaxis = figures.lifecycle_timeline(EVENTS)["layout"]["yaxis"]
    assert yaxis["categoryarray"] == [
        "Ideated", "Data ready", "Experiment started", "Validated", "Registered", "Deployed",
        "Rolled back", "Retired"]
    assert yaxis["range"] == [7.5, -0.5]  # reversed: the first milestone at the top


def test_timeline_hover_names_when_version_and_source():
    fig = figures.lifecycle_timeline(EVENTS)
    rolled_back = fig["data"][3]
    assert rolled_back["text"] == [
        "Rolled back<br>2026-03-04 08:00 UTC<br>version 2<br>source: mlflow"]
    assert rolled_back["hovertemplate"] == "%{text}<extra></extra>"
    ideated = fig["data"][0]
    assert ideated["text"] == ["Ideated<br>2026-01-05 09:30 UTC<br>source: manual"]


def test_hover_text_uses_no_styling_tags():
    """Plotly draws <b>, <i>, <span style> with style attributes, which the CSP refuses."""
    for trace in figures.lifecycle_timeline(EVENTS)["data"]:
        for text in trace["text"]:
            assert "<b>" not in text and "<i>" not in text and "style" not in text


def test_timeline_hover_escapes_what_people_typed():
    fig = figures.lifecycle_timeline(
        [Event(EventType.deployed, at("2026-03-01T12:00"), '<a href="javascript:x">v</a>')])
    assert "<a" not in fig["data"][0]["text"][0]
    assert "&lt;a href=&quot;javascript:x&quot;&gt;v&lt;/a&gt;" in fig["data"][0]["text"][0]


def test_empty_timeline_says_so():
    fig = figures.lifecycle_timeline([])
    go.Figure(fig)
    assert fig["data"] == []
    assert fig["layout"]["annotations"][0]["text"] == "No lifecycle events yet"


def test_compute_cost_bars():
    rows = [Spend(date(2026, 1, 1), D("1200.50"), D(80)),
            Spend(date(2026, 3, 1), D("99.99"), D(0))]
    fig = figures.compute_cost_bars(rows, "EUR")
    go.Figure(fig)
    (bar,) = fig["data"]
    assert bar["type"] == "bar"
    assert bar["x"] == ["2026-01-01", "2026-03-01"]
    assert bar["y"] == [1200.5, 99.99]
    assert bar["customdata"] == [80.0, 0.0]
    assert "EUR" in bar["hovertemplate"] and "GPU hours" in bar["hovertemplate"]
    assert fig["layout"]["yaxis"]["title"]["text"] == "Compute cost (EUR)"


def test_empty_compute_cost_says_so():
    fig = figures.compute_cost_bars([], "USD")
    go.Figure(fig)
    assert fig["data"] == [] and fig["layout"]["annotations"][0]["text"] == (
        "No compute cost recorded")


def test_compute_cost_bars_show_at_least_six_months():
    one = figures.compute_cost_bars([Spend(date(2026, 11, 1), D(10), D(1))], "USD")
    assert one["layout"]["xaxis"]["range"] == ["2026-06-01", "2026-12-01"]
    many = figures.compute_cost_bars([Spend(date(2025, 2, 1), D(1), D(0)),
                                      Spend(date(2026, 1, 1), D(1), D(0))], "USD")
    assert many["layout"]["xaxis"]["range"] == ["2025-02-01", "2026-02-01"]
