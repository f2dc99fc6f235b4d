"""A portable dump of the whole database and its restore: a pure data move, SQLite ⇄ PostgreSQL.

The file is gzip'd JSON lines:

    {"format": "northstar-backup", "version": 2, "alembic_revision": …, "created_at": …, …}
    {"table": "persona", "columns": ["id", "slug", …]}
    [1, "data-scientist", …]                      one array per row, in primary-key order
    {"end": "persona", "rows": 6}
    …                                             every table, parents before children
    {"end_of_backup": true, "tables": 20, "rows": 12345, "manifest": {"persona": 6, …}}

Values are written losslessly and independently of the backend they came from, by one codec per
column type (`CODECS`): decimals as strings (their scale kept), dates and timestamps in ISO 8601
(timestamps in UTC with their zone), JSON columns as JSON, booleans as booleans, enums as their
stored value, bytes in base64, doubles as JSON numbers. The trailer tells a complete file from a truncated one, and its
manifest is checked against the restored tables. Login attempts and browser sessions are
transient and are not backed up; derived tables opt out with `info={"backup": False}` and are
rebuilt after a restore. Idempotency keys are restored exactly: a client retrying a write
after a restore still gets its first answer.
"""

import base64
import binascii
import enum
import gzip
import json
import os
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Integer, Table, func, select, text
from sqlalchemy import types as sqltypes

import app.models  # noqa: F401  (registers every table on Base.metadata)
from app.core.errors import DomainError
from app.core.derived import rebuild_all
from app.core.orm import Base, UTCDateTime

FORMAT = "northstar-backup"
# 2: bytes as base64 and a manifest of row counts in the trailer. Version 1 files (no bytes
# column could be written then) read the same way.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
BATCH_SIZE = 1000
# Rate-limit counters and browser logins: worthless on another server, and a restored session
# would let an old cookie in.
TRANSIENT_TABLES = frozenset({"login_attempt", "user_session", "sso_login"})
# Filled by `northstar migrate` itself: an otherwise empty database holds these rows, and a
# restore replaces them with the backup's.
SEEDED_TABLES = frozenset({"persona", "lifecycle_stage", "org_settings"})


class BackupError(DomainError):
    """The file or the target database is refused; nothing was changed."""

    status_code = 422
    title = "Backup refused"


class NotEmpty(BackupError):
    status_code = 409


@dataclass
class Summary:
    revision: str | None
    created_at: str
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def backed_up_tables() -> list[Table]:
    """Every table of the schema except the transient and derived ones, parents before
    children."""
    return [t for t in Base.metadata.sorted_tables
            if t.name not in TRANSIENT_TABLES and t.info.get("backup", True)]


def excluded_tables() -> set[str]:
    """Left out on purpose: transient (empty after a restore) or derived (rebuilt)."""
    return {t.name for t in Base.metadata.sorted_tables} - {t.name for t in backed_up_tables()}


# --- values -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Codec:
    """How one kind of column's Python value becomes JSON and back, losslessly."""

    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _bytes(value: Any) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")  # psycopg may hand a memoryview


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


