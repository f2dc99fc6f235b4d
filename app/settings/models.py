"""Organisation-wide settings: one row."""

from decimal import Decimal

from sqlalchemy import CheckConstraint, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.orm import Base

ORG_SETTINGS_ID = 1


class OrgSettings(Base):
    __tablename__ = "org_settings"

    id: Mapped[int] = mapped_column(primary_key=True, default=ORG_SETTINGS_ID)
    name: Mapped[str] = mapped_column(String(120), default="Northstar")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    fiscal_year_start_month: Mapped[int] = mapped_column(Integer, default=1)
    working_weeks_per_year: Mapped[Decimal] = mapped_column(Numeric(4, 1), default=Decimal("46"))
    working_hours_per_week: Mapped[Decimal] = mapped_column(Numeric(4, 1), default=Decimal("40"))
    # Optimistic locking: a save names the version it read; a stale one is refused (409).
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Model value (docs/product.md): lead time beyond the target costs money; a deployment older than
    # staleness_days puts the model's value at risk.
    target_lead_time_days: Mapped[int] = mapped_column(Integer, default=30)
    staleness_days: Mapped[int] = mapped_column(Integer, default=180)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint(f"id = {ORG_SETTINGS_ID}", name="single_row"),
        CheckConstraint("fiscal_year_start_month BETWEEN 1 AND 12", name="fiscal_month"),
        CheckConstraint("working_weeks_per_year > 0 AND working_weeks_per_year <= 52", name="weeks"),
        CheckConstraint("working_hours_per_week > 0 AND working_hours_per_week <= 168", name="hours"),
        CheckConstraint("target_lead_time_days >= 0 AND target_lead_time_days <= 3650",
                        name="target_lead_time"),
        CheckConstraint("staleness_days >= 1 AND staleness_days <= 3650", name="staleness"),
    )
