"""CSV import and export of pain points: strict parsing, row-by-row validation, formula-safe cells.

Import: a file as app.core.csv_tools.parse_table reads it (UTF-8, a header row that names the
columns), one pain point per row. Every row goes through `PainPointIn` and the service's rules
before anything is stored (a refused row leaves nothing behind); unless bad rows are to be
skipped, one bad row imports nothing at all. The valid rows then go in as batches (10 000
rows take seconds). Export: the ledger's rows with their costs, every text cell neutralised so
that no spreadsheet runs it as a formula.
"""

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth.permissions import Principal
from app.core.csv_tools import (
    ImportResult, RowError, cell_problem, neutralise, parse_table, pydantic_message,
)
from app.core.errors import DomainError
from app.pain_points import queries, service
from app.pain_points.measures import PainPointFilters
from app.pain_points.queries import LedgerRow, Sort
from app.pain_points.models import PainPoint
from app.pain_points.schemas import PainPointIn

COLUMNS = ("team", "persona", "stage", "title", "description", "evidence", "kind", "hours_low",
           "hours_likely", "hours_high", "people_affected", "status", "observed_since",
           "resolved_on")
REQUIRED = ("team", "persona", "stage", "title", "hours_low", "hours_likely", "hours_high")
# What the import page says about each column.
COLUMN_HELP = {
    "team": "Team slug or name (any case).",
    "persona": "Persona slug or name, e.g. data-scientist or Data scientist.",
    "stage": "Lifecycle stage slug or name, e.g. deployment.",
    "title": "Up to 200 characters.",
    "description": "Optional, up to 5,000 characters.",
    "evidence": "Optional link or interview note, up to 2,000 characters.",
    "kind": "recurring (hours per person per week, the default) or one_time (hours per person, "
            "once).",
    "hours_low": "Hours per affected person: low estimate.",
    "hours_likely": "Most likely hours; at least hours_low.",
    "hours_high": "High estimate; at least hours_likely.",
    "people_affected": "Optional; blank takes the team's headcount for the persona.",
    "status": "open (default), in_progress, resolved or wont_fix.",
    "observed_since": "Optional date, YYYY-MM-DD; blank is today.",
    "resolved_on": "Date YYYY-MM-DD, for resolved pain points only.",
}
EXAMPLE_ROW = ("fraud-detection", "Data scientist", "deployment",
               "Hand-built Docker image for every model", "", "Interview with Ana, 2026-11-03",
               "recurring", "1", "2", "4", "", "open", "2026-09-01", "")
EXPORT_COLUMNS = ("id", "team", "persona", "stage", "title", "description", "evidence", "kind",
                  "hours_low", "hours_likely", "hours_high", "expected_hours", "people_affected",
                  "hourly_cost", "annual_cost", "annual_cost_low", "annual_cost_high", "status",
                  "observed_since", "resolved_on")

# Export columns an import refuses, with the reason: more use than "unknown column".
NOT_IMPORTED = {
    "id": "an import always creates new pain points and cannot update existing ones; remove "
          "the id column",
} | {name: "is computed by Northstar (an export column), not imported; remove it"
     for name in EXPORT_COLUMNS if name not in COLUMNS and name != "id"}

MAX_EXPORT_ROWS = 100_000
EXPORT_CHUNK = 500

_TEXT_COLUMNS = ("title", "description", "evidence")
_DATE_COLUMNS = ("observed_since", "resolved_on")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CENTS = Decimal("0.01")


# --- import ---------------------------------------------------------------------------------

def row_to_input(cells: dict[str, str]) -> tuple[PainPointIn | None, list[tuple[str, str]]]:
    """The row as the service's input, or (field, message) for each cell at fault."""
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in COLUMNS:
        raw = cells.get(name, "")
        value = raw.strip()
        problem = cell_problem(name, raw, required=REQUIRED, formula_checked=_TEXT_COLUMNS)
        if problem:
            problems[name] = problem
        elif not value:
            pass  # a blank optional cell keeps its default
        elif name in _DATE_COLUMNS:
            try:
                if not _DATE.fullmatch(value):
                    raise ValueError
                values[name] = date.fromisoformat(value)
            except ValueError:
                problems[name] = f"'{value}' is not a date in the form YYYY-MM-DD, e.g. 2026-01-05"
        elif name in ("kind", "status"):
            values[name] = value.lower()
        else:
            values[name] = value
    try:
        data = PainPointIn(**values)
    except ValidationError as exc:
        for error in exc.errors():
            problems.setdefault(str(error["loc"][0]), pydantic_message(error))
        data = None
    if problems:
        order = {name: i for i, name in enumerate(COLUMNS)}
        return None, sorted(problems.items(), key=lambda item: order.get(item[0], len(order)))
    return data, []


