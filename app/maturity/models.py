"""MLOps maturity assessments: an answer per rubric capability and the computed level."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.types import str_enum
from app.core.clock import utcnow
from app.core.orm import Base, UTCDateTime
from app.teams.models import Team


class Answer(enum.StrEnum):
    no = "no"
    partial = "partial"
    yes = "yes"


class MaturityAssessment(Base):
    __tablename__ = "maturity_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="RESTRICT"))
    assessed_on: Mapped[date] = mapped_column(Date)
    rubric_version: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer)
    score: Mapped[Decimal] = mapped_column(Numeric(4, 2))
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    team: Mapped[Team] = relationship(lazy="raise")
    assessor: Mapped[User | None] = relationship(lazy="raise")
    answers: Mapped[list["MaturityAnswer"]] = relationship(
        back_populates="assessment", lazy="raise", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_maturity_assessment_team_assessed_on", "team_id", "assessed_on"),
        CheckConstraint("level >= 0 AND score >= 0", name="non_negative"),
    )


class MaturityAnswer(Base):
    __tablename__ = "maturity_answer"

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("maturity_assessment.id", ondelete="CASCADE"), primary_key=True
    )
    capability: Mapped[str] = mapped_column(String(64), primary_key=True)
    answer: Mapped[Answer] = mapped_column(str_enum(Answer, "maturity_answer_value"))
    note: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")

    assessment: Mapped[MaturityAssessment] = relationship(back_populates="answers", lazy="raise")