# One codec per SQLAlchemy type the schema uses, found through the column type's class. Order
# matters where types inherit: Enum and Text are Strings, Float is a Numeric. A TypeDecorator
# is listed itself (it may hand out any Python type; SQLAlchemy's Interval and PickleType are
# decorators too). A column of a type missing here fails the backup before any file is
# written, and tests/test_backup.py fails the build first.
_TIMESTAMP = Codec(datetime.isoformat, datetime.fromisoformat)
CODECS: tuple[tuple[type[sqltypes.TypeEngine[Any]], Codec], ...] = (
    # ISO 8601; UTCDateTime gives aware UTC values, so the zone travels with them.
    (UTCDateTime, _TIMESTAMP),
    (sqltypes.Boolean, Codec(_same, bool)),
    (sqltypes.Integer, Codec(_same, int)),
    (sqltypes.Enum, Codec(_enum_value, _same)),  # the stored value; the column maps it back
    (sqltypes.String, Codec(_same, str)),  # Text, Unicode and VARCHAR alike
    # Double precision (measured quality values): a JSON number written with Python's shortest
    # round-tripping repr, so the same IEEE double comes back on either backend. Before
    # Numeric, which Float subclasses.
    (sqltypes.Float, Codec(float, float)),
    # "110.00" stays "110.00": digits and scale as stored, never through a float.
    (sqltypes.Numeric, Codec(str, Decimal)),
    (sqltypes.DateTime, _TIMESTAMP),
    (sqltypes.Date, Codec(date.isoformat, date.fromisoformat)),
    (sqltypes.JSON, Codec(_same, _same)),  # already JSON: objects, lists, numbers, strings
    (sqltypes.LargeBinary, Codec(_bytes, base64.b64decode)),
)
_DECORATORS = tuple(base for base, _ in CODECS if issubclass(base, sqltypes.TypeDecorator))


class NoCodec(BackupError):
    status_code = 500
    title = "Column type without a backup codec"


def codec_for(column: Any) -> Codec:
    """The codec of `column`'s type; NoCodec when the schema grew a type this file lacks."""
    kind = column.type
    if not isinstance(kind, sqltypes.TypeDecorator) or isinstance(kind, _DECORATORS):
        for base, codec in CODECS:
            if isinstance(kind, base):
                return codec
    raise NoCodec(f"{column.table.name}.{column.name} is of type {type(column.type).__name__}, "
                  "which app/ops/backup.py cannot write losslessly: add it to CODECS")


def _encoders(columns: list[Any]) -> list[Callable[[Any], Any]]:
    return [codec_for(c).encode for c in columns]


def _line(item: Any) -> str:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n"


# --- backup -----------------------------------------------------------------------------------


def write_backup(conn: Connection, out: IO[str], *, now: datetime | None = None) -> Summary:
    """Writes every backed-up table of `conn`'s database to `out`, streaming each table."""
    revision = MigrationContext.configure(conn).get_current_revision()
    tables = backed_up_tables()
    encoders = {t.name: _encoders(list(t.columns)) for t in tables}  # NoCodec before any line
    created_at = (now or datetime.now(UTC)).isoformat()
    summary = Summary(revision, created_at)
    out.write(_line({
        "format": FORMAT, "version": FORMAT_VERSION, "alembic_revision": revision,
        "created_at": created_at, "source_dialect": conn.dialect.name,
        "tables": [t.name for t in tables], "excluded": sorted(excluded_tables()),
    }))
    for table in tables:
        columns = list(table.columns)
        out.write(_line({"table": table.name, "columns": [c.name for c in columns]}))
        query = select(*columns).order_by(*table.primary_key.columns)
        count = 0
        encode = encoders[table.name]
        # yield_per streams (a server-side cursor on PostgreSQL): one batch in memory at a time.
        for row in conn.execute(query, execution_options={"yield_per": BATCH_SIZE}):
            out.write(_line([None if v is None else e(v) for e, v in zip(encode, row, strict=True)]))
            count += 1
        out.write(_line({"end": table.name, "rows": count}))
        summary.rows[table.name] = count
    # The manifest: what a restore must find in the database once it is done.
    out.write(_line({"end_of_backup": True, "tables": len(tables), "rows": summary.total,
                     "manifest": summary.rows}))
    return summary


def backup_to_file(conn: Connection, path: Path, *, now: datetime | None = None) -> Summary:
    """`write_backup` into a gzip file; the file appears only once it is complete."""
    path = Path(path)
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial",
                                   dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            with gzip.open(raw, "wt", encoding="utf-8") as out:
                summary = write_backup(conn, out, now=now)
            raw.flush()
            os.fsync(raw.fileno())  # on disk before it takes the name: a crash leaves no half
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return summary


