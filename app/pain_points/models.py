"""Pain points (friction with an hours-lost estimate) and confirmations by the people affected."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.types import Hours, str_enum
from app.core.clock import utcnow
from app.core.orm import Base, UTCDateTime
from app.teams.models import Persona, Stage, Team

# A week has 168 hours: a recurring estimate above that is absurd. A one-time effort is capped
# at a working year.
MAX_WEEKLY_HOURS = 168
MAX_ONE_TIME_HOURS = 2000
MAX_PEOPLE_AFFECTED = 100_000
MAX_TITLE_LENGTH = 200


class PainPointKind(enum.StrEnum):
    recurring = "recurring"
    one_time = "one_time"


class PainPointStatus(enum.StrEnum):
    open = "open"
    in_progress = "in_progress"
    resolved = "resolved"
    wont_fix = "wont_fix"


class PainPoint(Base):
    __tablename__ = "pain_point"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="RESTRICT"), index=True)
    persona_id: Mapped[int] = mapped_column(ForeignKey("persona.id", ondelete="RESTRICT"), index=True)
    stage_id: Mapped[int] = mapped_column(
        ForeignKey("lifecycle_stage.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(MAX_TITLE_LENGTH))
    description: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[PainPointKind] = mapped_column(str_enum(PainPointKind, "pain_point_kind"))
    hours_low: Mapped[Decimal] = mapped_column(Hours)
    hours_likely: Mapped[Decimal] = mapped_column(Hours)
    hours_high: Mapped[Decimal] = mapped_column(Hours)
    people_affected: Mapped[int] = mapped_column(Integer)
    status: Mapped[PainPointStatus] = mapped_column(
        str_enum(PainPointStatus, "pain_point_status"), default=PainPointStatus.open, index=True
    )
    observed_since: Mapped[date] = mapped_column(Date, default=date.today, index=True)
    resolved_on: Mapped[date | None] = mapped_column(Date)
    reporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    team: Mapped[Team] = relationship(lazy="raise")
    persona: Mapped[Persona] = relationship(lazy="raise")
    stage: Mapped[Stage] = relationship(lazy="raise")
    reporter: Mapped[User | None] = relationship(lazy="raise")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # A derived-table refresh reads one (team, persona, stage) scope's pain points: through
        # the team index alone, a save in a big team read every row of the team 24 times.
        Index("ix_pain_point_scope", "team_id", "persona_id", "stage_id"),
        CheckConstraint("title <> ''", name="title_not_empty"),
        CheckConstraint(
            "hours_low >= 0 AND hours_low <= hours_likely AND hours_likely <= hours_high",
            name="hours_ordered",
        ),
        CheckConstraint(
            f"hours_high <= {MAX_ONE_TIME_HOURS} AND "
            f"(kind = 'one_time' OR hours_high <= {MAX_WEEKLY_HOURS})",
            name="hours_bounded",
        ),
        CheckConstraint(
            f"people_affected >= 1 AND people_affected <= {MAX_PEOPLE_AFFECTED}",
            name="people_affected_range",
        ),
        CheckConstraint(
            "(status = 'resolved' AND resolved_on IS NOT NULL) OR "
            "(status <> 'resolved' AND resolved_on IS NULL)",
            name="resolved_on_iff_resolved",
        ),
        CheckConstraint(
            "resolved_on IS NULL OR resolved_on >= observed_since", name="resolved_after_observed"
        ),
    )


class Confirmation(Base):
    """"This hits me too": a member of an affected team gives its own hours estimate."""

    __tablename__ = "pain_point_confirmation"

    id: Mapped[int] = mapped_column(primary_key=True)
    pain_point_id: Mapped[int] = mapped_column(ForeignKey("pain_point.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    hours: Mapped[Decimal] = mapped_column(Hours)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("pain_point_id", "user_id"),
        CheckConstraint(f"hours >= 0 AND hours <= {MAX_ONE_TIME_HOURS}", name="hours_range"),
    )


# --- derived data: quarter totals of cost (app/pain_points/summary.py keeps them in step) ----

class CostQuarter(Base):
    """The cost figures of one quarter for one (team, persona, stage): what the dashboards,
    the metrics API and the reports sum for whole quarters instead of evaluating the cost
    formula on every pain point. Never edited by hand: rebuilt from pain_point by the same
    expressions as the live query, in the transaction of every write it depends on."""

    __tablename__ = "pain_point_cost_quarter"

    quarter_first: Mapped[date] = mapped_column(Date, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
    persona_id: Mapped[int] = mapped_column(ForeignKey("persona.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("lifecycle_stage.id", ondelete="CASCADE"),
                                          primary_key=True)
    quarter_last: Mapped[date] = mapped_column(Date)
    # Cost in the quarter; `cost_resolved` is the part of the pain points resolved by its end.
    cost: Mapped[Decimal] = mapped_column(Numeric(asdecimal=True))
    cost_low: Mapped[Decimal] = mapped_column(Numeric(asdecimal=True))
    cost_high: Mapped[Decimal] = mapped_column(Numeric(asdecimal=True))
    cost_resolved: Mapped[Decimal] = mapped_column(Numeric(asdecimal=True))
    # As of the quarter's last day.
    run_rate: Mapped[Decimal] = mapped_column(Numeric(asdecimal=True))
    run_rate_low: Mapped[Decimal] = mapped_column(Numeric(asdecimal=True))
    run_rate_high: Mapped[Decimal] = mapped_column(Numeric(asdecimal=True))
    hours_per_week: Mapped[Decimal] = mapped_column(Numeric(asdecimal=True))
    pain_points: Mapped[int] = mapped_column(Integer)
    active_pain_points: Mapped[int] = mapped_column(Integer)

    # Derived: a backup leaves it out, a restore rebuilds it.
    __table_args__ = {"info": {"backup": False}}


class CostSummaryState(Base):
    """What the rows of pain_point_cost_quarter were built for: the quarters they cover and the
    org settings they depend on. No row: not built yet (every read is live)."""

    __tablename__ = "pain_point_cost_summary"

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    fiscal_year_start_month: Mapped[int] = mapped_column(Integer)
    working_weeks_per_year: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    first_day: Mapped[date] = mapped_column(Date)  # of the first quarter covered
    last_day: Mapped[date] = mapped_column(Date)  # of the last quarter covered
    anchor: Mapped[date] = mapped_column(Date)  # first day of the current quarter at build time
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("id = 1", name="single_row"), {"info": {"backup": False}})


class RunRateRank(Base):
    """Derived data (app/pain_points/summary.py): the as-if-open annual run-rate of every live
    recurring pain point with what decides whether it runs on a given day, indexed by size so
    that "the costliest pain points" reads a few index entries instead of pricing them all."""

    __tablename__ = "pain_point_run_rate"

    pain_point_id: Mapped[int] = mapped_column(ForeignKey("pain_point.id", ondelete="CASCADE"),
                                               primary_key=True)
    team_id: Mapped[int] = mapped_column(Integer, index=True)
    persona_id: Mapped[int] = mapped_column(Integer)
    stage_id: Mapped[int] = mapped_column(Integer)
    observed_since: Mapped[date] = mapped_column(Date)
    resolved_on: Mapped[date | None] = mapped_column(Date)
    run_rate: Mapped[Decimal] = mapped_column(Numeric(asdecimal=True))

    __table_args__ = (Index("ix_pain_point_run_rate_order", "run_rate", "pain_point_id"),
                      {"info": {"backup": False}})
