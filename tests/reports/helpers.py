"""What the report tests share: the metrics API's answers for a quarter, the report's files
opened the way a person's tools open them."""

import csv
import io
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
from fastapi.testclient import TestClient
from markdown_it import MarkdownIt
from sqlalchemy.orm import Session

from app.core.periods import parse_quarter
from app.initiatives.queries import savings
from app.settings.service import get_org_settings
from tests.helpers import soup_of

METRICS = ("annual_cost", "quarter_cost", "hours_per_week", "lead_time_median", "lead_time_p90",
           "deployments", "change_failure_rate", "production_rate", "realized_savings",
           "llm_spend", "maturity")


def report_json(client: TestClient, path: str, **params) -> dict:
    response = client.get(path, params={k: v for k, v in params.items() if v is not None})
    assert response.status_code == 200, response.text
    return response.json()


def dec(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def api_headline(client: TestClient, db: Session, quarter: str, team: str | None,
                 team_ids: frozenset[int] | None) -> dict[str, dict[str, Decimal | None]]:
    """Every headline figure of `quarter` as the metrics API gives it (value, low, high), at the
    API's places. Realized savings: /metrics/roi for the whole organisation; for one team the
    savings query (roi filters initiatives by their own team, the report by the team's
    pain points)."""
    org = get_org_settings(db)
    q = parse_quarter(quarter, org.fiscal_year_start_month)
    period = {"from": q.first_day.isoformat(), "to": q.last_day.isoformat(), "team": team}
    cost = report_json(client, "/api/v1/metrics/cost", **period)["total"]
    velocity = report_json(client, "/api/v1/metrics/velocity", **period)
    [cohort] = [c for c in velocity["production_rate"] if c["cohort"] == q.label]
    llm_ids = {m["id"] for archived in ("false", "true") for m in report_json(
        client, "/api/v1/models", kind="llm", team=team, archived=archived,
        page_size=500)["items"]}
    compute = report_json(client, "/api/v1/metrics/compute", **period)
    llm = sum((dec(m["amount"]) for m in compute["by_model"] if m["model_id"] in llm_ids),
              Decimal("0.00"))
    assessments = report_json(client, "/api/v1/maturity-assessments", to=q.last_day.isoformat(),
                           team=team, page_size=500)["items"]
    latest: dict[str, dict] = {}
    for a in assessments:  # newest first: the first of each team counts
        latest.setdefault(a["team"], a)
    scores = [dec(a["score"]) for a in latest.values()]
    maturity = (sum(scores, Decimal(0)) / len(scores)).quantize(Decimal("0.01")) if scores else None
    if team is None:
        roi = report_json(client, "/api/v1/metrics/roi", **{"from": period["from"],
                                                          "to": period["to"]})
        realized = sum((dec(i["realized_savings"]) for i in roi["initiatives"]), Decimal("0.00"))
    else:
        found = savings(db, None, weeks=org.working_weeks_per_year, first=q.first_day,
                        last=q.last_day, team_ids=team_ids)
        realized = sum((s.realized for s in found.values()), Decimal(0)).quantize(
            Decimal("0.01"))

    def one(value) -> dict[str, Decimal | None]:
        return {"value": dec(value), "low": None, "high": None}

    return {
        "annual_cost": {"value": dec(cost["annual_run_rate"]),
                        "low": dec(cost["annual_run_rate_low"]),
                        "high": dec(cost["annual_run_rate_high"])},
        "quarter_cost": {"value": dec(cost["cost"]), "low": dec(cost["cost_low"]),
                         "high": dec(cost["cost_high"])},
        "hours_per_week": one(cost["hours_per_week"]),
        "lead_time_median": one(velocity["lead_time_days"]["median"]),
        "lead_time_p90": one(velocity["lead_time_days"]["p90"]),
        "deployments": one(velocity["deployments"]),
        "change_failure_rate": one(velocity["change_failure_rate"]),
        "production_rate": one(cohort["rate"]),
        "realized_savings": one(realized),
        "llm_spend": one(llm),
        "maturity": one(maturity),
    }


def report(client: TestClient, fmt: str, quarter: str, team: str | None = None):
    response = client.get("/api/v1/reports/quarterly",
                          params={"quarter": quarter, "team": team or "", "format": fmt})
    assert response.status_code == 200, response.text
    return response


def xlsx_rows(body: bytes, sheet: str) -> tuple[list[str], list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(body))
    ws = book[sheet]
    header = [c.value for c in ws[1]]
    return header, [tuple(c for c in row) for row in ws.iter_rows(min_row=2)]


def csv_files(body: bytes) -> dict[str, list[dict[str, str]]]:
    """The zip's CSV files by table key ("02-headline.csv" → "headline")."""
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name.split("-", 1)[1].removesuffix(".csv"):
                list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))
                for name in archive.namelist()}


def pdf_text(body: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(body)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    return " ".join(text.split())


def markdown_text(body: bytes) -> str:
    html = MarkdownIt("commonmark").enable("table").render(body.decode("utf-8"))
    return " ".join(soup_of(html).get_text(" ").split())


def page_tiles(html: str) -> dict[str, tuple[str, str]]:
    """The printable page's headline tiles: metric → (data-value, value as shown)."""
    soup = soup_of(html)
    return {tile["data-metric"]: (tile["data-value"], tile.select_one(".value").get_text(strip=True))
            for tile in soup.select(".report-tile[data-metric]")}
