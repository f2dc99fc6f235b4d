"""Request ids, JSON access logs and /metrics (Prometheus text format)."""

import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.web.observability import JsonFormatter, configure_logging, request_id_var
from tests import factories
from tests.api import bearer

LATENCY = "northstar_http_request_duration_seconds"


@pytest.fixture
def local(app) -> Iterator[TestClient]:
    """A client calling from the loopback address, as a scraper on the same machine."""
    with TestClient(app, client=("127.0.0.1", 50000), follow_redirects=False) as test_client:
        yield test_client


def samples(text: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def one(found: list, name: str, **labels: str):
    matching = [s for s in found if s.name == name and all(s.labels.get(k) == v
                                                           for k, v in labels.items())]
    assert len(matching) == 1, (name, labels, [s for s in found if s.name == name])
    return matching[0]


# --- request id -----------------------------------------------------------------------------


def test_every_response_carries_a_fresh_request_id(client):
    first, second = client.get("/healthz"), client.get("/login")
    for response in (first, second):
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_a_sane_incoming_request_id_is_echoed(client):
    for sane in ("abc", "trace-01.A_b", "x" * 64):
        assert client.get("/healthz", headers={"X-Request-ID": sane}).headers[
            "x-request-id"] == sane


@pytest.mark.parametrize("insane", ["x" * 65, "has space", "semi;colon", "ünï".encode(),
                                    "<script>", ""])
def test_an_insane_incoming_request_id_is_replaced(client, insane):
    returned = client.get("/healthz", headers={"X-Request-ID": insane}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", returned)


def test_refusals_and_missing_pages_carry_the_id_too(client):
    for path in ("/api/v1/pain-points", "/no/such/page", "/settings"):
        response = client.get(path, headers={"X-Request-ID": "probe-1"})
        assert response.status_code in (303, 401, 404)
        assert response.headers["x-request-id"] == "probe-1"


# --- JSON logs ------------------------------------------------------------------------------


def test_each_request_is_one_json_log_line_with_the_route_template(client, db, caplog):
    headers = bearer(db, "admin")
    team = factories.make_team(db)
    pain_point = factories.make_pain_point(db, team)
    db.commit()
    caplog.set_level(logging.INFO, logger="northstar.access")
    response = client.get(f"/api/v1/pain-points/{pain_point.id}",
                          headers=headers | {"X-Request-ID": "req-42"})
    assert response.status_code == 200
    records = [r for r in caplog.records if r.name == "northstar.access"]
    assert len(records) == 1
    line = JsonFormatter().format(records[0])
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["request_id"] == "req-42" == response.headers["x-request-id"]
    assert entry["level"] == "INFO" and entry["logger"] == "northstar.access"
    assert entry["method"] == "GET"
    assert entry["path"] == f"/api/v1/pain-points/{pain_point.id}"
    assert entry["route"] == "/api/v1/pain-points/{pain_point_id}"
    assert entry["status"] == 200
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    assert entry["client"] == "testclient"
    assert entry["timestamp"].endswith("+00:00")


def test_other_log_lines_of_a_request_carry_its_id():
    record = logging.LogRecord("northstar", logging.ERROR, __file__, 1, "boom %s", ("x",), None)
    token = request_id_var.set("req-7")
    try:
        entry = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert entry["request_id"] == "req-7" and entry["message"] == "boom x"


def test_json_logging_is_configured_only_where_nothing_else_is(monkeypatch):
    root, northstar = logging.getLogger(), logging.getLogger("northstar")
    monkeypatch.setattr(northstar, "handlers", [])
    monkeypatch.setattr(northstar, "level", northstar.level)
    # pytest's capture handlers sit on the root logger: leave them alone.
    assert root.handlers and configure_logging() is False
    assert northstar.handlers == []
    monkeypatch.setattr(root, "handlers", [])
    assert configure_logging() is True
    [handler] = northstar.handlers
    assert isinstance(handler.formatter, JsonFormatter)
    assert northstar.level == logging.INFO
    assert configure_logging() is False  # once


# --- /metrics -------------------------------------------------------------------------------


def test_metrics_show_latency_by_route_template_and_the_pool(local, db):
    headers = bearer(db, "admin")
    team = factories.make_team(db)
    first, second = factories.make_pain_point(db, team), factories.make_pain_point(db, team)
    db.commit()
    for pain_point in (first, second):
        assert local.get(f"/api/v1/pain-points/{pain_point.id}", headers=headers).status_code == 200
    assert local.get("/no/such/page/123").status_code == 404
    response = local.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    found = samples(response.text)

    count = one(found, f"{LATENCY}_count", route="/api/v1/pain-points/{pain_point_id}",
                method="GET", status="200")
    assert count.value == 2
    buckets = [s for s in found if s.name == f"{LATENCY}_bucket"
               and s.labels["route"] == "/api/v1/pain-points/{pain_point_id}"]
    assert buckets and one(buckets, f"{LATENCY}_bucket", le="+Inf").value == 2
    assert one(found, f"{LATENCY}_sum", route="/api/v1/pain-points/{pain_point_id}").value > 0
    assert one(found, f"{LATENCY}_count", route="<unmatched>", status="404").value == 1
    routes = {s.labels["route"] for s in found if s.name == f"{LATENCY}_count"}
    assert not any(re.search(r"/\d+", route) for route in routes), routes  # never a raw id

    pool = {s.name: s.value for s in found if s.name.startswith("northstar_db_pool_")}
    assert set(pool) == {"northstar_db_pool_size", "northstar_db_pool_checked_out",
                         "northstar_db_pool_checked_in", "northstar_db_pool_overflow"}
    assert pool["northstar_db_pool_size"] >= 1
    assert pool["northstar_db_pool_checked_out"] >= 1  # the test's own connection is out
    assert pool["northstar_db_pool_overflow"] >= 0


def test_a_page_route_is_labelled_by_its_template(local):
    local.get("/pain-points/31337")  # not signed in: a redirect, still that route
    found = samples(local.get("/metrics").text)
    one(found, f"{LATENCY}_count", route="/pain-points/{pain_point_id}", method="GET",
        status="303")


def test_without_a_token_metrics_are_for_loopback_clients_only(client, local):
    refused = client.get("/metrics")  # TestClient's default client address is not loopback
    assert refused.status_code == 403
    assert "NORTHSTAR_METRICS_TOKEN" in refused.text
    assert local.get("/metrics").status_code == 200


def test_with_a_token_metrics_need_it_from_everyone(app, client, local):
    app.state.settings.metrics_token = "scrape-secret-123"
    for caller in (client, local):
        assert caller.get("/metrics").status_code == 401
        wrong = caller.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert caller.get("/metrics", headers={"Authorization": "Basic scrape-secret-123"}
                          ).status_code == 401
        allowed = caller.get("/metrics", headers={"Authorization": "Bearer scrape-secret-123"})
        assert allowed.status_code == 200 and LATENCY in allowed.text
