"""Liveness and readiness probes for load balancers and orchestrators."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter()

READY_TIMEOUT_MS = 2000


@router.get("/healthz", name="health.live")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", name="health.ready")
def readyz(request: Request) -> JSONResponse:
    """The database answers within `READY_TIMEOUT_MS` and its schema is at the migration head
    this code expects.

    It is answered outside the request gate (app/db.py RequestGate): a worker whose every slot
    is taken by requests waiting on the database says so here (its pool's connections are all
    out: 503 after the pool timeout) instead of queueing behind them, and a database that holds
    the version table locked (a migration) or answers too slowly is not ready either.
    """
    head = request.app.state.migration_head
    try:
        with request.app.state.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {READY_TIMEOUT_MS}")
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = {READY_TIMEOUT_MS}")
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if current != head:
        return JSONResponse(
            {"status": "unavailable", "database": "ok", "migration": current, "expected": head},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok", "migration": current})
