"""Dialect-neutral SQL pieces: where PostgreSQL and SQLite need their own expression, the
difference is hidden here so that queries read the same on both."""

import statistics
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import DateTime, Integer, Numeric, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from app.core.formula_ops import EPOCH, Ops

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


class days_between(FunctionElement[float]):
    """(later - earlier) in days, fractional, for two UTC timestamps."""

    type = Numeric(asdecimal=True)
    inherit_cache = True


@compiles(days_between, "postgresql")
def _days_between_pg(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({later}) - ({earlier})) / 86400.0)"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(julianday({later}) - julianday({earlier}))"


class month_index(FunctionElement[int]):
    """year × 12 + month − 1 of a UTC timestamp or a date: months since January of year 0."""

    type = Integer()
    inherit_cache = True


@compiles(month_index, "postgresql")
def _month_index_pg(element: month_index, compiler: Any, **kw: Any) -> str:
    (arg,) = element.clauses
    value = compiler.process(arg, **kw)
    if isinstance(arg.type, DateTime) or isinstance(getattr(arg.type, "impl", None), DateTime):
        value = f"(({value}) AT TIME ZONE 'UTC')"
    return f"CAST(EXTRACT(YEAR FROM {value}) * 12 + EXTRACT(MONTH FROM {value}) - 1 AS INTEGER)"


@compiles(month_index, "sqlite")
def _month_index_sqlite(element: month_index, compiler: Any, **kw: Any) -> str:
    (arg,) = element.clauses
    value = compiler.process(arg, **kw)
    return (f"(CAST(strftime('%Y', {value}) AS INTEGER) * 12 "
            f"+ CAST(strftime('%m', {value}) AS INTEGER) - 1)")


class _extremum(FunctionElement[Any]):
    """The smaller (least) or larger (greatest) of two values: PostgreSQL's LEAST/GREATEST,
    SQLite's two-argument min/max. Neither argument may be NULL (callers coalesce)."""

    inherit_cache = True
    sqlite_name = ""

    def __init__(self, a: Any, b: Any) -> None:
        super().__init__(a, b)
        self.type = self.clauses.clauses[0].type


class _least(_extremum):
    name = "least"
    sqlite_name = "min"
    inherit_cache = True


class _greatest(_extremum):
    name = "greatest"
    sqlite_name = "max"
    inherit_cache = True


@compiles(_extremum)
def _extremum_default(element: _extremum, compiler: Any, **kw: Any) -> str:
    return f"{element.name}({compiler.process(element.clauses, **kw)})"


@compiles(_extremum, "sqlite")
def _extremum_sqlite(element: _extremum, compiler: Any, **kw: Any) -> str:
    return f"{element.sqlite_name}({compiler.process(element.clauses, **kw)})"


def _num(value: int | str | Decimal) -> ColumnElement[Any]:
    return literal(Decimal(value), _CONSTANT)


def _whole(value: int) -> ColumnElement[int]:
    return literal(int(value), Integer())


SQL = Ops(least=_least, greatest=_greatest, floor_div=lambda a, b: a // b, num=_num,
          whole=_whole)


class percentile_cont(FunctionElement[float]):
    """percentile_cont(fraction) WITHIN GROUP (ORDER BY value): linear interpolation between
    the closest ranks, as PostgreSQL computes it. SQLite has no such aggregate; there it is a
    function registered on every connection (see `register_sqlite_functions`)."""

    type = Numeric(asdecimal=True)
    inherit_cache = True

    def __init__(self, value: Any, fraction: float) -> None:
        super().__init__(value, literal(fraction))


@compiles(percentile_cont, "postgresql")
def _percentile_pg(element: percentile_cont, compiler: Any, **kw: Any) -> str:
    value, fraction = element.clauses
    return (f"percentile_cont({compiler.process(fraction, **kw)}) WITHIN GROUP "
            f"(ORDER BY {compiler.process(value, **kw)})")


@compiles(percentile_cont, "sqlite")
def _percentile_sqlite(element: percentile_cont, compiler: Any, **kw: Any) -> str:
    value, fraction = element.clauses
    return f"ns_percentile_cont({compiler.process(value, **kw)}, {compiler.process(fraction, **kw)})"


class _PercentileCont:
    """SQLite aggregate with PostgreSQL's percentile_cont semantics (statistics.quantiles,
    method "inclusive", is the same linear interpolation)."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: float | None, fraction: float) -> None:
        self.fraction = fraction
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        values = sorted(self.values)
        if not values:
            return None
        if len(values) == 1 or self.fraction <= 0:
            return values[0]
        if self.fraction >= 1:
            return values[-1]
        ratio = Fraction(self.fraction).limit_denominator(10_000)
        cuts = statistics.quantiles(values, n=ratio.denominator, method="inclusive")
        return cuts[ratio.numerator - 1]


def register_sqlite_functions(dbapi_connection: Any) -> None:
    dbapi_connection.create_aggregate("ns_percentile_cont", 2, _PercentileCont)


class utc_day_number(FunctionElement[int]):
    """Whole days from the cost module's EPOCH to the UTC date of a timestamp."""

    type = Integer()
    inherit_cache = True


@compiles(utc_day_number, "postgresql")
def _utc_day_number_pg(element: utc_day_number, compiler: Any, **kw: Any) -> str:
    (arg,) = element.clauses
    return (f"(CAST(({compiler.process(arg, **kw)}) AT TIME ZONE 'UTC' AS DATE)"
            f" - DATE '{EPOCH.isoformat()}')")


@compiles(utc_day_number, "sqlite")
def _utc_day_number_sqlite(element: utc_day_number, compiler: Any, **kw: Any) -> str:
    (arg,) = element.clauses
    # SQLite keeps UTC timestamps as naive text (app.core.orm.UTCDateTime).
    return (f"CAST(julianday(date({compiler.process(arg, **kw)})) - "
            f"julianday('{EPOCH.isoformat()}') AS INTEGER)")
