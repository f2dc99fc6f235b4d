"""CSV import and export pages of the pain-point ledger.

Included before the ledger's own router, so that /pain-points/import and /pain-points/export.csv
are not taken for a pain point's id.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from app.auth.deps import Editor, Reader
from app.auth.permissions import Principal
from app.core import clock
from app.core.csv_tools import MAX_BYTES, MAX_ROWS
from app.core.errors import NotFound, ValidationFailed
from app.core.types import FreeText
from app.db import SessionDep
from app.web.forms import FormDep, redirect_with_flash
from app.imports import queries as import_queries
from app.imports import service as import_service
from app.pain_points import csv_io, queries
from app.pain_points.models import PainPointStatus
from app.pain_points.measures import PainPointFilters
from app.pain_points.queries import Sort
from app.settings.service import get_org_settings
from app.web.templating import render

router = APIRouter(prefix="/pain-points", include_in_schema=False)

LEDGER = "/pain-points"


class LedgerQuery(BaseModel):
    """The ledger's filters as its URL carries them (slugs); a blank value means "any"."""

    model_config = ConfigDict(extra="ignore")  # page, page_size: the export takes every row

    team: str = ""
    persona: str = ""
    stage: str = ""
    status: list[PainPointStatus] = []
    q: FreeText(strip_whitespace=True, max_length=200) = ""
    sort: Sort = Sort.cost

    @field_validator("status", mode="before")
    @classmethod
    def _drop_blank_statuses(cls, value: Any) -> Any:
        values = value if isinstance(value, list) else [value]
        return [v for v in values if not (isinstance(v, str) and not v.strip())]

    @field_validator("sort", mode="before")
    @classmethod
    def _blank_sort(cls, value: Any) -> Any:
        return Sort.cost if isinstance(value, str) and not value.strip() else value


def ledger_filters(session: Session, query: LedgerQuery, principal: Principal) -> PainPointFilters:
    """Slugs to ids (an unknown one, or a team the principal may not read, is a 422)."""
    filters, errors = queries.scoped_filters(
        session, principal, team=query.team, persona=query.persona, stage=query.stage,
        statuses=tuple(query.status), text=query.q)
    if errors:
        raise ValidationFailed(errors)
    return filters


@router.get("/export.csv", name="pain_points.export_csv")
def export_csv(session: SessionDep, principal: Reader,
               query: Annotated[LedgerQuery, Query()]) -> Response:
    filters = ledger_filters(session, query, principal)
    body = csv_io.export_csv(session, filters, sort=query.sort,
                             weeks=get_org_settings(session).working_weeks_per_year)
    # The name is built from a date only: nothing a user typed reaches the header.
    filename = f"pain-points-{clock.today().isoformat()}.csv"
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })


# --- import -----------------------------------------------------------------------------------

def _import_page(request: Request, *, errors: list[csv_io.RowError] | None = None,
                 imported: int = 0, skip_invalid: bool = False, filename: str = "",
                 status_code: int = 200) -> Response:
    return render(request, "pain_points/import.html", {
        "columns": [(name, name in csv_io.REQUIRED, csv_io.COLUMN_HELP[name])
                    for name in csv_io.COLUMNS],
        "example": csv_io.example_lines(),
        "max_mb": MAX_BYTES // (1024 * 1024), "max_rows": MAX_ROWS,
        "errors": errors or [], "imported": imported, "skip_invalid": skip_invalid,
        "filename": filename,
    }, status_code=status_code)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


@router.get("/import", name="pain_points.import_form")
def import_form(request: Request, principal: Editor) -> Response:
    return _import_page(request)


@router.post("/import", name="pain_points.import_csv")
def import_csv(request: Request, session: SessionDep, principal: Editor,
               form: FormDep) -> Response:
    upload = form.get("file")
    skip_invalid = form.get("skip_invalid") is not None
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _import_page(request, skip_invalid=skip_invalid, status_code=422, errors=[
            csv_io.RowError(None, "file", "choose a CSV file to import")])
    # One byte past the limit is enough to know it is too large.
    data = upload.file.read(MAX_BYTES + 1)
    today = clock.today()
    checked = csv_io.check_pain_points(session, data, actor=principal, today=today)
    if checked.fatal or (checked.errors and not skip_invalid):
        return _import_page(request, errors=checked.errors, skip_invalid=skip_invalid,
                            filename=upload.filename, status_code=422)
    if len(checked.made) > import_service.BACKGROUND_ROWS:
        # Validated: stored in the background while the job's page shows the progress.
        session.rollback()
        job_id = import_service.start_pain_point_import(
            request.app.state.sessionmaker, request.app.state.import_runner, data,
            filename=upload.filename, actor=principal, today=today,
            skip_invalid=skip_invalid, rows=len(checked.made), skipped=checked.errors)
        return RedirectResponse(f"/pain-points/import/jobs/{job_id}", status_code=303)
    result = csv_io.import_pain_points(session, data, actor=principal, today=today,
                                       skip_invalid=skip_invalid)
    if result.refused:
        return _import_page(request, errors=result.errors, skip_invalid=skip_invalid,
                            filename=upload.filename, status_code=422)
    if result.errors:
        # Rows were imported and others skipped: the skipped ones are listed on this page,
        # since a redirect could not carry them.
        return _import_page(request, errors=result.errors, imported=result.imported,
                            skip_invalid=skip_invalid, filename=upload.filename)
    return redirect_with_flash(request, LEDGER,
                               f"Imported {_plural(result.imported, 'pain point')}.")


@router.get("/import/jobs/{job_id}", name="pain_points.import_job")
def import_job(request: Request, session: SessionDep, principal: Editor, job_id: int) -> Response:
    """The progress of a background import; the page polls its `status` block until it ends."""
    job = import_queries.get_job(session, job_id, principal)
    if job is None:
        raise NotFound(f"no import job {job_id}")
    context = {"job": job, "percent": (100 * job.stored // job.total) if job.total else 100}
    if request.headers.get("HX-Request"):
        return render(request, "pain_points/_import_job.html", context)
    return render(request, "pain_points/import_job.html", context)
