"""Types shared by every domain: money, hours and string-valued enum columns, and the text
type every free-text input goes through."""

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError
from sqlalchemy import Enum, Numeric

# Money is Decimal with cents; hours are decimals with two places (docs/product.md).
Money = Numeric(14, 2, asdecimal=True)
Hours = Numeric(8, 2, asdecimal=True)
Percent = Numeric(5, 2, asdecimal=True)

ZERO = Decimal("0")

# Ids are 32-bit integer columns on both backends: a larger number names nothing, and bound
# as a parameter it overflows the column's type (or SQLite's 64 bits) instead of finding
# nothing. Every id that comes in is held to this range.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


# A day anyone could mean: date arithmetic on the far ends (a period's end + 1 day, the quarter
# after 9999-12-31) overflows Python's date, which a request must never reach.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]


def parse_id(text: str) -> int | None:
    """`text` as an id when it is one (ASCII digits within the id range), else None. Not
    `str.isdigit()`, which also takes "²" and "٣", on which `int()` then fails."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def str_enum(enum_cls: type[enum.StrEnum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint holding the values."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


# --- text the database accepts ----------------------------------------------------------------
# PostgreSQL refuses NUL in text and no encoder can write a lone UTF-16 surrogate (what JSON's
# "\ud800" decodes to), while SQLite would store both: refused everywhere, the same on both
# backends. Other C0 controls (and DEL) have no business in text a person typed; tab and line
# breaks are text in fields that take several lines.
_SURROGATES = range(0xD800, 0xE000)
_LINE_BREAKS = frozenset("\t\n\r")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be stored as text, in words that read after "<field>: "; None if it
    can."""
    for char in value:
        code = ord(char)
        if code == 0:
            return "must not contain the NUL character (U+0000)"
        if code in _SURROGATES:
            return f"must not contain a lone surrogate (U+{code:04X}): not valid Unicode text"
        if code < 0x20 or code == 0x7F:
            if multiline and char in _LINE_BREAKS:
                continue
            if char in _LINE_BREAKS:
                return "must be a single line (no tab or line break)"
            return f"must not contain the control character U+{code:04X}"
    return None


def _single_line(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise PydanticCustomError("text_not_storable", problem)
    return value


def _multi_line(value: str) -> str:
    problem = text_problem(value, multiline=True)
    if problem:
        raise PydanticCustomError("text_not_storable", problem)
    return value


def FreeText(*, multiline: bool = False, **constraints: Any) -> Any:  # noqa: N802  (a type)
    """The one text type of every free-text input (API schemas, forms, CSV imports): refused
    with a 422 naming the field, before any SQL. `constraints` are StringConstraints' (lengths,
    stripping), applied first so that stripped whitespace is never judged."""
    return Annotated[str, StringConstraints(**constraints),
                     AfterValidator(_multi_line if multiline else _single_line)]


SingleLine = FreeText()
MultiLine = FreeText(multiline=True)


def _needs_zone(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("has no time zone; Northstar stores UTC, so send e.g. "
                         "2026-05-01T12:00:00Z (UTC) or an explicit offset like +02:00")
    return value


# A moment a client reports (an event, an observation): without a zone it is ambiguous, and
# guessing one would shift it by hours.
ZonedDateTime = Annotated[datetime, AfterValidator(_needs_zone)]
