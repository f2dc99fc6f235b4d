"""What the formulas written once for Python and SQL share: the day count's EPOCH and the few
operations (`Ops`) that differ between Decimals and column expressions. Pure: no I/O."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

# Weekdays are counted from this Monday: day n is EPOCH + n days.
EPOCH = date(1900, 1, 1)


@dataclass(frozen=True)
class Ops:
    least: Callable[[Any, Any], Any]
    greatest: Callable[[Any, Any], Any]
    floor_div: Callable[[Any, int], Any]
    num: Callable[[int | str | Decimal], Any]  # an exact numeric constant
    whole: Callable[[int], Any]  # an integer constant, for day and weekday counts


PY = Ops(least=min, greatest=max, floor_div=lambda a, b: a // b, num=Decimal, whole=int)
