"""CSV import of KPI observations and quality observations, with the rules of every import
(app.core.csv_tools): UTF-8, a header row naming the columns, every bad row reported by line
number and field, nothing stored unless every row is valid (or bad rows are to be skipped).
Each row goes through the bulk service inside a SAVEPOINT, so a refused row leaves nothing."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from app.auth.permissions import Principal
from app.core.csv_tools import ImportResult, RowError, cell_problem, parse_table, pydantic_message
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.ml_models.models import EventSource
from app.value import service
from app.value.schemas import KpiObservationIn, QualityObservationIn


@dataclass(frozen=True)
class Kind:
    noun: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    schema: type[BaseModel]
    formula_checked: tuple[str, ...]


KPIS = Kind("KPI observations",
            ("team", "model", "kpi", "month", "amount", "source", "external_id", "note"),
            ("team", "model", "kpi", "month", "amount"), KpiObservationIn, ("model", "note"))
QUALITY = Kind("quality observations",
               ("team", "model", "metric", "value", "observed_at", "version", "source",
                "external_id"),
               ("team", "model", "metric", "value", "observed_at"), QualityObservationIn,
               ("model", "metric", "version"))
COLUMN_HELP = {
    "team": "Team slug.", "model": "Model name (the model must exist).",
    "kpi": "The KPI's key (added on the model's value page or through the API).",
    "month": "YYYY-MM, not in the future.",
    "amount": "In the KPI's unit; may be negative (a loss).",
    "metric": "Quality metric name, e.g. auc or rmse (created on first sight).",
    "value": "A finite number.",
    "observed_at": "ISO 8601 with a time zone, e.g. 2026-05-01T12:00:00Z.",
    "version": "Optional model version.", "note": "Optional.",
    "source": "manual, api, mlflow or csv (the default).",
    "external_id": "Optional; unique per source, so that importing a file twice stores it once.",
}


@dataclass
class ObservationImportResult(ImportResult):
    existing: int = 0  # rows already stored with the same content

    @property
    def refused(self) -> bool:
        return bool(self.errors) and self.imported == 0 and self.existing == 0


def _row(kind: Kind, cells: dict[str, str]) -> tuple[Any, list[tuple[str, str]]]:
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in kind.columns:
        raw = cells.get(name, "")
        value = raw.strip()
        problem = cell_problem(name, raw, required=kind.required,
                               formula_checked=kind.formula_checked)
        if problem:
            problems[name] = problem
        elif value:
            values[name] = value.lower() if name in ("team", "source") else value
    values.setdefault("source", EventSource.csv)
    try:
        data = kind.schema(**values)
    except ValidationError as exc:
        for error in exc.errors():
            problems.setdefault(str(error["loc"][0]), pydantic_message(error))
        data = None
    if problems:
        order = {name: i for i, name in enumerate(kind.columns)}
        return None, sorted(problems.items(), key=lambda item: order.get(item[0], len(order)))
    return data, []


def _import(kind: Kind, session: Session, data: bytes, record: Callable[[Any], Any], *,
            skip_invalid: bool) -> ObservationImportResult:
    parsed = parse_table(data, columns=kind.columns, required=kind.required, noun=kind.noun)
    if parsed.fatal:
        return ObservationImportResult(0, parsed.errors)
    result = ObservationImportResult(0, list(parsed.errors))
    everything = session.begin_nested()
    for line, cells in parsed.rows:
        item, problems = _row(kind, cells)
        if item is None:
            result.errors += [RowError(line, name, message) for name, message in problems]
            continue
        try:
            with session.begin_nested():
                [written] = record(item)
        except ValidationFailed as exc:
            result.errors += [RowError(line, e.field.removeprefix("0."), e.message)
                              for e in exc.errors]
        except Conflict as exc:
            result.errors.append(RowError(line, (exc.field or "external_id").removeprefix("0."),
                                          exc.message))
        except PermissionDenied as exc:
            result.errors.append(RowError(line, "team", exc.message))
        else:
            if written.changed:
                result.imported += 1
            else:
                result.existing += 1
    result.errors.sort(key=lambda e: e.line or 0)
    if result.errors and not skip_invalid:
        everything.rollback()
        return ObservationImportResult(0, result.errors)
    everything.commit()
    return result


def import_kpi_observations(session: Session, data: bytes, *, actor: Principal, today: date,
                            skip_invalid: bool = False) -> ObservationImportResult:
    """A KPI amount per row; a month written again replaces the amount (audited)."""
    return _import(KPIS, session, data, lambda item: service.record_kpi_observations(
        session, [item], actor=actor, today=today), skip_invalid=skip_invalid)


def import_quality_observations(session: Session, data: bytes, *, actor: Principal,
                                skip_invalid: bool = False) -> ObservationImportResult:
    """A quality observation per row; a metric seen for the first time is created."""
    return _import(QUALITY, session, data, lambda item: service.record_quality_observations(
        session, [item], actor=actor), skip_invalid=skip_invalid)