@dataclass
class CheckedFile:
    """A file read and every row validated, nothing written: what to store and what is wrong."""
    made: list[PainPoint]
    errors: list[RowError]
    fatal: bool = False


def check_pain_points(session: Session, data: bytes, *, actor: Principal,
                      today: date) -> CheckedFile:
    """Parses and validates every row in bulk (lookups once per distinct team, persona and
    stage); writes nothing."""
    parsed = parse_table(data, columns=COLUMNS, required=REQUIRED, noun="pain points",
                         refused=NOT_IMPORTED)
    if parsed.fatal:
        return CheckedFile([], parsed.errors, fatal=True)
    errors = list(parsed.errors)
    inputs = []
    for line, cells in parsed.rows:
        pain_point_in, problems = row_to_input(cells)
        if pain_point_in is None:
            errors += [RowError(line, name, message) for name, message in problems]
        else:
            inputs.append((line, pain_point_in))
    made, refused = service.check_pain_points(session, inputs, actor=actor, today=today)
    errors += [RowError(line, e.field, e.message) for line, found in refused.items()
               for e in found]
    errors.sort(key=lambda e: e.line or 0)
    return CheckedFile(made, errors)


def import_pain_points(session: Session, data: bytes, *, actor: Principal, today: date,
                       skip_invalid: bool = False,
                       progress: Callable[[int], None] | None = None) -> ImportResult:
    """Creates a pain point per valid row, in the caller's transaction (it never commits).

    Without `skip_invalid` any error imports nothing; with it, the valid rows are imported and
    the others reported. A row of a team the actor may not edit is an error naming `team`.
    Every row is validated before the first is stored; the rows go in as batched INSERTs with
    their audit entries, and the dashboards' totals are refreshed once, at the commit.
    """
    checked = check_pain_points(session, data, actor=actor, today=today)
    if checked.fatal or (checked.errors and not skip_invalid):
        return ImportResult(0, checked.errors)
    service.add_pain_points(session, checked.made, actor=actor, progress=progress)
    return ImportResult(len(checked.made), checked.errors)


# --- export ---------------------------------------------------------------------------------

class ExportTooLarge(DomainError):
    status_code = 422
    title = "Too many rows"


def _cents(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENTS, rounding=ROUND_HALF_EVEN))


def export_cells(row: LedgerRow) -> list[str]:
    """One pain point as export cells: money and hours to cents, half-even; text neutralised."""
    pp = row.pain_point
    text = [row.team, row.persona, row.stage, pp.title, pp.description or "", pp.evidence or "",
            pp.kind.value]
    hours = [pp.hours_low, pp.hours_likely, pp.hours_high, row.expected_hours]
    money = [row.hourly_cost, row.annual_cost, row.annual_cost_low, row.annual_cost_high]
    return [
        str(pp.id), *(neutralise(t) for t in text), *(_cents(h) for h in hours),
        str(pp.people_affected), *(_cents(m) for m in money), neutralise(pp.status.value),
        pp.observed_since.isoformat(), pp.resolved_on.isoformat() if pp.resolved_on else "",
    ]


def export_csv(session: Session, filters: PainPointFilters, *, weeks: Decimal,
               sort: Sort = Sort.cost) -> str:
    """The filtered ledger as CSV text, read in chunks; refused beyond MAX_EXPORT_ROWS rows.

    Starts with a byte-order mark: without one Excel reads UTF-8 as its local code page.
    """
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    offset = 0
    while True:
        rows, total = queries.list_pain_points(session, filters, weeks=weeks, sort=sort,
                                               offset=offset, limit=EXPORT_CHUNK)
        if total > MAX_EXPORT_ROWS:
            raise ExportTooLarge(f"{total:,} pain points match; an export holds at most "
                                 f"{MAX_EXPORT_ROWS:,}. Narrow the filters.")
        writer.writerows(export_cells(row) for row in rows)
        offset += len(rows)
        if len(rows) < EXPORT_CHUNK:
            return out.getvalue()


def example_lines() -> Sequence[str]:
    """The header and one example row, as the import page shows them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow(EXAMPLE_ROW)
    return out.getvalue().splitlines()
