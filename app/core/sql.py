"""Dialect-neutral SQL pieces: where PostgreSQL and SQLite need their own expression, the
difference is hidden here so that queries read the same on both."""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Numeric, case, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from app.pain_points.cost import EPOCH, Ops

# Constants are exact numerics on PostgreSQL; on SQLite they bind as REAL, which also keeps
# SQLite from integer division when a NUMERIC column happens to hold a whole number.
_CONSTANT = Numeric(20, 6)


class day_number(FunctionElement[int]):
    """Whole days from the cost module's EPOCH (a Monday) to a date column."""

    type = Integer()
    inherit_cache = True


@compiles(day_number, "postgresql")
def _day_number_pg(element: day_number, compiler: Any, **kw: Any) -> str:
    (arg,) = element.clauses
    return f"(({compiler.process(arg, **kw)}) - DATE '{EPOCH.isoformat()}')"


@compiles(day_number, "sqlite")
def _day_number_sqlite(element: day_number, compiler: Any, **kw: Any) -> str:
    (arg,) = element.clauses
    return (f"CAST(julianday({compiler.process(arg, **kw)}) - julianday('{EPOCH.isoformat()}')"
            " AS INTEGER)")


def _least(a: Any, b: Any) -> ColumnElement[Any]:
    return case((a < b, a), else_=b)


def _greatest(a: Any, b: Any) -> ColumnElement[Any]:
    return case((a > b, a), else_=b)


def _num(value: int | str | Decimal) -> ColumnElement[Any]:
    return literal(Decimal(value), _CONSTANT)


SQL = Ops(least=_least, greatest=_greatest, floor_div=lambda a, b: a // b, num=_num)


def date_literal(value: date) -> ColumnElement[date]:
    return literal(value)
