"""CSV import of lifecycle events, with the rules of every import (app.core.csv_tools): UTF-8
(a byte-order mark is dropped), a header row naming the columns, every bad row reported by line
number and field, and nothing stored unless every row is valid (or bad rows are to be skipped).
Every row is checked in bulk (`service.check_events`: the rules of `record_events`, in a
handful of queries) before anything is stored, so a refused row leaves nothing behind — not even
the model it would have created; then the models and events go in as batches."""

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth.permissions import Principal
from app.core.csv_tools import (
    ImportResult, RowError, cell_problem, parse_table, pydantic_message,
)
from app.ml_models import service
from app.ml_models.models import EventSource
from app.ml_models.schemas import BulkEventIn

COLUMNS = ("team", "model", "type", "occurred_at", "version", "source", "external_id")
REQUIRED = ("team", "model", "type", "occurred_at")
COLUMN_HELP = {
    "team": "Team slug.",
    "model": "Model name (up to 120 characters); a model seen for the first time is created.",
    "type": "ideated, data_ready, experiment_started, validated, registered, deployed, "
            "rolled_back or retired.",
    "occurred_at": "ISO 8601 with a time zone, e.g. 2026-05-01T12:00:00Z; stored in UTC.",
    "version": "Optional model version, up to 64 characters.",
    "source": "manual, api, mlflow or csv (the default).",
    "external_id": "Optional; unique per source, so that importing a file twice stores its "
                   "events once.",
}
# Text that ends up on pages and in exports as it is; identifiers (external_id) do not.
_FORMULA_CHECKED = ("model", "version")


@dataclass
class EventImportResult(ImportResult):
    existing: int = 0  # rows whose source + external_id was already stored with the same content

    @property
    def refused(self) -> bool:
        return bool(self.errors) and self.imported == 0 and self.existing == 0


def row_to_input(cells: dict[str, str]) -> tuple[BulkEventIn | None, list[tuple[str, str]]]:
    """The row as the service's input, or (field, message) for each cell at fault."""
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in COLUMNS:
        raw = cells.get(name, "")
        value = raw.strip()
        problem = cell_problem(name, raw, required=REQUIRED, formula_checked=_FORMULA_CHECKED)
        if problem:
            problems[name] = problem
        elif not value:
            pass  # a blank optional cell keeps its default
        elif name in ("type", "source", "team"):
            values[name] = value.lower()
        else:
            values[name] = value
    values.setdefault("source", EventSource.csv)
    try:
        data = BulkEventIn(**values)
    except ValidationError as exc:
        for error in exc.errors():
            problems.setdefault(str(error["loc"][0]), pydantic_message(error))
        data = None
    if problems:
        order = {name: i for i, name in enumerate(COLUMNS)}
        return None, sorted(problems.items(), key=lambda item: order.get(item[0], len(order)))
    return data, []


def _unprefixed(field: str) -> str:
    """The bulk service names fields `<index>.<field>`; a row is always index 0."""
    return field.removeprefix("0.")


def import_events(session: Session, data: bytes, *, actor: Principal,
                  skip_invalid: bool = False) -> EventImportResult:
    """Records an event per valid row, in the caller's transaction (it never commits).

    Without `skip_invalid` any error imports nothing; with it, the valid rows are imported and
    the others reported. A row of a team the actor may not edit is an error naming `team`.
    """
    parsed = parse_table(data, columns=COLUMNS, required=REQUIRED, noun="events")
    if parsed.fatal:
        return EventImportResult(0, parsed.errors)
    result = EventImportResult(0, list(parsed.errors))
    inputs = []
    for line, cells in parsed.rows:
        event_in, problems = row_to_input(cells)
        if event_in is None:
            result.errors += [RowError(line, name, message) for name, message in problems]
        else:
            inputs.append((line, event_in))
    checked = service.check_events(session, inputs, actor=actor)
    result.errors += [RowError(line, e.field, e.message)
                      for line, found in checked.refused.items() for e in found]
    result.errors.sort(key=lambda e: e.line or 0)
    if result.errors and not skip_invalid:
        return EventImportResult(0, result.errors)
    result.imported = service.add_events(session, checked, actor=actor)
    result.existing = checked.existing
    return result
