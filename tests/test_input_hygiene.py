"""No 5xx from input: NUL, lone surrogates, control characters, huge integers and far dates
anywhere a request carries them — every API operation, every form, every page's path and query
parameters — answer 4xx naming the field, the same on PostgreSQL and SQLite; and an unhandled
error still answers like any other response.

Bounded for CI: each probe is one request per parameter or field and bad value.
"""

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import date
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from app.auth.models import ApiToken, User
from app.core.routes import iter_app_routes
from app.core.types import FreeText, text_problem
from app.demo.loader import load_demo
from app.imports.models import ImportJob, ImportKind, ImportStatus
from app.initiatives.models import Initiative
from app.maturity.models import MaturityAssessment
from app.ml_models.models import MLModel
from app.pain_points.models import PainPoint
from app.teams.models import Team
from tests import factories
from tests.api import bearer
from tests.helpers import csrf_from, login, soup_of

PROBLEM = "application/problem+json"
NUL = "a\x00b"
SURROGATE = "a\ud800b"
HUGE = str(2**31)  # one past the id columns' range
HUGER = str(10**20)  # past any 64-bit integer
FAR_DATES = ("9999-12-31", "0001-01-01", "99999-01-01")
# One request per page, parameter and value: a few values that each broke something before.
QUERY_VALUES = {"admin": (NUL, HUGE, HUGER, "9999-12-31", "²"),
                "viewer": (NUL, HUGER, "0001-01-01")}
PATH_VALUES = (HUGE, HUGER, "0", "-1", "²", "%00", "x" * 300)
# Names the pages read from their query strings, besides the ones each route declares and the
# ones its own forms and links send.
COMMON_QUERY = ("team", "quarter", "page")


def no_server_error(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"


# --- the text type ----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "multiline", "problem"), [
    ("plain — ümlaut ✓ 🚀", False, None),
    ("two\nlines\tand a tab\r\n", True, None),
    ("two\nlines", False, "must be a single line (no tab or line break)"),
    ("a\x00b", True, "must not contain the NUL character (U+0000)"),
    ("a\ud800b", True, "must not contain a lone surrogate (U+D800): not valid Unicode text"),
    ("a\udfffb", False, "must not contain a lone surrogate (U+DFFF): not valid Unicode text"),
    ("bell\x07", True, "must not contain the control character U+0007"),
    ("form feed\x0c", True, "must not contain the control character U+000C"),
    ("delete\x7f", True, "must not contain the control character U+007F"),
])
def test_the_text_type_says_what_the_database_cannot_store(value, multiline, problem):
    assert text_problem(value, multiline=multiline) == problem


def test_text_fields_refuse_it_with_422_naming_the_field_and_store_nothing(client, db):
    headers = bearer(db)
    before = db.scalar(select(func.count()).select_from(Team))
    for body, field in (({"name": "Fraud\x00", "slug": "fraud"}, "name"),
                        ({"name": "Fraud", "slug": "fraud", "description": "x\x0by"},
                         "description"),
                        ({"name": "Fraud\nDetection", "slug": "fraud"}, "name"),
                        ({"name": "Fraud", "slug": "fraud",
                          "headcounts": [{"persona": "data-scientist\x00", "headcount": 1}]},
                         "headcounts.0.persona")):
        response = client.post("/api/v1/teams", headers=headers, json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        assert [e["field"] for e in response.json()["errors"]] == [field]
    # Lone surrogates only travel as JSON escapes.
    response = client.post("/api/v1/teams", headers=headers | {"Content-Type": "application/json"},
                           content=b'{"name": "Fraud \\ud83d", "slug": "fraud"}')
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "name", "message": "must not contain a lone "
                                          "surrogate (U+D83D): not valid Unicode text"}]
    # Multi-line fields keep their line breaks.
    created = client.post("/api/v1/teams", headers=headers, json={
        "name": "Fraud", "slug": "fraud", "description": "line one\nline two\ttabbed"})
    assert created.status_code == 201, created.text
    assert created.json()["description"] == "line one\nline two\ttabbed"
    assert db.scalar(select(func.count()).select_from(Team)) == before + 1


