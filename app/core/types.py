"""Column types shared by every domain: money, hours and string-valued enums."""

import enum
from decimal import Decimal

from sqlalchemy import Enum, Numeric

# Money is Decimal with cents; hours are decimals with two places (PRODUCT.md).
Money = Numeric(14, 2, asdecimal=True)
Hours = Numeric(8, 2, asdecimal=True)
Percent = Numeric(5, 2, asdecimal=True)

ZERO = Decimal("0")


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
