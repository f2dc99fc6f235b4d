"""Pain-point input and output shapes, shared by the form, the API and the CSV import."""

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import MAX_ID, FreeText
from app.pain_points.models import (
    MAX_ONE_TIME_HOURS, MAX_PEOPLE_AFFECTED, MAX_TITLE_LENGTH, PainPointKind, PainPointStatus,
)

HoursValue = Annotated[Decimal, Field(ge=0, le=MAX_ONE_TIME_HOURS, max_digits=8, decimal_places=2)]
Ref = FreeText(strip_whitespace=True, min_length=1, max_length=120)


class PainPointIn(BaseModel):
    """Everything a PM enters. Cross-field rules (hours order, dates, references) are checked
    by the service, which names the field at fault."""

    model_config = ConfigDict(extra="forbid")

    team: Ref = Field(description="Team slug (or name in CSV imports).")
    persona: Ref = Field(description="Persona slug (or name).")
    stage: Ref = Field(description="Lifecycle stage slug (or name).")
    title: FreeText(strip_whitespace=True, min_length=1,
                                            max_length=MAX_TITLE_LENGTH)
    description: FreeText(multiline=True, max_length=5000) = ""
    evidence: FreeText(multiline=True, max_length=2000) = ""
    kind: PainPointKind = PainPointKind.recurring
    hours_low: HoursValue
    hours_likely: HoursValue
    hours_high: HoursValue
    people_affected: Annotated[int, Field(ge=1, le=MAX_PEOPLE_AFFECTED)] | None = Field(
        default=None, description="Defaults to the team's headcount for the persona.")
    status: PainPointStatus = PainPointStatus.open
    observed_since: date | None = Field(default=None, description="Defaults to today.")
    resolved_on: date | None = None


class PainPointPatch(BaseModel):
    """A partial update; `version` is the one the editor saw (optimistic locking)."""

    model_config = ConfigDict(extra="forbid")

    version: Annotated[int, Field(ge=0, le=MAX_ID)] | None = None
    team: Ref | None = None
    persona: Ref | None = None
    stage: Ref | None = None
    title: FreeText(strip_whitespace=True, min_length=1,
                                            max_length=MAX_TITLE_LENGTH) | None = None
    description: FreeText(multiline=True, max_length=5000) | None = None
    evidence: FreeText(multiline=True, max_length=2000) | None = None
    kind: PainPointKind | None = None
    hours_low: HoursValue | None = None
    hours_likely: HoursValue | None = None
    hours_high: HoursValue | None = None
    people_affected: Annotated[int, Field(ge=1, le=MAX_PEOPLE_AFFECTED)] | None = None
    status: PainPointStatus | None = None
    observed_since: date | None = None
    resolved_on: date | None = None


class ConfirmationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hours: HoursValue
    comment: FreeText(multiline=True, max_length=1000) = ""
