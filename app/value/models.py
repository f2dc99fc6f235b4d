"""What a model earns: business KPIs with monthly observations, and quality metrics with
observations over time (docs/product.md, "Model value")."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean, CheckConstraint, Date, Double, ForeignKey, Index, Integer, Numeric, String, Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.types import str_enum
from app.core.clock import utcnow
from app.core.orm import Base, UTCDateTime
from app.ml_models.models import EventSource, MLModel

# Money per unit of a KPI: four places, so that "0.0125 USD per impression" is exact.
UnitValue = Numeric(14, 4, asdecimal=True)
# A KPI amount: a count or a sum of money, may be negative (a loss).
Amount = Numeric(18, 4, asdecimal=True)


class Kpi(Base):
    """A business KPI of a model: `value_per_unit` turns its amount into money."""

    __tablename__ = "kpi"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("ml_model.id", ondelete="CASCADE"),
                                          index=True)
    key: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(120))
    unit: Mapped[str] = mapped_column(String(60))
    value_per_unit: Mapped[Decimal] = mapped_column(UnitValue)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    model: Mapped[MLModel] = relationship(lazy="raise")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("model_id", "key"),
        CheckConstraint("value_per_unit > 0", name="value_per_unit_positive"),
        CheckConstraint("key <> '' AND name <> ''", name="not_empty"),
    )


class KpiObservation(Base):
    """One KPI's amount in one calendar month (`month` is its first day)."""

    __tablename__ = "kpi_observation"

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id", ondelete="CASCADE"))
    # Denormalised from the KPI so that value aggregates group by model without a join.
    model_id: Mapped[int] = mapped_column(ForeignKey("ml_model.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Amount)
    source: Mapped[EventSource] = mapped_column(
        str_enum(EventSource, "kpi_observation_source"), default=EventSource.manual)
    external_id: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("kpi_id", "month"),
        UniqueConstraint("source", "external_id"),
        Index("ix_kpi_observation_model_month", "model_id", "month"),
        Index("ix_kpi_observation_month", "month"),
    )


class QualityMetric(Base):
    """A model's quality metric (auc, rmse, thumbs_up_rate, …) and how to read it."""

    __tablename__ = "quality_metric"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("ml_model.id", ondelete="CASCADE"),
                                          index=True)
    name: Mapped[str] = mapped_column(String(80))
    higher_is_better: Mapped[bool] = mapped_column(Boolean, default=True)
    tolerance: Mapped[Decimal] = mapped_column(Numeric(6, 4, asdecimal=True),
                                               default=Decimal("0.05"))

    __table_args__ = (
        UniqueConstraint("model_id", "name"),
        CheckConstraint("tolerance >= 0 AND tolerance <= 1", name="tolerance_range"),
        CheckConstraint("name <> ''", name="name_not_empty"),
    )


class QualityObservation(Base):
    """One measurement of a quality metric (a float: metrics are not money)."""

    __tablename__ = "quality_observation"

    id: Mapped[int] = mapped_column(primary_key=True)
    metric_id: Mapped[int] = mapped_column(ForeignKey("quality_metric.id", ondelete="CASCADE"))
    model_id: Mapped[int] = mapped_column(ForeignKey("ml_model.id", ondelete="CASCADE"),
                                          index=True)
    value: Mapped[float] = mapped_column(Double)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[EventSource] = mapped_column(
        str_enum(EventSource, "quality_observation_source"), default=EventSource.manual)
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_quality_observation_metric_observed", "metric_id", "observed_at"),
    )


class ProductionPeriod(Base):
    """Derived data (app/value/production.py keeps it in step with lifecycle_event): the
    stretches of UTC days [start_day, end_day) on which a model is in production, from a
    deployment that follows none or a retirement to the next retirement (end_day NULL: still
    in production). Tens of redeployments make one row, so value delivered joins a few
    thousand periods instead of a window over every deployed event."""

    __tablename__ = "production_period"

    model_id: Mapped[int] = mapped_column(ForeignKey("ml_model.id", ondelete="CASCADE"),
                                          primary_key=True)
    start_day: Mapped[int] = mapped_column(Integer, primary_key=True)
    end_day: Mapped[int | None] = mapped_column(Integer)

    # Derived: a backup leaves it out, a restore rebuilds it.
    __table_args__ = {"info": {"backup": False}}


class ModelValueMonth(Base):
    """Derived data (app/value/monthly.py keeps it in step with the events, KPI observations,
    KPIs, compute costs and annual values it is computed from): a model's value and compute
    cost of a whole calendar month, before any pro-rating to a period — a row for each month,
    up to the horizon of `model_value_state`, in which the model has production days, a KPI
    observation or a compute cost. Value delivered in a period pro-rates these rows."""

    __tablename__ = "model_value_month"

    model_id: Mapped[int] = mapped_column(ForeignKey("ml_model.id", ondelete="CASCADE"),
                                          primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    # Unconstrained NUMERIC: the exact figures the live query computes, every digit kept.
    low: Mapped[Decimal] = mapped_column(Numeric(asdecimal=True))
    value: Mapped[Decimal] = mapped_column(Numeric(asdecimal=True))
    high: Mapped[Decimal] = mapped_column(Numeric(asdecimal=True))
    measured: Mapped[Decimal] = mapped_column(Numeric(asdecimal=True))
    estimated: Mapped[Decimal] = mapped_column(Numeric(asdecimal=True))
    compute: Mapped[Decimal] = mapped_column(Numeric(asdecimal=True))

    __table_args__ = {"info": {"backup": False}}


class ModelValueState(Base):
    """The last month `model_value_month` covers (a model in production has estimated value
    in every month to come): reads past it are live until `northstar maintain` rolls it."""

    __tablename__ = "model_value_state"

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    horizon: Mapped[date] = mapped_column(Date)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("id = 1", name="single_row"), {"info": {"backup": False}})
