"""Teams, personas with their default hourly cost, team headcounts and the lifecycle stages."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.types import Money
from app.core.clock import utcnow
from app.core.orm import Base, UTCDateTime


class Team(Base):
    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    is_archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Optimistic locking: a save names the version it read; a stale one is refused (409).
    version: Mapped[int] = mapped_column(Integer, default=1)

    headcounts: Mapped[list["TeamPersona"]] = relationship(
        back_populates="team", lazy="raise", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (CheckConstraint("slug <> ''", name="slug_not_empty"),)


class Persona(Base):
    __tablename__ = "persona"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    hourly_cost: Mapped[Decimal] = mapped_column(Money)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Optimistic locking: a save names the version it read; a stale one is refused (409).
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (CheckConstraint("hourly_cost >= 0", name="hourly_cost_non_negative"),)


class TeamPersona(Base):
    """How many people of a persona a team has, and optionally what an hour of theirs costs."""

    __tablename__ = "team_persona"

    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), primary_key=True)
    persona_id: Mapped[int] = mapped_column(
        ForeignKey("persona.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    headcount: Mapped[int] = mapped_column(Integer, default=0)
    hourly_cost: Mapped[Decimal | None] = mapped_column(Money)

    team: Mapped[Team] = relationship(back_populates="headcounts", lazy="raise")
    persona: Mapped[Persona] = relationship(lazy="raise")

    __table_args__ = (
        CheckConstraint("headcount >= 0 AND headcount <= 100000", name="headcount_range"),
        CheckConstraint("hourly_cost IS NULL OR hourly_cost >= 0", name="hourly_cost_non_negative"),
    )


class Stage(Base):
    """A lifecycle stage; `position` orders them from data acquisition to governance."""

    __tablename__ = "lifecycle_stage"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    position: Mapped[int] = mapped_column(Integer, unique=True)
