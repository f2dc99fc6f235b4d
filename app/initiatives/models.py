"""Platform initiatives and the pain points each is expected to reduce."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.types import Money, Percent, str_enum
from app.core.clock import utcnow
from app.core.orm import Base, UTCDateTime
from app.teams.models import Team


class InitiativeStatus(enum.StrEnum):
    proposed = "proposed"
    in_progress = "in_progress"
    delivered = "delivered"
    cancelled = "cancelled"


class Initiative(Base):
    __tablename__ = "initiative"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: an org-wide investment.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="RESTRICT"),
                                                index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[InitiativeStatus] = mapped_column(
        str_enum(InitiativeStatus, "initiative_status"), default=InitiativeStatus.proposed
    )
    one_time_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    yearly_run_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    started_on: Mapped[date | None] = mapped_column(Date)
    delivered_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Optimistic locking: a save names the version it read; a stale one is refused (409).
    version: Mapped[int] = mapped_column(Integer, default=1)

    team: Mapped[Team | None] = relationship(lazy="raise")
    links: Mapped[list["InitiativeLink"]] = relationship(
        back_populates="initiative", lazy="raise", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint("title <> ''", name="title_not_empty"),
        CheckConstraint("one_time_cost >= 0 AND yearly_run_cost >= 0", name="costs_non_negative"),
        CheckConstraint(
            "delivered_on IS NULL OR started_on IS NULL OR delivered_on >= started_on",
            name="delivered_after_started",
        ),
    )


class InitiativeLink(Base):
    """A pain point an initiative addresses, with the share of its cost expected to go away."""

    __tablename__ = "initiative_pain_point"

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True
    )
    pain_point_id: Mapped[int] = mapped_column(
        ForeignKey("pain_point.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    expected_reduction: Mapped[Decimal] = mapped_column(Percent)

    initiative: Mapped[Initiative] = relationship(back_populates="links", lazy="raise")

    __table_args__ = (
        CheckConstraint(
            "expected_reduction >= 0 AND expected_reduction <= 100", name="reduction_percent"
        ),
    )
