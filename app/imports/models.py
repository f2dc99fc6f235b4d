"""A CSV import run in the background: its progress and outcome, kept as a row so that any
replica can answer the page that polls it (app/imports/jobs.py)."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.types import str_enum
from app.core.clock import utcnow
from app.core.orm import Base, UTCDateTime


class ImportKind(enum.StrEnum):
    pain_points = "pain_points"
    events = "events"


class ImportStatus(enum.StrEnum):
    running = "running"
    done = "done"
    failed = "failed"


class ImportJob(Base):
    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(str_enum(ImportKind, "import_kind"))
    status: Mapped[ImportStatus] = mapped_column(str_enum(ImportStatus, "import_status"),
                                                 default=ImportStatus.running)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"),
                                                 index=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    total: Mapped[int] = mapped_column(Integer, default=0)  # rows to store
    stored: Mapped[int] = mapped_column(Integer, default=0)  # rows stored so far
    # The rows a "skip invalid rows" import left out: [{"line", "field", "message"}, ...].
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    message: Mapped[str] = mapped_column(Text, default="")  # why it failed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
