"""CSV imports too large to hold one request open for: validated in the request (every bad
row shown at once), then stored in the background while the page polls the job's row.

The job is a row (app/imports/models.py): whichever replica answers the poll reads the same
status, counts and errors. The work runs in a thread of the replica that took the upload, in
its own session and transaction (one commit at the end, so the import is still all or
nothing); its progress is written by short transactions of their own. A replica that stops
mid-import leaves its job `running`: the page says how long it has been running.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from app.auth.permissions import Principal
from app.core.csv_tools import RowError
from app.core.clock import utcnow
from app.db import begin_write
from app.imports.models import ImportJob, ImportKind, ImportStatus
from app.pain_points import csv_io

# Files with more rows than this are stored in the background; smaller ones in the request.
BACKGROUND_ROWS = 1000
# Progress is written at most this often (rows): each write is a transaction of its own.
_PROGRESS_EVERY = 1000

Runner = Callable[[Callable[[], None]], Any]
_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="northstar-import")


def background(work: Callable[[], None]) -> Any:
    """The default runner: one import at a time per process, in a worker thread."""
    return _pool.submit(work)


def _errors(errors: list[RowError]) -> list[dict[str, Any]]:
    return [{"line": e.line, "field": e.field, "message": e.message} for e in errors]


def start_pain_point_import(make_session: sessionmaker[Session], runner: Runner, data: bytes, *,
                            filename: str, actor: Principal, today: date, skip_invalid: bool,
                            rows: int, skipped: list[RowError]) -> int:
    """Records the job, hands the import to `runner` and returns the job's id at once."""
    with make_session() as session:
        job = ImportJob(kind=ImportKind.pain_points, actor_id=actor.user_id,
                        filename=filename[:255], total=rows, stored=0,
                        errors=_errors(skipped), message="")
        session.add(job)
        session.commit()
        job_id = job.id

    def progress(stored: int) -> None:
        if stored % _PROGRESS_EVERY == 0 or stored == rows:
            _set(make_session, job_id, stored=stored)

    def work() -> None:
        try:
            with make_session() as session:
                begin_write(session)
                result = csv_io.import_pain_points(session, data, actor=actor, today=today,
                                                   skip_invalid=skip_invalid,
                                                   progress=progress)
                if result.refused:  # the data changed since it was checked (a team archived)
                    session.rollback()
                    _set(make_session, job_id, status=ImportStatus.failed,
                         errors=_errors(result.errors), finished_at=utcnow(),
                         message="Nothing was imported: the file no longer passes the checks.")
                    return
                session.commit()
            _set(make_session, job_id, status=ImportStatus.done, stored=result.imported,
                 errors=_errors(result.errors), finished_at=utcnow())
        except Exception as exc:  # the job must end; the log has the traceback
            import logging

            logging.getLogger("northstar").exception("import job %s failed", job_id)
            _set(make_session, job_id, status=ImportStatus.failed, finished_at=utcnow(),
                 message=f"Nothing was imported: {type(exc).__name__}. Try again; if it "
                         "fails again, the server log has the details.")

    runner(work)
    return job_id


def _set(make_session: sessionmaker[Session], job_id: int, **values: Any) -> None:
    with make_session() as session:
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))
        session.commit()
