"""Bulk INSERTs for imports of thousands of rows, the same on both backends for the caller.

PostgreSQL gets `COPY … FROM STDIN` on the session's own connection (inside its transaction),
with ids taken from the table's sequence first: a multi-row INSERT of thousands of bound
parameters spends longer in the driver's parsing of the statement than in the database.
SQLite gets SQLAlchemy's multi-row INSERT … RETURNING, which it runs fast.
"""

import json
from collections.abc import Sequence
from enum import Enum
from typing import Any

from sqlalchemy import Column, Connection, Table, any_, bindparam, insert, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import JSON, Integer


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]], *,
                returning_ids: bool = False) -> list[int]:
    """Inserts `rows` (every NOT NULL column given, defaults applied by the caller); returns
    the new ids in the rows' order when asked."""
    if not rows:
        return []
    if connection.dialect.name != "postgresql":
        statement = insert(table)
        if returning_ids:
            return list(connection.execute(statement.returning(
                table.c.id, sort_by_parameter_order=True), list(rows)).scalars())
        connection.execute(statement, list(rows))
        return []
    ids: list[int] = []
    if returning_ids:
        ids = list(connection.execute(text(
            "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table.name, "n": len(rows)}).scalars())
        rows = [{**row, "id": new} for row, new in zip(rows, ids, strict=True)]
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:
        with cursor.copy(f'COPY "{table.name}" ({", ".join(f"{n}" for n in names)}) '
                         "FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_plain(column, row[column.name]) for column in columns])
    return ids


def _plain(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, JSON):
        return json.dumps(value)
    if isinstance(value, Enum):
        return value.value
    return value


def among(column: Any, ids: Sequence[int], dialect: str) -> Any:
    """`column IN ids`: one array parameter on PostgreSQL (thousands of bound parameters make
    the driver's statement parsing the slowest part), an expanding IN elsewhere."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))
    return column.in_(ids)


def among_parameter(column: Any, name: str, dialect: str) -> Any:
    """`among` with the ids left as the parameter `name`, for a statement built once and run
    with other ids each time."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(Integer)))
    return column.in_(bindparam(name, expanding=True))
