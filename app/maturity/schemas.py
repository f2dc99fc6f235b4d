"""Maturity assessment input and output."""

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.maturity.models import Answer


class AnswerDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: Answer
    note: Annotated[str, StringConstraints(max_length=1000)] = ""
    evidence: Annotated[str, StringConstraints(max_length=500)] = ""


class AssessmentIn(BaseModel):
    """An assessment: one answer per capability of the rubric (no / partial / yes)."""

    model_config = ConfigDict(extra="forbid")

    team: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    assessed_on: date | None = Field(default=None, description="Defaults to today.")
    answers: dict[str, Answer | AnswerDetail]


class AssessmentOut(BaseModel):
    id: int
    team: str
    assessed_on: date
    rubric_version: str
    level: int
    score: Decimal
    gaps: list[str]
    answers: dict[str, str]