# --- restore ----------------------------------------------------------------------------------


def _json_lines(lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    number = 0
    try:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                yield number, json.loads(line)
    except json.JSONDecodeError as exc:
        raise BackupError(f"line {number} is not valid JSON ({exc.msg}): not a Northstar "
                          "backup, or a damaged one") from None
    except (gzip.BadGzipFile, zlib.error, UnicodeDecodeError) as exc:
        raise BackupError(f"the file is not a gzip'd Northstar backup ({exc})") from None
    except EOFError:
        raise BackupError("the file ends in the middle: it is truncated") from None


def check_header(header: Any, *, head: str | None) -> dict[str, Any]:
    """The header of a backup this code can restore; else BackupError saying why."""
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError("this is not a Northstar backup (no Northstar header)")
    version = header.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise BackupError(f"the backup is of format version {version}, newer than this Northstar "
                          f"reads (up to {FORMAT_VERSION}): restore it with the Northstar "
                          "version that wrote it, or a newer one")
    if version not in READABLE_VERSIONS:
        raise BackupError(f"backup format version {version!r} is not supported "
                          f"(this Northstar reads versions {', '.join(map(str, READABLE_VERSIONS))})")
    revision = header.get("alembic_revision")
    if revision != head:
        raise BackupError(
            f"the backup is of schema revision {revision}, this Northstar is at revision {head}: "
            "restore it with the Northstar version that made it, then upgrade that database "
            "with `northstar migrate` and back it up again")
    return header


def read_header(path: Path, *, head: str | None) -> dict[str, Any]:
    """The checked header of a backup file, read without touching any database."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for _, item in _json_lines(lines):
            return check_header(item, head=head)
    raise BackupError("the file is empty")


def row_counts(conn: Connection, tables: Iterable[Table]) -> dict[str, int]:
    return {t.name: conn.scalar(select(func.count()).select_from(t)) or 0 for t in tables}


def restore(conn: Connection, lines: Iterable[str], *, head: str | None,
            force: bool = False) -> Summary:
    """Loads a backup into `conn`'s database, in the caller's transaction.

    The database must be empty (the reference rows that migrations seed aside) unless `force`,
    which deletes everything first. Rows go in with executemany batches; PostgreSQL sequences
    then continue after the highest id. Any refusal raises BackupError: the caller rolls back.
    """
    items = _json_lines(lines)
    first = next(items, None)
    if first is None:
        raise BackupError("the file is empty")
    header = check_header(first[1], head=head)
    summary = Summary(header["alembic_revision"], str(header.get("created_at", "")))
    known = {t.name: t for t in Base.metadata.sorted_tables}
    unknown = [name for name in header.get("tables", []) if name not in known]
    if unknown:
        raise BackupError(f"the backup holds tables this schema lacks: {', '.join(unknown)}")

    everything = Base.metadata.sorted_tables
    if not force:
        occupied = {name: n for name, n in row_counts(
            conn, [t for t in backed_up_tables() if t.name not in SEEDED_TABLES]).items() if n}
        if occupied:
            listed = ", ".join(f"{name} ({n} rows)" for name, n in occupied.items())
            raise NotEmpty(f"the database is not empty: {listed}; restore into an empty "
                           "database, or pass --force to replace everything in it")
    for table in reversed(everything):
        if force or table.name in SEEDED_TABLES:
            conn.execute(table.delete())

    finished = False
    table: Table | None = None
    keys: list[tuple[str, Callable[[Any], Any] | None]] = []
    batch: list[dict[str, Any]] = []
    count = 0

    def flush() -> None:
        if batch:
            conn.execute(table.insert(), batch)  # executemany / insertmanyvalues
            batch.clear()

    for number, item in items:
        if isinstance(item, list):
            if table is None:
                raise BackupError(f"line {number}: a row outside any table")
            if len(item) != len(keys):
                raise BackupError(f"line {number}: {len(item)} values for the {len(keys)} "
                                  f"columns of {table.name}")
            try:
                batch.append({key: None if value is None else decode(value)
                              for (key, decode), value in zip(keys, item, strict=True)})
            except (TypeError, ValueError, ArithmeticError, binascii.Error) as exc:
                raise BackupError(f"line {number}: a value of {table.name} cannot be read "
                                  f"({exc}): the file is damaged") from None
            count += 1
            if len(batch) >= BATCH_SIZE:
                flush()
        elif isinstance(item, dict) and "table" in item:
            if table is not None:
                raise BackupError(f"line {number}: table {item['table']} starts before "
                                  f"{table.name} ends")
            name = item["table"]
            if name not in known:
                raise BackupError(f"line {number}: unknown table {name}")
            table = known[name]
            columns = item.get("columns", [])
            if sorted(columns) != sorted(c.name for c in table.columns):
                raise BackupError(f"line {number}: the columns of {name} differ from this "
                                  "schema's")
            keys = [(table.c[c].key, codec_for(table.c[c]).decode) for c in columns]
            count = 0
        elif isinstance(item, dict) and "end" in item:
            if table is None or item["end"] != table.name:
                raise BackupError(f"line {number}: end of a table that did not start")
            flush()
            if item.get("rows") != count:
                raise BackupError(f"line {number}: {table.name} should have {item.get('rows')} "
                                  f"rows, the file holds {count}")
            summary.rows[table.name] = count
            table = None
        elif isinstance(item, dict) and item.get("end_of_backup"):
            if table is not None:
                raise BackupError(f"line {number}: the backup ends inside table {table.name}")
            if item.get("rows") != summary.total:
                raise BackupError(f"the backup should hold {item.get('rows')} rows, the file "
                                  f"holds {summary.total}")
            manifest = item.get("manifest")
            if manifest is not None and manifest != summary.rows:
                raise BackupError("the file's manifest does not match its tables: it is damaged")
            finished = True
            break
        else:
            raise BackupError(f"line {number}: not a line of a Northstar backup")
    if not finished:
        raise BackupError("the file ends before the end of the backup: it is truncated")
    _reset_sequences(conn, [known[name] for name in summary.rows])
    # What is in the database now must be what the file says it holds, table by table (a row
    # the database dropped or merged would otherwise go unnoticed).
    found = row_counts(conn, [known[name] for name in summary.rows])
    wrong = {name: (n, found[name]) for name, n in summary.rows.items() if found[name] != n}
    if wrong:
        listed = ", ".join(f"{name} ({n} in the file, {m} restored)"
                           for name, (n, m) in wrong.items())
        raise BackupError(f"the restored row counts differ from the backup's: {listed}")
    # Derived tables are not in a backup: they are built from what was restored.
    rebuild_all(conn)
    return summary


def restore_from_file(conn: Connection, path: Path, *, head: str | None,
                      force: bool = False) -> Summary:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return restore(conn, lines, head=head, force=force)


def _reset_sequences(conn: Connection, tables: Iterable[Table]) -> None:
    """PostgreSQL: each serial/identity id continues after the highest restored one (explicit
    ids do not advance a sequence). SQLite takes max(rowid) + 1 by itself."""
    if conn.dialect.name != "postgresql":
        return
    quote = conn.dialect.identifier_preparer
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer):
            continue
        name, column = quote.format_table(table), quote.quote(pk[0].name)
        sequence = conn.scalar(text("SELECT pg_get_serial_sequence(:table, :column)"),
                               {"table": name, "column": pk[0].name})
        if sequence is None:
            continue
        # is_called=false: the next nextval() answers exactly max + 1 (1 for an empty table).
        conn.execute(text(f"SELECT setval(CAST(:sequence AS regclass), "
                          f"COALESCE((SELECT MAX({column}) FROM {name}), 0) + 1, false)"),
                     {"sequence": sequence})