def test_a_csv_import_names_the_row_and_field(client, db, as_role):
    team = factories.make_team(db, slug="fraud")
    as_role("pm", teams=[team])
    data = ("team,persona,stage,title,hours_low,hours_likely,hours_high\n"
            "fraud,data-scientist,deployment,Slow\x00 builds,1,2,3\n"
            "fraud,data-scientist,deployment,Fine,1\x00,2,3\n").encode()
    csrf = csrf_from(client.get("/pain-points/import").text)
    response = client.post("/pain-points/import", data={"csrf_token": csrf},
                           files={"file": ("p.csv", data, "text/csv")})
    assert response.status_code == 422, response.text
    table = soup_of(response).find("table", id="import-errors")
    cells = [[td.get_text(" ", strip=True) for td in tr.find_all("td")]
             for tr in table.find_all("tr") if tr.find("td")]
    assert [c[:2] for c in cells] == [["2", "title"], ["3", "hours_low"]], cells
    assert all("NUL" in c[2] for c in cells)
    assert db.scalar(select(func.count()).select_from(PainPoint)) == 0


# --- the edge: query strings, paths, headers, forms ---------------------------------------------


def test_the_examples_that_answered_500(client, db, as_role):
    """From the issue: each answered 500 (or reset the connection) on PostgreSQL."""
    viewer = bearer(db, "viewer")
    admin = bearer(db, "admin")
    team = factories.make_team(db, slug="fraud")
    pain_point = factories.make_pain_point(db, team)
    db.commit()
    response = client.get("/api/v1/pain-points?q=%00", headers=viewer)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "q", "message": "must not contain the NUL "
                                                                   "character (U+0000)"}]
    assert client.get("/api/v1/compute-costs?model=2147483648",
                      headers=viewer).status_code == 422
    assert client.get("/api/v1/teams/fr%00aud", headers=viewer).status_code == 404
    link = client.post("/api/v1/initiatives", headers=admin, json={
        "title": "Big link", "team": "fraud",
        "links": [{"pain_point": 2**40, "expected_reduction": "10"}]})
    assert link.status_code == 422
    assert link.json()["errors"][0]["field"] == "links.0.pain_point"
    assert db.scalar(select(func.count()).select_from(Initiative)) == 0
    assert pain_point.id  # the ledger is untouched

    page = client.get("/login")
    signed = client.post("/login", data={"email": "pm\x00@example.com", "password": "x",
                                         "csrf_token": csrf_from(page.text), "next": "/"})
    assert signed.status_code == 422
    assert "email" in soup_of(signed).get_text()

    as_role("admin")
    assert client.get("/settings/users/2147483648").status_code == 404
    csrf = csrf_from(client.get("/settings/users").text)
    assert client.post("/settings/users/2147483648", data={"csrf_token": csrf}).status_code == 404
    assert client.post("/settings/users/2147483648/password",
                       data={"csrf_token": csrf}).status_code == 404
    assert client.get("/pain-points/preview?team=2147483648").status_code < 500


