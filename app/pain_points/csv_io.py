"""CSV import and export of pain points: strict parsing, row-by-row validation, formula-safe cells.

Import: UTF-8 text (a leading byte-order mark, as Excel writes it, is dropped), a header row that
names the columns, one pain point per row. Each row goes through `PainPointIn` and the service
inside a SAVEPOINT, so a refused row leaves nothing behind; unless bad rows are to be skipped,
one bad row imports nothing at all. Export: the ledger's rows with their costs, every text cell
neutralised so that no spreadsheet runs it as a formula.
"""

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth.permissions import Principal
from app.core.errors import DomainError, PermissionDenied, ValidationFailed
from app.pain_points import queries, service
from app.pain_points.queries import LedgerRow, PainPointFilters, Sort
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

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_EXPORT_ROWS = 100_000
EXPORT_CHUNK = 500

_TEXT_COLUMNS = ("title", "description", "evidence")
_DATE_COLUMNS = ("observed_since", "resolved_on")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection");
# tab and carriage return can hide such a start from a reader, so export guards them too.
_FORMULA_START = ("=", "+", "-", "@")
_NEUTRALISE_START = _FORMULA_START + ("\t", "\r")
CENTS = Decimal("0.01")


# --- formula safety -------------------------------------------------------------------------

def looks_like_formula(text: str) -> bool:
    return text.lstrip().startswith(_FORMULA_START)


def neutralise(text: str) -> str:
    """A cell a spreadsheet would take for a formula, made plain text by a leading apostrophe."""
    return "'" + text if text.startswith(_NEUTRALISE_START) else text


# --- import ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowError:
    line: int | None  # as an editor shows the file: the header is line 1; None: the whole file
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.field}: {self.message}"


@dataclass
class ImportResult:
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        """Something was wrong and nothing was imported."""
        return bool(self.errors) and self.imported == 0


@dataclass
class ParsedFile:
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    fatal: bool = False  # the file as a whole is unusable: no row may be imported


def _refuse(line: int | None, name: str, message: str) -> ParsedFile:
    return ParsedFile(errors=[RowError(line, name, message)], fatal=True)


def _header_errors(header: list[str]) -> list[RowError]:
    errors, seen = [], set()
    for position, name in enumerate(header, start=1):
        if not name:
            errors.append(RowError(1, f"column {position}", "has no name in the header row; "
                                                            "delete the empty column"))
        elif name in seen:
            errors.append(RowError(1, name, "appears twice in the header row"))
        elif name == "id":
            errors.append(RowError(1, name, "an import always creates new pain points and "
                                            "cannot update existing ones; remove the id column"))
        elif name in EXPORT_COLUMNS and name not in COLUMNS:
            errors.append(RowError(1, name, "is computed by Northstar (an export column), not "
                                            "imported; remove it"))
        elif name not in COLUMNS:
            errors.append(RowError(1, name, "unknown column; the columns are "
                                            + ", ".join(COLUMNS)))
        seen.add(name)
    errors += [RowError(1, name, "required column is missing from the header row")
               for name in REQUIRED if name not in seen]
    return errors


def parse(data: bytes) -> ParsedFile:
    """The file's rows as column -> cell, each with the line it starts on; or why not."""
    if len(data) > MAX_BYTES:
        return _refuse(None, "file", f"is larger than {MAX_BYTES // (1024 * 1024)} MB; split "
                                     "it into smaller files")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return _refuse(line, "file", f"is not UTF-8 text (byte 0x{data[exc.start]:02x}); save "
                                     "it as “CSV UTF-8” and import it again")
    # newline="" lets the csv module see quoted line breaks, and line_num counts lines as an
    # editor does. strict: an unmatched quote is an error, not the rest of the file in one cell.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip().lower() for name in next(reader, [])]
    except csv.Error as exc:
        return _refuse(1, "file", f"the header row is not valid CSV ({exc})")
    if not any(header):
        return _refuse(1, "file", "the first line must name the columns: " + ", ".join(COLUMNS))
    errors = _header_errors(header)
    if errors:
        return ParsedFile(errors=errors, fatal=True)
    parsed = ParsedFile()
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            return _refuse(line, "file", f"is not valid CSV from this line on ({exc}); check "
                                         "its double quotes")
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, and the empty rows spreadsheets leave at the end
        if len(parsed.rows) + len(parsed.errors) == MAX_ROWS:
            return _refuse(None, "file", f"has more than {MAX_ROWS:,} rows; split it into "
                                         "smaller files")
        if len(cells) != len(header):
            parsed.errors.append(RowError(line, "row", (
                f"has {len(cells)} cells but the header has {len(header)} columns; put text "
                "that contains commas in double quotes")))
            continue
        parsed.rows.append((line, dict(zip(header, cells, strict=True))))
    if not parsed.rows and not parsed.errors:
        return _refuse(2, "file", "has no pain points below the header row")
    return parsed


def _pydantic_message(error: dict[str, Any]) -> str:
    message = error["msg"]
    return message[:1].lower() + message[1:]


def row_to_input(cells: dict[str, str]) -> tuple[PainPointIn | None, list[tuple[str, str]]]:
    """The row as the service's input, or (field, message) for each cell at fault."""
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in COLUMNS:
        raw = cells.get(name, "")
        value = raw.strip()
        if name in _TEXT_COLUMNS and looks_like_formula(raw):
            # Stored, it would run as a formula in whoever opens a later export in a spreadsheet.
            problems[name] = (f"starts with '{value[0]}', which a spreadsheet would run as a "
                              "formula; start the text with a letter or a digit")
        elif not value:
            if name in REQUIRED:
                problems[name] = "this field is required"
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
            problems.setdefault(str(error["loc"][0]), _pydantic_message(error))
        data = None
    if problems:
        order = {name: i for i, name in enumerate(COLUMNS)}
        return None, sorted(problems.items(), key=lambda item: order.get(item[0], len(order)))
    return data, []


def import_pain_points(session: Session, data: bytes, *, actor: Principal, today: date,
                       skip_invalid: bool = False) -> ImportResult:
    """Creates a pain point per valid row, in the caller's transaction (it never commits).

    Without `skip_invalid` any error imports nothing; with it, the valid rows are imported and
    the others reported. A row of a team the actor may not edit is an error naming `team`.
    """
    parsed = parse(data)
    if parsed.fatal:
        return ImportResult(0, parsed.errors)
    errors = list(parsed.errors)
    imported = 0
    everything = session.begin_nested()
    for line, cells in parsed.rows:
        pain_point_in, problems = row_to_input(cells)
        if pain_point_in is None:
            errors += [RowError(line, name, message) for name, message in problems]
            continue
        try:
            with session.begin_nested():  # a refused row leaves nothing, even a flushed half
                service.create_pain_point(session, pain_point_in, actor=actor, today=today)
        except ValidationFailed as exc:
            errors += [RowError(line, e.field, e.message) for e in exc.errors]
        except PermissionDenied as exc:
            errors.append(RowError(line, "team", exc.message))
        else:
            imported += 1
    errors.sort(key=lambda e: e.line or 0)
    if errors and not skip_invalid:
        everything.rollback()
        return ImportResult(0, errors)
    everything.commit()
    return ImportResult(imported, errors)


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
