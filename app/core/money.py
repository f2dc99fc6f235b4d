"""How money and numbers are written, everywhere: tiles, tables, chart axes and hovers, CSV,
XLSX and PDF exports. Pure: no I/O, no ORM, no FastAPI.

The one currency table is `CURRENCIES`: a test fails if another appears, so that an
organisation in yen sees "¥1,235" on a tile, in a table, on a chart and in a report alike.
A code the table does not know is written after the amount ("1,234.50 CHF"), with cents.
Amounts are exact until shown (docs/product.md): every function here rounds half-even.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

Number = Decimal | int | float
MINUS = "−"
NOTHING = "—"


@dataclass(frozen=True)
class Currency:
    code: str
    symbol: str | None  # written before the amount; None: the code, after it
    decimals: int  # the minor unit: cents for most, none for the yen


CURRENCIES = {c.code: c for c in (
    Currency("USD", "$", 2), Currency("EUR", "€", 2), Currency("GBP", "£", 2),
    Currency("JPY", "¥", 0), Currency("INR", "₹", 2),
)}


def currency(code: str) -> Currency:
    """The currency of an ISO code; one the table does not know is shown by its code."""
    return CURRENCIES.get(code) or Currency(code, None, 2)


def as_decimal(value: Number) -> Decimal:
    """Exact: a float goes through its shortest repr (0.1, not 0.1000000000000000055…)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _quantized(value: Number, places: int) -> Decimal:
    return as_decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def _written(text: str, negative: bool, code: str) -> str:
    sign = MINUS if negative else ""
    symbol = currency(code).symbol
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {code}"


def money(value: Number | None, code: str = "USD") -> str:
    """An exact amount to the currency's minor unit: $1,234.57, ¥1,235, 1,234.57 CHF."""
    if value is None:
        return NOTHING
    places = currency(code).decimals
    amount = _quantized(value, places)
    return _written(f"{abs(amount):,.{places}f}", amount < 0, code)


def money_whole(value: Number | None, code: str = "USD") -> str:
    """An estimate to the whole unit: its range makes cents meaningless ($219,267, not
    $219,266.67)."""
    if value is None:
        return NOTHING
    amount = _quantized(value, 0)
    return _written(f"{abs(amount):,.0f}", amount < 0, code)


# --- short amounts: tiles, hovers, sentences --------------------------------------------------

UNITS = ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "K"))


def _unit(value: Decimal) -> tuple[Decimal, str]:
    """The unit a short amount is written in: the largest it reaches, or would reach once
    rounded in the unit below (999,960 is $1.0M, not $1,000K)."""
    size = abs(value)
    for divisor, suffix in UNITS:
        below = (size / (divisor / 1000)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
        if size >= divisor or below >= 1000:
            return divisor, suffix
    return Decimal(1), ""


def _scaled(value: Decimal, divisor: Decimal, suffix: str) -> str:
    if not suffix:
        return f"{abs(value).quantize(Decimal(1), rounding=ROUND_HALF_EVEN):,}"
    number_ = abs(value) / divisor
    places = Decimal("0.1") if number_ < 100 else Decimal(1)
    return f"{number_.quantize(places, rounding=ROUND_HALF_EVEN):,}{suffix}"


def money_short(value: Number | None, code: str = "USD") -> str:
    """$1.2M, $950K, $840: three significant figures at most, for tiles and hovers."""
    if value is None:
        return NOTHING
    amount = as_decimal(value)
    divisor, suffix = _unit(amount)
    return _written(_scaled(amount, divisor, suffix), amount < 0, code)


def money_range(value: Number | None, low: Number | None, high: Number | None,
                code: str = "USD") -> str:
    """"$1.2M ($0.9M–$1.6M)": the expected amount, then low–high in the same unit."""
    if value is None:
        return NOTHING
    amount = as_decimal(value)
    divisor, suffix = _unit(amount)
    text = _written(_scaled(amount, divisor, suffix), amount < 0, code)
    if low is None or high is None or (low == amount and high == amount):
        return text
    low_text, high_text = (_written(_scaled(as_decimal(v), divisor, suffix),
                                    as_decimal(v) < 0, code) for v in (low, high))
    return f"{text} ({low_text}–{high_text})"


# --- money elsewhere: chart axes, spreadsheets ------------------------------------------------

def axis_format(code: str) -> dict[str, str]:
    """Plotly axis settings that read like the short amounts: $200k, ¥1.2M; a code the table
    does not know is in the axis title instead."""
    found = {"tickformat": "~s"}
    symbol = currency(code).symbol
    if symbol:
        found["tickprefix"] = symbol
    return found


def plotly_amount(code: str, field: str = "y") -> str:
    """A Plotly hover placeholder that writes an amount as money_whole() does: %{y:,.0f}
    after the symbol, or before the code."""
    symbol = currency(code).symbol
    placeholder = f"%{{{field}:,.0f}}"
    return f"{symbol}{placeholder}" if symbol else f"{placeholder} {code}"


def spreadsheet_format(code: str) -> str:
    """The XLSX number format of an amount: as money() writes it, but a number in the cell."""
    found = currency(code)
    digits = "#,##0" + ("." + "0" * found.decimals if found.decimals else "")
    if found.symbol:
        return f'"{found.symbol}"{digits};-"{found.symbol}"{digits}'
    return f'{digits} "{code}";-{digits} "{code}"'


# --- numbers ----------------------------------------------------------------------------------

def number(value: Number | None, places: int = 0) -> str:
    if value is None:
        return NOTHING
    amount = _quantized(value, places)
    return f"{MINUS if amount < 0 else ''}{abs(amount):,}"


def percent(value: Number | None, places: int = 1) -> str:
    """A ratio as a percentage: 0.125 → "12.5%"."""
    if value is None:
        return NOTHING
    return f"{number(as_decimal(value) * 100, places)}%"


def days(value: Number | None) -> str:
    return NOTHING if value is None else f"{number(value, 1)} days"


def hours(value: Number | None) -> str:
    """Hours to two places at most, no trailing zeros: 2.5, 40, 0.25."""
    if value is None:
        return NOTHING
    return f"{_quantized(value, 2).normalize():f}"


def plain(value: Number | None) -> str:
    """The raw figure for a data attribute: the exact decimal, never scientific notation."""
    return "" if value is None else format(as_decimal(value), "f")