def test_a_header_with_a_control_character_is_a_400(client, db):
    response = client.get("/api/v1/teams", headers=bearer(db) | {"If-Match": "a\x01b"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "if-match"


def test_a_pasted_control_character_in_a_form_highlights_the_field(client, db, as_role):
    team = factories.make_team(db, slug="fraud")
    pain_point = factories.make_pain_point(db, team, title="Slow builds")
    db.commit()
    as_role("pm", teams=[team])
    page = client.get(f"/pain-points/{pain_point.id}/edit")
    form = soup_of(page).find(
        "form", attrs={"action": f"/pain-points/{pain_point.id}"})
    response = client.post(form["action"], data=form_values(form) | {
        "title": "Slow\x0bbuilds", "description": "first line\nsecond line"})
    assert response.status_code == 422
    soup = soup_of(response)
    title = soup.find(attrs={"name": "title"})
    assert title.get("aria-invalid") == "true"
    assert "control character U+000B" in soup.get_text()
    assert soup.find(attrs={"name": "description"}).get("aria-invalid") != "true"
    db.refresh(pain_point)
    assert pain_point.title == "Slow builds"


def test_clearing_observed_since_on_the_edit_form_is_a_field_error(client, db, as_role):
    team = factories.make_team(db, slug="fraud")
    pain_point = factories.make_pain_point(db, team)
    db.commit()
    as_role("pm", teams=[team])
    page = client.get(f"/pain-points/{pain_point.id}/edit")
    form = soup_of(page).find(
        "form", attrs={"action": f"/pain-points/{pain_point.id}"})
    data = form_values(form) | {"observed_since": ""}
    response = client.post(form["action"], data=data)
    assert response.status_code == 422, response.text[:300]
    soup = soup_of(response)
    field = soup.find(attrs={"name": "observed_since"})
    assert field is not None and field.get("aria-invalid") == "true", field
    db.refresh(pain_point)
    assert pain_point.observed_since is not None


# --- every API operation ------------------------------------------------------------------------


def existing(db) -> dict[str, str]:
    """Path values that name real objects, so that a probe reaches the route's own code."""
    first = {name: db.scalar(select(model.id).order_by(model.id).limit(1)) for name, model in (
        ("pain_point_id", PainPoint), ("model_id", MLModel), ("initiative_id", Initiative),
        ("user_id", User), ("token_id", ApiToken), ("assessment_id", MaturityAssessment),
        ("job_id", ImportJob))}
    team = db.scalar(select(Team.slug).where(Team.is_archived.is_(False)).order_by(Team.id))
    return {k: str(v) for k, v in first.items()} | {"team": team, "slug": team}


def _body_fields(schema: dict, components: dict) -> dict:
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema.get("properties", {})


def test_every_api_operation_answers_4xx_to_nul_and_surrogates(app, client, db):
    load_demo(db, today=date(2026, 11, 30), password="fuzz-demo-password")
    headers = bearer(db)
    values = existing(db)
    spec = client.get("/openapi.json").json()
    components = spec["components"]["schemas"]
    probes = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            concrete = re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), "1"), path)
            for parameter in operation.get("parameters", []):
                name, where = parameter["name"], parameter["in"]
                for bad in (NUL, "\x02"):
                    if where == "query":
                        url = f"{concrete}?{urlencode({name: bad})}"
                        response = client.request(method, url, headers=headers, json={})
                    elif where == "path":
                        url = re.sub(r"\{" + re.escape(name) + r"\}", quote(bad), path)
                        url = re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), "1"), url)
                        response = client.request(method, url, headers=headers, json={})
                    else:
                        continue
                    probes += 1
                    no_server_error(response, f"{method.upper()} {path} {where} {name}")
                    assert response.status_code in (400, 404, 405, 422), (path, name, response.text)
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            fields = _body_fields(content["application/json"]["schema"], components)
            for name in fields:
                for bad in (json.dumps(NUL), '"a\\ud800b"'):
                    body = f'{{"{name}": {bad}}}'.encode()
                    response = client.request(method, concrete, content=body, headers=headers | {
                        "Content-Type": "application/json"})
                    probes += 1
                    no_server_error(response, f"{method.upper()} {path} body {name}")
                    assert response.status_code == 422, (path, name, response.text)
                    assert response.json()["errors"][0]["field"] == name
    assert probes > 150


# --- every form, every page ---------------------------------------------------------------------


def form_values(form) -> dict[str, str]:
    """What a browser would post unchanged: each field's current value."""
    data: dict[str, str] = {}
    for field in form.find_all(["input", "textarea", "select"]):
        name = field.get("name")
        if not name or field.get("type") in ("submit", "button", "file", "reset"):
            continue
        if field.name == "textarea":
            data[name] = field.get_text()
        elif field.name == "select":
            chosen = field.find("option", selected=True) or field.find("option")
            data[name] = chosen.get("value", chosen.get_text()) if chosen else ""
        elif field.get("type") in ("checkbox", "radio"):
            if field.has_attr("checked"):
                data[name] = field.get("value", "on")
        else:
            data[name] = field.get("value", "")
    return data


def ui_routes(app) -> list:
    return [route for route in iter_app_routes(app)
            if hasattr(route, "dependant") and not route.path.startswith("/api")
            and route.path not in ("/metrics", "/docs", "/healthz", "/readyz")]


def concrete_pages(app, values: dict[str, str]) -> list[str]:
    return sorted({re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], route.path)
                   for route in ui_routes(app) if "GET" in route.methods})


def query_names(route, html: str, path: str) -> set[str]:
    """What this page may read from its query string: what the route declares, what its own
    filter forms and links send, and the names the pages share."""
    names = set(COMMON_QUERY)

    def declared(dependant) -> Iterator[str]:
        for parameter in dependant.query_params:
            yield parameter.alias or parameter.name
        for dependency in dependant.dependencies:
            yield from declared(dependency)

    names.update(declared(route.dependant))
    soup = soup_of(html)
    for form in soup.find_all("form"):
        if (form.get("method") or "get").lower() == "get":
            names.update(f.get("name") for f in form.find_all(["input", "select"])
                         if f.get("name"))
    for link in soup.find_all("a", href=True):
        url = urlsplit(link["href"])
        if url.path == path:
            names.update(name for name, _ in parse_qsl(url.query, keep_blank_values=True))
    return names


