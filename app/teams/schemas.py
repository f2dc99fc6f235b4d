"""Input and output shapes of teams, personas and stages, shared by pages and the API."""

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.core.types import FreeText

SLUG_PATTERN = r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$"  # starts with a letter: never mistaken for an id
Slug = FreeText(strip_whitespace=True, min_length=1, max_length=64,
                                        pattern=SLUG_PATTERN)
Name = FreeText(strip_whitespace=True, min_length=1, max_length=120)
HourlyCost = Annotated[Decimal, Field(ge=0, le=10_000, max_digits=14, decimal_places=2)]


class HeadcountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    persona: Slug
    headcount: Annotated[int, Field(ge=0, le=100_000)]
    hourly_cost: HourlyCost | None = Field(
        default=None, description="Overrides the persona's default hourly cost for this team."
    )


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    slug: Slug
    description: FreeText(multiline=True, max_length=2000) = ""
    headcounts: list[HeadcountIn] = []


class TeamUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    slug: Slug | None = None
    description: FreeText(multiline=True, max_length=2000) | None = None
    headcounts: list[HeadcountIn] | None = None
    is_archived: bool | None = None
    version: int | None = Field(default=None, ge=1, le=999_999_999, description=(
        "The version you read (or send `If-Match`); a stale one is refused with 409."))


class HeadcountOut(BaseModel):
    persona: str
    persona_name: str
    headcount: int
    hourly_cost: Decimal | None
    effective_hourly_cost: Decimal


class TeamOut(BaseModel):
    id: int
    name: str
    slug: str
    description: str
    is_archived: bool
    headcounts: list[HeadcountOut]
    version: int


class PersonaCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Slug
    name: Name
    hourly_cost: HourlyCost


class PersonaUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    hourly_cost: HourlyCost | None = None
    version: int | None = Field(default=None, ge=1, le=999_999_999, description=(
        "The version you read (or send `If-Match`); a stale one is refused with 409."))


class PersonaOut(BaseModel):
    id: int
    slug: str
    name: str
    hourly_cost: Decimal
    version: int


class StageOut(BaseModel):
    id: int
    slug: str
    name: str
    position: int
