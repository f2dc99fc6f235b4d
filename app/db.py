"""Engine, connection settings and the per-request session."""

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Annotated, Any
from weakref import WeakKeyDictionary

import anyio
from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import Pool

from app.core.sql import register_sqlite_functions

# The pool of each worker process; Settings.db_pool_size / db_max_overflow override them.
POOL_SIZE = 5
MAX_OVERFLOW = 10
# How long a SQLite connection waits for another one's write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5000
# The execution option that picks how a SQLite transaction begins (see `_configure_sqlite`).
SQLITE_BEGIN = "northstar_sqlite_begin"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Threads beyond the pool's size (app/main.py): for requests `RequestGate` does not hold.
UNGATED_THREADS = 4

log = logging.getLogger("northstar")


def make_engine(url: str, *, pool_size: int = POOL_SIZE, max_overflow: int = MAX_OVERFLOW,
                lock_timeout_ms: int | None = None, statement_timeout_ms: int | None = None,
                **kwargs: Any) -> Engine:
    """An engine with the per-backend settings this app relies on.

    `lock_timeout_ms` / `statement_timeout_ms` (the web app's, Settings.db_*): on PostgreSQL
    session settings of every connection, so that a request stuck behind a lock fails with an
    OperationalError (503 + Retry-After, app/web/errors.py) instead of hanging; on SQLite the lock
    timeout is the busy timeout. None: the server's defaults (the command line's long work).
    """
    parsed = make_url(url)
    if "poolclass" not in kwargs and not _sqlite_in_memory(parsed):
        kwargs.setdefault("pool_size", pool_size)
        kwargs.setdefault("max_overflow", max_overflow)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, busy_timeout_ms=lock_timeout_ms or SQLITE_BUSY_TIMEOUT_MS)
        return engine
    # Fail fast while PostgreSQL is down or unreachable: a connection attempt gives up after
    # 2 s and a request waits at most 2 s for a pooled connection, so that requests answer 503
    # within seconds (app/web/errors.py) instead of hanging for libpq's and the pool's defaults.
    # Under load requests do not wait for the pool: `RequestGate` admits no more of them than
    # the pool holds connections.
    connect_args = dict(kwargs.pop("connect_args", {}))
    if "connect_timeout" not in parsed.query:
        connect_args.setdefault("connect_timeout", 2)
    kwargs.setdefault("pool_timeout", 2)
    limits = (("lock_timeout", lock_timeout_ms), ("statement_timeout", statement_timeout_ms))
    options = [f"-c {name}={value}" for name, value in limits if value is not None]
    # JIT compilation pays off for queries that run for many seconds; the app's aggregates run
    # in milliseconds to a second, and at scale L compiling them cost 0.2-0.3 s each (and up to
    # 2.7 s for one value statement) because their estimated cost passes jit_above_cost.
    options.append("-c jit=off")
    # Options named in the URL itself (e.g. a search_path) are kept, not replaced.
    named = connect_args.get("options") or parsed.query.get("options", "")
    if isinstance(named, tuple):
        named = " ".join(named)
    connect_args["options"] = " ".join([named, *options]).strip()
    # pre_ping lets the first query after a database restart succeed instead of failing.
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def _sqlite_in_memory(url: URL) -> bool:
    if url.get_backend_name() != "sqlite":
        return False
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def _configure_sqlite(engine: Engine, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    # SQLAlchemy's documented pysqlite recipe: let SQLAlchemy emit BEGIN itself, so that
    # transactions and SAVEPOINTs (test isolation) behave; and enforce foreign keys.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        _use_wal(cursor)
        cursor.close()
        register_sqlite_functions(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # DEFERRED (SQLite's default) unless the caller asked for IMMEDIATE: see `begin_write`.
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _use_wal(cursor: Any) -> None:
    """Write-ahead log: readers and the writer no longer block each other.

    With the default rollback journal a save waited for every reader of every worker to finish
    (dashboard reads take seconds), and a write then failed with "database is locked". The mode
    is stored in the database file, so only the first connection to an older file changes it;
    an in-memory database keeps "memory". synchronous=NORMAL is the setting WAL is designed
    for: a commit survives a crash of the app; only a power cut may lose the last ones.
    """
    mode = cursor.execute("PRAGMA journal_mode").fetchone()[0].lower()
    if mode not in ("wal", "memory"):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:  # another process holds the file: next time
            log.warning("SQLite: could not switch to WAL journal mode (%s); still %s", exc, mode)
    cursor.execute("PRAGMA synchronous=NORMAL")


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer (SQLite `BEGIN IMMEDIATE`).

    A deferred transaction that reads and then writes (every save: load, check the version,
    update) fails at once with "database is locked" when another connection wrote in between,
    whatever the busy timeout. Beginning IMMEDIATE takes the write lock first, waiting up to the
    busy timeout for the writer ahead: SQLite serialises writers anyway. Readers are not
    concerned, so read-only work keeps beginning DEFERRED and never waits for a writer in WAL
    mode. Does nothing on PostgreSQL, or when the session's transaction has begun already.
    """
    if session.get_bind().dialect.name == "sqlite" and not session.in_transaction():
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions on `engine`. Callers import `app.models` first: every model, and the listeners
    that keep the derived tables in step with their rows."""
    return sessionmaker(bind=engine, expire_on_commit=False)


# One writer at a time per process and SQLite database, in line: see `_sqlite_writer`.
_sqlite_writer_locks: "WeakKeyDictionary[Pool, threading.Lock]" = WeakKeyDictionary()
_sqlite_writer_locks_guard = threading.Lock()


@contextmanager
def _sqlite_writer(session: Session) -> Iterator[None]:
    """`begin_write`, after the writers of this process that came first.

    SQLite's busy handler polls (at up to 100 ms intervals) rather than queueing, so with a
    dozen saves waiting a newcomer often takes the lock before writers that have waited for
    seconds, and those time out. The threads of a process take turns on a lock first; only one
    of them at a time competes with the other worker processes.
    """
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or session.in_transaction() or not isinstance(bind, Engine):
        begin_write(session)  # a test's connection, or PostgreSQL: nothing to queue for
        yield
        return
    with _sqlite_writer_locks_guard:
        lock = _sqlite_writer_locks.setdefault(bind.pool, threading.Lock())
    if not lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
        raise OperationalError("BEGIN IMMEDIATE", None,
                               sqlite3.OperationalError("database is locked"))
    try:
        begin_write(session)
        yield
    finally:
        lock.release()


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: commit when the handler succeeded, else roll back.

    Requests that change something (POST, PUT, PATCH, DELETE) begin as writers on SQLite.
    """
    with request.app.state.sessionmaker() as session:
        writing = _sqlite_writer(session) if request.method in WRITE_METHODS else nullcontext()
        with writing:
            try:
                yield session
            except Exception:
                session.rollback()
                raise
            else:
                session.commit()


# scope="function": the commit happens before the response is sent, so a failing commit
# cannot answer 200.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


class RequestGate:
    """ASGI middleware: at most `capacity` requests run in the app at once; the others queue.

    A request holds a pooled connection from its first query (authentication) to its commit, in
    and between the threads FastAPI runs its dependencies and handler in, so a thread pool as
    large as the connection pool still lets requests wait for a connection — and give up after
    `pool_timeout` with 503 "database unavailable" — while others hold one waiting for a thread.
    With `capacity` = the pool's size every admitted request finds a connection at once, and
    the pool's timeout is left to mean a real outage. Static files, /healthz and /metrics need
    no connection and are not held up; /readyz must tell the truth while every slot is taken
    (app/web/health.py), so it does not queue either.
    """

    EXEMPT = ("/static/", "/healthz", "/metrics", "/readyz")

    def __init__(self, app: Any, capacity: int) -> None:
        self.app = app
        self.capacity = capacity
        self._slots: anyio.Semaphore | None = None

    @property
    def slots(self) -> anyio.Semaphore:
        if self._slots is None:  # made in the server's event loop, on the first request
            self._slots = anyio.Semaphore(self.capacity)
        return self._slots

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.EXEMPT):
            await self.app(scope, receive, send)
            return
        async with self.slots:
            await self.app(scope, receive, send)
