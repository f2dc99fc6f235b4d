"""How a report value is rounded and shown, per kind of value. Pure: no I/O, no ORM.

Figures are exact until shown (docs/product.md): every writer rounds here, half-even, to the places
the metrics API uses (money to cents, hours and days to two places, ratios to four), so a cell
of the XLSX equals the API's string for the same figure.
"""

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from app.dashboards.figures import number, percent
from app.web.templating import money

TEXT, MONEY, HOURS, DAYS, COUNT, RATIO, SCORE, NUMBER, DATE, MONTH = (
    "text", "money", "hours", "days", "count", "ratio", "score", "number", "date", "month")
NUMERIC = frozenset({MONEY, HOURS, DAYS, COUNT, RATIO, SCORE, NUMBER})

PLACES = {MONEY: Decimal("0.01"), HOURS: Decimal("0.01"), DAYS: Decimal("0.01"),
          RATIO: Decimal("0.0001"), SCORE: Decimal("0.01"), NUMBER: Decimal("0.01")}


def rounded(kind: str, value: Any) -> Any:
    """The value as every format stores it: a Decimal at the API's places, an int, or as is."""
    if value is None:
        return None
    if kind == COUNT:
        return int(value)
    if kind in PLACES:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        return amount.quantize(PLACES[kind], rounding=ROUND_HALF_EVEN)
    return value


def plain(kind: str, value: Any) -> str:
    """Machine-readable text (CSV): 1234.56, 0.1250, 2026-07-01; empty for no value."""
    value = rounded(kind, value)
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def shown(kind: str, value: Any, currency: str, *, unit: bool = False) -> str:
    """As a person reads it on the page, the PDF and in Markdown: $1,234.56, 12.5%, 41.5 days."""
    if value is None:
        return "—"
    # From the exact value, as the dashboards do: rounding twice could differ in the last digit.
    if kind == MONEY:
        return money(value, currency)
    if kind == HOURS:
        return number(value, 2) + (" h" if unit else "")
    if kind == DAYS:
        return number(value, 1) + (" days" if unit else "")
    if kind == COUNT:
        return number(value, 0)
    if kind == RATIO:
        return percent(value, 1)
    if kind == SCORE:
        return f"{rounded(SCORE, value):.2f}"
    if kind == NUMBER:
        return number(value, 1)
    if kind == MONTH:
        return f"{value:%b %Y}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
