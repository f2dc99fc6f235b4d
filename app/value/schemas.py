"""Input shapes of KPIs, KPI observations, quality metrics and quality observations, shared by
the API, the pages and the CSV import."""

import re
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.core.types import FreeText, ZonedDateTime
from app.ml_models.models import EventSource
from app.ml_models.schemas import ModelName, Ref

KEY_PATTERN = r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$"
MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
KpiKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60,
                                          pattern=KEY_PATTERN)]
MetricName = FreeText(strip_whitespace=True, min_length=1, max_length=80)
ExternalId = FreeText(strip_whitespace=True, min_length=1, max_length=200)
KpiName = FreeText(strip_whitespace=True, min_length=1, max_length=120)
Unit = FreeText(strip_whitespace=True, min_length=1, max_length=60)
Note = FreeText(multiline=True, max_length=500)
# Money per unit: positive, four places ("0.0125 USD per impression").
ValuePerUnit = Annotated[Decimal, Field(gt=0, le=Decimal("1000000000"), decimal_places=4,
                                        allow_inf_nan=False)]
# A KPI amount: a count or money, may be negative (a loss); a trillion is beyond any model.
MAX_AMOUNT = Decimal("1000000000000")
KpiAmount = Annotated[Decimal, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, decimal_places=4,
                                     allow_inf_nan=False)]
QualityValue = Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)]
Tolerance = Annotated[Decimal, Field(ge=0, le=1, decimal_places=4, allow_inf_nan=False)]


def parse_month(text: str) -> date:
    """'2026-05' → 2026-05-01; anything else raises ValueError with a message for the user."""
    match = MONTH_RE.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a month; write it as YYYY-MM, e.g. 2026-05")
    return date(int(match.group(1)), int(match.group(2)), 1)


class KpiIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: KpiKey = Field(description="Unique per model: lower case letters, digits, `-` or `_`, "
                                    "e.g. `fraud_losses_prevented`.")
    name: KpiName
    unit: Unit = Field(description="Free text: `USD`, `hours saved`, `tickets deflected`.")
    value_per_unit: ValuePerUnit = Field(description="Money per unit, in the org's currency "
                                                     "(1 when the unit is the currency).")


class KpiPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: KpiName | None = None
    unit: Unit | None = None
    value_per_unit: ValuePerUnit | None = None
    version: int | None = Field(default=None, ge=1, description="The version you read; a stale "
                                                                "one is refused with 409.")


class KpiObservationIn(BaseModel):
    """A month's amount of one KPI, naming the model by team slug and model name."""

    model_config = ConfigDict(extra="forbid")

    team: Ref = Field(description="Team slug.")
    model: ModelName = Field(description="The model's name.")
    kpi: KpiKey = Field(description="The KPI's key.")
    month: str = Field(description="`YYYY-MM`; not in the future.", examples=["2026-05"])
    amount: KpiAmount = Field(description="In the KPI's unit; may be negative (a loss).")
    source: EventSource = EventSource.api
    external_id: ExternalId | None = Field(
        default=None, description="Unique per source: the same observation posted twice is "
                                  "stored once; the same id with other content is a 409.")
    note: Note = ""

    @field_validator("month")
    @classmethod
    def _month(cls, value: str) -> str:
        parse_month(value)
        return value.strip()

    @property
    def first_day(self) -> date:
        return parse_month(self.month)


class QualityObservationIn(BaseModel):
    """One measurement of a model's quality metric (created on first sight)."""

    model_config = ConfigDict(extra="forbid")

    team: Ref = Field(description="Team slug.")
    model: ModelName = Field(description="The model's name.")
    metric: MetricName = Field(description="e.g. `auc`, `rmse`, `thumbs_up_rate`.")
    value: QualityValue
    observed_at: ZonedDateTime = Field(description="ISO 8601 with a time zone; stored in UTC.")
    version: FreeText(strip_whitespace=True, max_length=64) | None = None
    source: EventSource = EventSource.api
    external_id: ExternalId | None = Field(
        default=None, description="Unique per source, as for events.")


class QualityMetricIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    higher_is_better: bool | None = Field(
        default=None, description="Default: true, except for names containing error, rmse, "
                                  "mae, loss or latency.")
    tolerance: Tolerance = Field(default=Decimal("0.05"), description="Relative: 0.05 means "
                                                                      "5 % worse is degraded.")
