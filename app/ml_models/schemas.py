"""ML model, lifecycle event and compute cost shapes shared by pages, API, CSV and MLflow sync."""

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import FreeText, ZonedDateTime
from app.ml_models.models import EventSource, EventType, ModelKind

ModelName = FreeText(strip_whitespace=True, min_length=1, max_length=120)
Ref = FreeText(strip_whitespace=True, min_length=1, max_length=120)
MoneyIn = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999.99"), decimal_places=2)]


class ModelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: Ref = Field(description="Team slug.")
    name: ModelName
    use_case: FreeText(multiline=True, max_length=2000) = ""
    kind: ModelKind = ModelKind.classical
    annual_value_low: MoneyIn | None = Field(
        default=None, description="Money a year while in production: lowest believable.")
    annual_value_likely: MoneyIn | None = Field(default=None, description="… most likely.")
    annual_value_high: MoneyIn | None = Field(default=None, description="… highest believable.")


class ModelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ModelName | None = None
    use_case: FreeText(multiline=True, max_length=2000) | None = None
    kind: ModelKind | None = None
    annual_value_low: MoneyIn | None = Field(
        default=None, description="Money a year while in production: lowest believable. The "
                                  "three are given together, or all null to clear the estimate.")
    annual_value_likely: MoneyIn | None = None
    annual_value_high: MoneyIn | None = None
    archived: bool | None = None
    version: int | None = Field(default=None, ge=1, le=999_999_999, description=(
        "The version you read (or send `If-Match`); a stale one is refused with 409."))


class EventIn(BaseModel):
    """One lifecycle event of a known model."""

    model_config = ConfigDict(extra="forbid")

    type: EventType
    occurred_at: ZonedDateTime = Field(description="ISO 8601 with a time zone, e.g. "
                                              "2026-05-01T12:00:00Z; stored in UTC.")
    version: FreeText(strip_whitespace=True, max_length=64) | None = None
    source: EventSource = EventSource.api
    external_id: FreeText(strip_whitespace=True, min_length=1,
                                                  max_length=200) | None = Field(
        default=None, description="Unique per source: the same event posted twice is stored "
                                  "once.")


class BulkEventIn(EventIn):
    """An event that names its model by team slug and model name (created on first sight)."""

    team: Ref
    model: ModelName


class ComputeCostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: date = Field(description="Any day of the month; stored as its first day.")
    gpu_hours: Annotated[Decimal, Field(ge=0, le=10_000_000, decimal_places=2)] = Decimal("0")
    amount: MoneyIn
    note: FreeText(multiline=True, max_length=500) = ""
