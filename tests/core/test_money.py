"""The one money/number formatter: every currency written the same way on tiles, tables,
chart axes and exports, and no second currency table anywhere in app/."""

import ast
from decimal import Decimal as D
from pathlib import Path

import pytest

from app.core import charts, money
from app.reports import formats
from app.reports.writers.xlsx import number_formats

APP = Path(__file__).resolve().parents[2] / "app"
# Codes a currency table would be keyed by; the one table may know fewer.
ISO_CODES = {"USD", "EUR", "GBP", "JPY", "INR", "CHF", "CAD", "AUD", "CNY", "SEK", "NZD"}
SYMBOLS = {"$", "€", "£", "¥", "₹"}


@pytest.mark.parametrize("code, amount, full, whole, short", [
    ("USD", D("1234567.891"), "$1,234,567.89", "$1,234,568", "$1.2M"),
    ("EUR", D("1234567.891"), "€1,234,567.89", "€1,234,568", "€1.2M"),
    ("GBP", D("-950.125"), "−£950.12", "−£950", "−£950"),
    # The yen has no minor unit: never ¥1,234.50.
    ("JPY", D("1234.5"), "¥1,234", "¥1,234", "¥1.2K"),
    ("JPY", D("1235.5"), "¥1,236", "¥1,236", "¥1.2K"),
    ("INR", D("12345.675"), "₹12,345.68", "₹12,346", "₹12.3K"),
    # A code without a symbol is written after the amount, with cents.
    ("CHF", D("1234.5"), "1,234.50 CHF", "1,234 CHF", "1.2K CHF"),  # half-even
])
def test_each_currency_on_tables_tiles_and_reports(code, amount, full, whole, short):
    assert money.money(amount, code) == full
    assert money.money_whole(amount, code) == whole
    assert money.money_short(amount, code) == short
    # The PDF, HTML and Markdown reports write an amount as the tables do.
    assert formats.shown(formats.MONEY, amount, code) == full


def test_nothing_is_a_dash_and_floats_are_read_exactly():
    for write in (money.money, money.money_whole, money.money_short):
        assert write(None, "JPY") == "—"
    assert money.money(0.125, "USD") == "$0.12"  # half-even from the float's shortest repr
    assert money.money_range(D("1200000"), D("900000"), D("1600000"), "JPY") == (
        "¥1.2M (¥0.9M–¥1.6M)")


@pytest.mark.parametrize("code, prefix, spreadsheet", [
    ("USD", "$", '"$"#,##0.00;-"$"#,##0.00'),
    ("JPY", "¥", '"¥"#,##0;-"¥"#,##0'),
    ("INR", "₹", '"₹"#,##0.00;-"₹"#,##0.00'),
    ("CHF", None, '#,##0.00 "CHF";-#,##0.00 "CHF"'),
])
def test_chart_axes_and_spreadsheets_follow_the_same_table(code, prefix, spreadsheet):
    axis = charts.money_axis(code, f"Annual run-rate ({code})")
    assert axis.get("tickprefix") == prefix and axis["tickformat"] == "~s"
    assert number_formats(code)[formats.MONEY] == spreadsheet
    assert money.plotly_amount(code) == (f"{prefix}%{{y:,.0f}}" if prefix
                                         else f"%{{y:,.0f}} {code}")


def test_numbers_hours_and_percentages():
    assert money.number(D("12345.675"), 2) == "12,345.68"
    assert money.number(D("-3"), 0) == "−3"
    assert money.hours(D("40.00")) == "40" and money.hours(D("2.505")) == "2.5"
    assert money.percent(D("0.125")) == "12.5%" and money.days(D("3")) == "3.0 days"


def _currency_table(node: ast.AST) -> str | None:
    """What makes `node` a second currency table: a dict keyed by two currency codes or
    mapping to two currency symbols, or a Currency built outside app/core/money.py."""
    if isinstance(node, ast.Dict):
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
        values = {v.value for v in node.values if isinstance(v, ast.Constant)}
        if len(keys & ISO_CODES) >= 2 or len(values & SYMBOLS) >= 2:
            return "a dict of currencies"
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Currency":
        return "a Currency"
    return None


def test_there_is_one_currency_table():
    found = []
    for path in sorted(APP.rglob("*.py")):
        if path == APP / "core" / "money.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            what = _currency_table(node)
            if what:
                found.append(f"{path.relative_to(APP.parent)}:{node.lineno}: {what}")
    assert found == [], "money is written by app/core/money.py alone:\n" + "\n".join(found)
    # The guard sees the table it guards.
    tree = ast.parse((APP / "core" / "money.py").read_text(encoding="utf-8"))
    assert any(_currency_table(node) for node in ast.walk(tree))
