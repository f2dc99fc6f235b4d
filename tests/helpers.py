"""What test modules share: reading pages as a user sees them, signing in, counting rows,
answers of the JSON API, moments and amounts. Builders of rows are in tests/factories.py,
fixtures in tests/conftest.py."""

import csv
import io
import json
import re
import socket
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from bs4 import BeautifulSoup, Tag
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.ml_models.models import MLModel
from tests import factories

PROBLEM = "application/problem+json"
CENT = Decimal("0.01")

# --- pages, parsed -------------------------------------------------------------------------


def soup_of(response, *, status: int | None = None) -> BeautifulSoup:
    """The page (or fragment) of a response, or of an HTML string, parsed."""
    if status is not None:
        assert response.status_code == status, response.text
    html = response if isinstance(response, str) else response.text
    return BeautifulSoup(html, "html.parser")


def text_of(node: Tag | None) -> str:
    """The text a reader sees in `node`, whitespace collapsed."""
    assert node is not None, "no such element"
    return " ".join(node.get_text(" ").split())


def text_at(response, selector: str) -> str:
    """The text of the first element matching a CSS selector."""
    return text_of(soup_of(response).select_one(selector))


def page_text(response) -> str:
    """Everything a reader sees on the page, whitespace collapsed."""
    return text_of(soup_of(response))


def form_fields(form: Tag) -> dict[str, str]:
    """The values a browser would submit for `form` untouched (checked boxes, selected options)."""
    fields: dict[str, str] = {}
    for field in form.select("input[name], select[name], textarea[name]"):
        name = field["name"]
        if field.name == "select":
            chosen = field.select_one("option[selected]") or field.select_one("option")
            fields[name] = chosen.get("value", chosen.get_text()) if chosen else ""
        elif field.name == "textarea":
            fields[name] = field.get_text()
        elif field.get("type") in ("checkbox", "radio"):
            if field.has_attr("checked"):
                fields[name] = field.get("value", "on")
        else:
            fields[name] = field.get("value", "")
    return fields


def flash_messages(response) -> list[str]:
    """The flash messages shown at the top of the page."""
    return [text_of(node) for node in soup_of(response).select(".flash")]


def assert_field_error(soup: BeautifulSoup, field_id: str, *fragments: str) -> None:
    """The message sits beside its field, and the field points at it."""
    message = soup.find("p", id=f"{field_id}-error")
    main = soup.find("main")
    assert message is not None, (
        f"no error shown for {field_id}: {text_of(main) if main else ''}")
    assert "field-error" in message["class"]
    for fragment in fragments:
        assert fragment in message.get_text(), message.get_text()
    field = soup.find(id=field_id)
    assert field is not None, f"no field {field_id}"
    assert field.get("aria-invalid") == "true"
    assert f"{field_id}-error" in field.get("aria-describedby", "").split()


# --- signing in ----------------------------------------------------------------------------


def csrf_from(html: str) -> str:
    """The CSRF token a page carries: in a form, or in `<body hx-headers>`."""
    soup = BeautifulSoup(html, "html.parser")
    field = soup.find("input", attrs={"name": "csrf_token"})
    if field is not None:
        return field["value"]
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', html)
    assert match, "page carries no CSRF token"
    return match.group(1)


def page_csrf(client: TestClient, path: str = "/") -> str:
    return csrf_from(client.get(path).text)


def login(client: TestClient, email: str, password: str = factories.PASSWORD) -> TestClient:
    page = client.get("/login")
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": csrf_from(page.text), "next": "/"})
    assert response.status_code == 303, response.text
    return client


# --- rows ----------------------------------------------------------------------------------


def count(session: Session, entity, *where) -> int:
    """Rows of `entity` (a model or a column) in the database, optionally filtered."""
    return session.scalar(select(func.count()).select_from(entity).where(*where))


# --- the JSON API --------------------------------------------------------------------------


def get_json(client: TestClient, headers: dict, url: str):
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def assert_problem(response, status: int, fields: list[str] | None = None) -> dict:
    """An RFC 9457 problem of `status`, naming `fields` (in order) when given."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    if fields is not None:
        assert [e["field"] for e in body["errors"]] == fields, body
    return body


# --- moments, amounts, ports ---------------------------------------------------------------


def at(day: str | date, hour: int = 0) -> datetime:
    """A UTC moment: an ISO date (or date-time) string or a date, at `hour` when only a day."""
    if isinstance(day, datetime):
        return day if day.tzinfo else day.replace(tzinfo=UTC)
    if isinstance(day, date):
        return datetime.combine(day, time(hour), tzinfo=UTC)
    moment = datetime.fromisoformat(day)
    if "T" not in day and " " not in day:
        moment = moment.replace(hour=hour)
    return moment.replace(tzinfo=UTC)


def cents(value) -> Decimal:
    """An amount rounded to the cent as the app rounds money (half to even)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- CSV files and the CLI -----------------------------------------------------------------


def csv_bytes(*rows: dict[str, str], columns, bom: bool = False) -> bytes:
    """A CSV file of `columns` as a spreadsheet saves it (CRLF, UTF-8, optionally a BOM)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def cli_import(tmp_path: Path, what: str, data: bytes, *options: str):
    """`northstar import <what> <file>` on `data` saved as a file."""
    from app.cli import app as cli_app

    path = tmp_path / f"{what}.csv"
    path.write_bytes(data)
    return CliRunner().invoke(cli_app, ["import", what, str(path), *options])


def model_names(session: Session) -> list[str]:
    """Names of the ML models stored, oldest first, as the database has them now."""
    session.expire_all()
    return list(session.scalars(select(MLModel.name).order_by(MLModel.id)))


def datetime_local(moment: datetime) -> str:
    """`moment` as a datetime-local input sends it."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def all_of(answer: str) -> dict[str, str]:
    """Every capability of the maturity rubric answered `answer`."""
    from app.maturity.rubric import load_rubric

    return {key: answer for key in load_rubric().keys()}


def sums_agree(a: Decimal | None, b: Decimal | None, backend: str) -> bool:
    """Two sums of the same money, one stored and one computed live: PostgreSQL sums exact
    NUMERIC both ways; SQLite sums doubles, in another order, so a hundredth of a cent is let go."""
    if a is None or b is None:
        return a == b
    return a == b if backend == "postgresql" else abs(Decimal(a) - Decimal(b)) <= Decimal("0.0001")


def figure_json(page: BeautifulSoup, figure_id: str) -> dict:
    """The Plotly figure a dashboard embeds in `<figure id=...>` (its JSON script)."""
    node = page.select_one(f"figure#{figure_id} script[type='application/json']")
    assert node is not None, f"no figure {figure_id}"
    return json.loads(node.string)
