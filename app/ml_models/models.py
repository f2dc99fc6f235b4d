"""ML models, their lifecycle events (from pipelines, MLflow, CSV or by hand) and compute costs."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.types import Hours, Money, str_enum
from app.core.clock import utcnow
from app.core.orm import Base, UTCDateTime
from app.teams.models import Team


class ModelKind(enum.StrEnum):
    classical = "classical"
    llm = "llm"


class EventType(enum.StrEnum):
    ideated = "ideated"
    data_ready = "data_ready"
    experiment_started = "experiment_started"
    validated = "validated"
    registered = "registered"
    deployed = "deployed"
    rolled_back = "rolled_back"
    retired = "retired"


class EventSource(enum.StrEnum):
    manual = "manual"
    api = "api"
    mlflow = "mlflow"
    csv = "csv"


class MLModel(Base):
    __tablename__ = "ml_model"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    use_case: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[ModelKind] = mapped_column(
        str_enum(ModelKind, "model_kind"), default=ModelKind.classical
    )
    # Money a year while in production, a three-point estimate (all three or none).
    annual_value_low: Mapped[Decimal | None] = mapped_column(Money)
    annual_value_likely: Mapped[Decimal | None] = mapped_column(Money)
    annual_value_high: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Optimistic locking: a save names the version it read; a stale one is refused (409).
    version: Mapped[int] = mapped_column(Integer, default=1)

    team: Mapped[Team] = relationship(lazy="raise")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("team_id", "name"),
        CheckConstraint("name <> ''", name="name_not_empty"),
        CheckConstraint(
            "(annual_value_low IS NULL AND annual_value_likely IS NULL "
            "AND annual_value_high IS NULL) OR (annual_value_low >= 0 "
            "AND annual_value_low <= annual_value_likely "
            "AND annual_value_likely <= annual_value_high)",
            name="annual_value_ordered",
        ),
    )


class LifecycleEvent(Base):
    __tablename__ = "lifecycle_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("ml_model.id", ondelete="CASCADE"))
    type: Mapped[EventType] = mapped_column(str_enum(EventType, "event_type"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[EventSource] = mapped_column(
        str_enum(EventSource, "event_source"), default=EventSource.manual
    )
    # Unique per source, so that posting the same event twice stores it once. NULL for events
    # entered by hand (NULLs never collide).
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    model: Mapped[MLModel] = relationship(lazy="raise")

    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_lifecycle_event_model_type_occurred", "model_id", "type", "occurred_at"),
        Index("ix_lifecycle_event_type_occurred", "type", "occurred_at"),
    )


class ComputeCost(Base):
    """GPU hours and spend of one model in one calendar month (`month` is its first day)."""

    __tablename__ = "compute_cost"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("ml_model.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date, index=True)
    gpu_hours: Mapped[Decimal] = mapped_column(Hours, default=Decimal("0"))
    amount: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        UniqueConstraint("model_id", "month"),
        CheckConstraint("gpu_hours >= 0 AND amount >= 0", name="non_negative"),
    )
