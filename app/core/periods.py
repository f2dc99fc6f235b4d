"""Quarters (docs/product.md): labelled YYYY-Qn; with a fiscal year starting in another month than
January, the fiscal year is named by the calendar year in which it ends. Pure: no I/O."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

QUARTER_RE = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int  # the fiscal year's name
    number: int  # 1..4
    start_month: int = 1  # first month of the fiscal year

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.number}"

    def __str__(self) -> str:
        return self.label

    @property
    def first_day(self) -> date:
        # Months since January of the calendar year in which the fiscal year starts.
        fy_start_year = self.year if self.start_month == 1 else self.year - 1
        months = (self.start_month - 1) + 3 * (self.number - 1)
        return date(fy_start_year + months // 12, months % 12 + 1, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def next(self) -> "Quarter":
        if self.number == 4:
            return Quarter(self.year + 1, 1, self.start_month)
        return Quarter(self.year, self.number + 1, self.start_month)

    def previous(self) -> "Quarter":
        if self.number == 1:
            return Quarter(self.year - 1, 4, self.start_month)
        return Quarter(self.year, self.number - 1, self.start_month)

    def contains(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


def quarter_of(day: date, start_month: int = 1) -> Quarter:
    offset = (day.month - start_month) % 12
    fiscal_year = day.year if start_month == 1 or day.month < start_month else day.year + 1
    return Quarter(fiscal_year, offset // 3 + 1, start_month)


def parse_quarter(text: str, start_month: int = 1) -> Quarter:
    """'2026-Q3' → Quarter; anything else raises ValueError with a message for the user."""
    match = QUARTER_RE.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a quarter; write it like 2026-Q3")
    return Quarter(int(match.group(1)), int(match.group(2)), start_month)


def quarters_between(first: Quarter, last: Quarter) -> list[Quarter]:
    result, current = [], first
    while current <= last:
        result.append(current)
        current = current.next()
    return result


def last_quarters(end: Quarter, count: int) -> list[Quarter]:
    quarters = [end]
    while len(quarters) < count:
        quarters.append(quarters[-1].previous())
    return quarters[::-1]
