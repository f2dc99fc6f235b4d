"""Org settings in and out."""

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import FreeText

Currency = FreeText(strip_whitespace=True, to_upper=True,
                                            pattern=r"^[A-Za-z]{3}$")


class OrgSettingsOut(BaseModel):
    name: str
    currency: str
    fiscal_year_start_month: int
    working_weeks_per_year: Decimal
    working_hours_per_week: Decimal
    version: int
    target_lead_time_days: int
    staleness_days: int


class OrgSettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: FreeText(strip_whitespace=True, min_length=1,
                                           max_length=120) | None = None
    currency: Currency | None = Field(default=None, description="ISO 4217 code, e.g. USD")
    fiscal_year_start_month: Annotated[int, Field(ge=1, le=12)] | None = None
    working_weeks_per_year: Annotated[Decimal, Field(gt=0, le=52, decimal_places=1)] | None = None
    working_hours_per_week: Annotated[Decimal, Field(gt=0, le=168, decimal_places=1)] | None = None
    version: int | None = Field(default=None, ge=1, le=999_999_999, description=(
        "The version you read (or send `If-Match`); a stale one is refused with 409."))
    target_lead_time_days: Annotated[int, Field(
        ge=0, le=3650, description="Lead time beyond this costs money (cost of delay).")] | None = None
    staleness_days: Annotated[int, Field(
        ge=1, le=3650, description="A model deployed longer ago than this is stale: its value "
                                   "is at risk.")] | None = None
