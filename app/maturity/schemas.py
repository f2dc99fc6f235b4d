"""Maturity assessment input and output."""

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import FreeText
from app.maturity.models import Answer


class AnswerDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: Answer
    note: FreeText(multiline=True, max_length=1000) = ""
    evidence: FreeText(multiline=True, max_length=500) = ""


class AssessmentIn(BaseModel):
    """An assessment: one answer per capability of the rubric (no / partial / yes)."""

    model_config = ConfigDict(extra="forbid")

    team: FreeText(strip_whitespace=True, min_length=1, max_length=64)
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
