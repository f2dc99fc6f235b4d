"""From a request (quarter, team, format as typed) to a file: validation, the viewer's scope,
the report, the writer and a safe file name. Shared by the page, the API and the CLI."""

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.permissions import Principal
from app.core.errors import FieldError, ValidationFailed
from app.core.periods import Quarter, parse_quarter, quarter_of
from app.reports.quarterly import QuarterlyReport, Scope, build_report
from app.settings.models import OrgSettings
from app.settings.service import get_org_settings
from app.teams import queries as team_queries
from app.teams.models import Team

EARLIEST_YEAR = 2000


@dataclass(frozen=True)
class Format:
    key: str
    label: str
    media_type: str
    extension: str


FORMATS = {f.key: f for f in (
    Format("pdf", "PDF", "application/pdf", "pdf"),
    Format("xlsx", "Excel workbook (XLSX)",
           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    Format("csv", "CSV files (zip)", "application/zip", "zip"),
    Format("md", "Markdown", "text/markdown; charset=utf-8", "md"),
    Format("html", "HTML document", "text/html; charset=utf-8", "html"),
    Format("json", "JSON", "application/json", "json"),
)}


class BadReportRequest(ValidationFailed):
    """Quarter, team or format as asked cannot make a report: 400, each field named."""

    status_code = 400
    title = "Bad request"


@dataclass(frozen=True)
class ReportRequest:
    quarter: Quarter
    scope: Scope
    format: Format
    org: OrgSettings


@dataclass(frozen=True)
class ExportFile:
    filename: str
    media_type: str
    body: bytes

    @property
    def content_disposition(self) -> str:
        return f'attachment; filename="{self.filename}"'


def last_complete_quarter(today: date, start_month: int) -> Quarter:
    return quarter_of(today, start_month).previous()


def _quarter(text: str | None, today: date, start_month: int,
             errors: list[FieldError]) -> Quarter | None:
    if text is None or not text.strip():
        return last_complete_quarter(today, start_month)
    try:
        quarter = parse_quarter(text, start_month)
    except ValueError as exc:
        errors.append(FieldError("quarter", str(exc)))
        return None
    if quarter.year < EARLIEST_YEAR:
        errors.append(FieldError("quarter", f"'{quarter.label}' is before {EARLIEST_YEAR}"))
        return None
    if quarter.first_day > today:
        current = quarter_of(today, start_month)
        errors.append(FieldError("quarter", (
            f"{quarter.label} has not started yet (it starts on {quarter.first_day.isoformat()});"
            f" the latest quarter with figures is {current.label}")))
        return None
    return quarter


def _scope(session: Session, principal: Principal | None, team: Team | None) -> Scope:
    if team is not None:  # within the principal's scope: parse_request saw to it
        return Scope(frozenset({team.id}), team.name, team.slug)
    visible = principal.scope() if principal is not None else None
    if visible is None:
        return Scope(None, "Whole organisation")
    names = list(session.scalars(select(Team.name).where(Team.id.in_(visible))
                                 .order_by(Team.name)))
    label = ("Your team: " if len(names) == 1 else "Your teams: ") + (", ".join(names) or "none")
    if principal is not None and principal.token_team_id is not None:
        note = "This API token reads one team only: the figures cover that team alone."
    else:
        note = ("Your role reads only the teams you belong to: every figure covers "
                + (", ".join(names) or "no team") + ", not the whole organisation.")
    return Scope(visible, label, note=note)


def parse_request(session: Session, principal: Principal | None, *, quarter: str | None,
                  team: str | None, fmt: str | None, today: date,
                  default_format: str = "json") -> ReportRequest:
    """Validates the request as typed; raises BadReportRequest (400) naming each field at
    fault; a team the principal may not read is refused exactly like an unknown one
    (`Principal.scope`). `principal` None is the command line, which reads every team."""
    org = get_org_settings(session)
    errors: list[FieldError] = []
    found_quarter = _quarter(quarter, today, org.fiscal_year_start_month, errors)
    key = (fmt or "").strip().lower() or default_format
    found_format = FORMATS.get(key)
    if found_format is None:
        errors.append(FieldError("format", f"unknown format '{fmt}'; use one of "
                                           + ", ".join(FORMATS)))
    found_team = None
    slug = (team or "").strip()
    if slug:
        found_team = session.scalar(select(Team).where(Team.slug == slug))
        if principal is not None:
            _, team_errors = team_queries.team_scope(session, principal, slug)
        else:
            team_errors = [FieldError("team", f"unknown team '{slug}'")] if not found_team else []
        errors += team_errors
    if errors:
        raise BadReportRequest(errors)
    return ReportRequest(found_quarter, _scope(session, principal, found_team), found_format,
                         org)


def build(session: Session, request: ReportRequest, *, today: date) -> QuarterlyReport:
    return build_report(session, request.org, request.quarter, request.scope, today=today)


def filename(report: QuarterlyReport, fmt: Format) -> str:
    """northstar-2026-Q3-fraud-detection.xlsx: built from a quarter label and a slug, and
    stripped to [A-Za-z0-9.-] all the same, since it goes into a header."""
    parts = ["northstar", report.quarter.label]
    if report.scope.team_slug:
        parts.append(report.scope.team_slug)
    elif report.scope.team_ids is not None:
        parts.append("my-teams")
    name = "-".join(parts)
    return re.sub(r"[^A-Za-z0-9.-]+", "-", name) + "." + fmt.extension


def write(report: QuarterlyReport, fmt: Format, *, env: Environment,
          static_dir: Path) -> ExportFile:
    from app.reports.writers import csv, html, json_data, md, pdf, xlsx

    if fmt.key == "pdf":
        body = pdf.write_pdf(report, env, static_dir)
    elif fmt.key == "html":
        body = html.write_html(report, env, static_dir)
    elif fmt.key == "xlsx":
        body = xlsx.write_xlsx(report)
    elif fmt.key == "csv":
        body = csv.write_csv_zip(report)
    elif fmt.key == "md":
        body = md.write_md(report)
    else:
        body = json_data.write_json(report)
    return ExportFile(filename(report, fmt), fmt.media_type, body)
