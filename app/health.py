"""Liveness and readiness probes for load balancers and orchestrators."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter()


@router.get("/healthz", name="health.live")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", name="health.ready")
def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at the migration head this code expects."""
    head = request.app.state.migration_head
    try:
        with request.app.state.engine.connect() as conn:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if current != head:
        return JSONResponse(
            {"status": "unavailable", "database": "ok", "migration": current, "expected": head},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok", "migration": current})
