"""Reads of import jobs (app/imports/service.py runs them)."""

from sqlalchemy.orm import Session

from app.auth.models import Role
from app.auth.permissions import Principal
from app.imports.models import ImportJob


def get_job(session: Session, job_id: int, actor: Principal) -> ImportJob | None:
    """The job when `actor` started it (or is an admin)."""
    job = session.get(ImportJob, job_id)
    if job is None or (job.actor_id != actor.user_id and actor.role != Role.admin):
        return None
    return job
