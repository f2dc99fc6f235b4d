"""What every CSV import shares: strict parsing of an uploaded file, row errors, formula safety.

A file is UTF-8 text (a leading byte-order mark, as Excel writes it, is dropped) with a header row
that names the columns; `parse_table` gives its rows as column -> cell, each with the line it
starts on, or refuses the file with errors a person can act on. The importers
(app.pain_points.csv_io, app.ml_models.csv_io) turn rows into their own inputs.
"""

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core.types import text_problem

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000

# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection");
# tab and carriage return can hide such a start from a reader, so export guards them too.
_FORMULA_START = ("=", "+", "-", "@")
_NEUTRALISE_START = _FORMULA_START + ("\t", "\r")


# --- formula safety -------------------------------------------------------------------------

def looks_like_formula(text: str) -> bool:
    return text.lstrip().startswith(_FORMULA_START)


def cell_problem(name: str, raw: str, *, required: tuple[str, ...],
                 formula_checked: tuple[str, ...]) -> str | None:
    """What every importer refuses in a cell before its own rules: text a spreadsheet would run
    as a formula (stored, it would run in whoever opens a later export), or a required blank."""
    value = raw.strip()
    problem = text_problem(raw, multiline=True)  # the schema may not see it (dates, numbers)
    if problem:
        return problem
    if name in formula_checked and looks_like_formula(raw):
        return (f"starts with '{value[0]}', which a spreadsheet would run as a formula; start "
                "the text with a letter or a digit")
    if not value and name in required:
        return "this field is required"
    return None


def neutralise(text: str) -> str:
    """A cell a spreadsheet would take for a formula, made plain text by a leading apostrophe."""
    return "'" + text if text.startswith(_NEUTRALISE_START) else text


# --- results --------------------------------------------------------------------------------

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


# --- parsing --------------------------------------------------------------------------------

def _refuse(line: int | None, name: str, message: str) -> ParsedFile:
    return ParsedFile(errors=[RowError(line, name, message)], fatal=True)


def _header_errors(header: list[str], columns: tuple[str, ...], required: tuple[str, ...],
                   refused: Mapping[str, str]) -> list[RowError]:
    errors, seen = [], set()
    for position, name in enumerate(header, start=1):
        if not name:
            errors.append(RowError(1, f"column {position}", "has no name in the header row; "
                                                            "delete the empty column"))
        elif name in seen:
            errors.append(RowError(1, name, "appears twice in the header row"))
        elif name in refused:
            errors.append(RowError(1, name, refused[name]))
        elif name not in columns:
            errors.append(RowError(1, name, "unknown column; the columns are "
                                            + ", ".join(columns)))
        seen.add(name)
    errors += [RowError(1, name, "required column is missing from the header row")
               for name in required if name not in seen]
    return errors


def parse_table(data: bytes, *, columns: tuple[str, ...], required: tuple[str, ...], noun: str,
                refused: Mapping[str, str] | None = None) -> ParsedFile:
    """The file's rows as column -> cell, each with the line it starts on; or why not.

    `noun` names what the rows are, for the empty-file message. `refused` maps a column a
    reader might expect to import (e.g. one an export writes) to why it may not be, which
    says more than "unknown column".
    """
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
        return _refuse(1, "file", "the first line must name the columns: " + ", ".join(columns))
    errors = _header_errors(header, columns, required, refused or {})
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
        return _refuse(2, "file", f"has no {noun} below the header row")
    return parsed


def pydantic_message(error: Mapping[str, Any]) -> str:
    """One pydantic error as a cell's message: our own validators' text without pydantic's
    "Value error, " prefix; pydantic's own text starting in lower case."""
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    message = error["msg"]
    return message[:1].lower() + message[1:]