@pytest.fixture
def demo_rows(db):
    load_demo(db, today=date(2026, 11, 30), password="fuzz-demo-password")
    db.add(ImportJob(kind=ImportKind.pain_points, status=ImportStatus.done, filename="p.csv"))
    db.commit()
    return existing(db)


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_every_page_survives_fuzzed_path_and_query_parameters(app, client, db, demo_rows, role):
    team = db.get(Team, db.scalar(select(Team.id).where(Team.slug == demo_rows["team"])))
    user = factories.make_user(db, role=role, teams=[team])
    db.commit()
    login(client, user.email)
    routes = {route.path: route for route in ui_routes(app) if "GET" in route.methods}
    requests, failures = 0, []
    for template, route in routes.items():
        page = re.sub(r"\{([^}]+)\}", lambda m: demo_rows[m.group(1)], template)
        first = client.get(page)
        if first.status_code >= 500:
            failures.append(f"{page}: {first.status_code}")
        for name in sorted(query_names(route, first.text, page)):
            for bad in QUERY_VALUES[role]:
                response = client.get(f"{page}?{urlencode({name: bad})}")
                requests += 1
                if response.status_code >= 500:
                    failures.append(f"{page}?{name}={bad!r}: {response.status_code}")
        for parameter in re.findall(r"\{([^}]+)\}", template):
            for bad in PATH_VALUES:
                url = re.sub(r"\{([^}]+)\}", lambda m, p=parameter, b=bad: b if m.group(1) == p
                             else demo_rows[m.group(1)], template)
                response = client.get(url)
                requests += 1
                if response.status_code >= 500 or (
                        bad in (HUGE, HUGER, "%00") and response.status_code not in (404, 422)):
                    failures.append(f"{url}: {response.status_code}")
    assert not failures, "\n".join(failures)
    assert requests > 300


# --- an unhandled error, on a real server and one kept-alive connection -----------------------


@pytest.fixture
def served(app) -> Iterator[str]:
    def boom():
        raise RuntimeError("kaput")

    app.add_api_route("/api/v1/boom", boom)
    app.add_api_route("/boom", boom)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical",
                            lifespan="off", timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_an_unhandled_error_answers_like_any_response_and_keeps_the_connection(served):
    ports = set()
    with httpx.Client(base_url=served, limits=httpx.Limits(max_connections=1,
                                                           max_keepalive_connections=1)) as http:
        for path in ("/api/v1/boom", "/boom", "/healthz", "/api/v1/boom", "/login"):
            response = http.get(path)
            stream = response.extensions["network_stream"]
            ports.add(stream.get_extra_info("socket").getsockname()[1])
            if "boom" in path:
                assert response.status_code == 500
                assert "kaput" not in response.text
                assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
                assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
                assert response.headers["x-content-type-options"] == "nosniff"
                assert response.headers.get("connection") != "close"
            else:
                assert response.status_code == 200
    assert len(ports) == 1, "the connection was dropped after a 500"


def test_single_line_and_multi_line_text_types_in_a_schema():
    from pydantic import BaseModel, ValidationError

    class Probe(BaseModel):
        title: FreeText(strip_whitespace=True, min_length=1, max_length=10)
        notes: FreeText(multiline=True, max_length=50) = ""

    assert Probe(title="  Builds \n", notes="a\nb").title == "Builds"
    with pytest.raises(ValidationError) as refused:
        Probe(title="a\tb", notes="x\x00")
    assert [(e["loc"], e["msg"]) for e in refused.value.errors()] == [
        (("title",), "must be a single line (no tab or line break)"),
        (("notes",), "must not contain the NUL character (U+0000)")]


def test_user_and_token_names_refuse_control_characters(client, db, as_role):
    as_role("admin")
    csrf = csrf_from(client.get("/settings/users").text)
    response = client.post("/settings/users", data={
        "csrf_token": csrf, "email": "new@example.com", "name": "Ann\x07", "role": "viewer",
        "password": "a-long-enough-password"})
    assert response.status_code == 422
    field = soup_of(response).find(attrs={"name": "name"})
    assert field.get("aria-invalid") == "true"
    assert db.scalar(select(func.count()).select_from(User).where(
        User.email == "new@example.com")) == 0
