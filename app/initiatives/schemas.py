"""Initiative input shapes, shared by the pages and the API."""

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import FreeText, Id
from app.initiatives.models import InitiativeStatus

MoneyIn = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999.99"), decimal_places=2)]
Reduction = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)]


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pain_point: Id = Field(description="Pain point id.")
    expected_reduction: Reduction = Field(description="Percent of its cost expected to go, 0–100.")


class InitiativeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: FreeText(strip_whitespace=True, min_length=1, max_length=200)
    description: FreeText(multiline=True, max_length=5000) = ""
    owner: FreeText(strip_whitespace=True, max_length=120) = ""
    team: FreeText(strip_whitespace=True, max_length=64) | None = Field(
        default=None, description="Team slug; none for an org-wide initiative.")
    status: InitiativeStatus = InitiativeStatus.proposed
    one_time_cost: MoneyIn = Decimal("0")
    yearly_run_cost: MoneyIn = Decimal("0")
    started_on: date | None = None
    delivered_on: date | None = None
    links: list[LinkIn] = []


class InitiativePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: FreeText(strip_whitespace=True, min_length=1,
                                            max_length=200) | None = None
    description: FreeText(multiline=True, max_length=5000) | None = None
    owner: FreeText(strip_whitespace=True, max_length=120) | None = None
    status: InitiativeStatus | None = None
    one_time_cost: MoneyIn | None = None
    yearly_run_cost: MoneyIn | None = None
    started_on: date | None = None
    delivered_on: date | None = None
    links: list[LinkIn] | None = None
    version: int | None = Field(default=None, ge=1, le=999_999_999, description=(
        "The version you read (or send `If-Match`); a stale one is refused with 409."))
