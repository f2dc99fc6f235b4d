"""Idempotency-Key on every POST of /api/v1: a retried write is done once and its answer replayed.

A pure ASGI middleware, so that no route knows about it. For `POST /api/v1/*` carrying an
`Idempotency-Key` header, the request is keyed by (SHA-256 of the caller's credential, SHA-256 of
the key):

1. *claim* — a short transaction inserts the key's row with no response yet ("in flight"). The
   unique constraint on (principal, key) makes exactly one request win, across processes; a
   concurrent duplicate finds the row in flight and gets 409. A row whose request fingerprint
   (method, path, query, body) differs gets 422 naming `Idempotency-Key`; a finished row is
   replayed with `Idempotent-Replayed: true`.
2. the route runs with its own session, which commits before the response leaves
   (`SessionDep`, scope="function").
3. *complete* — once the whole response body is known, a second short transaction stores
   status, `content-type`, `location`, `etag` and body for 2xx and 4xx answers (except 409 and
   429, which say "try again"); any other answer (5xx above all) *releases* the claim, so a retry
   runs the request again.

The window: the route's commit and step 3 are two transactions. When the database goes away
between them (or the ack of the route's commit is lost), the write is stored but its answer is
not. The process then keeps the pending completion in memory and writes it before its next keyed
request, so a retry that reaches the same process is replayed. Only when that process also dies
does a retry, after IN_FLIGHT_TIMEOUT, run the request again. Creates that carry an external or
natural id (lifecycle events are unique per source and `external_id`, compute costs per model and
month, teams, personas and models by name) stay single even then, because the database refuses
the second copy; pain points, initiatives and assessments could be doubled in that case alone.
Details in docs/scaling.md.
"""

import hashlib
import json
import logging
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Integer, LargeBinary, String, Text, UniqueConstraint, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.types import PROBLEM_SCHEMA
from app.core.clock import utcnow
from app.core.orm import Base, UTCDateTime
from app.web.errors import database_unavailable, database_unavailable_problem, problem

log = logging.getLogger("northstar.idempotency")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
API_PREFIX = "/api/v1/"
SESSION_COOKIE = "northstar_session"  # app.auth.deps.SESSION_COOKIE (not imported: no cycle)
# Keys are opaque to us: 1–255 printable ASCII characters, no leading or trailing space (which
# HTTP would strip anyway). UUIDs, ULIDs and "ci-run-42/event-3" all fit.
KEY_PATTERN = r"^[!-~](?:[ -~]{0,253}[!-~])?$"
KEY_RE = re.compile(KEY_PATTERN)
# How long a key is remembered, as Stripe and the IETF draft suggest: a client retries within
# hours, not days.
TTL = timedelta(hours=24)
# A claim still in flight after this long belongs to a request whose process died: a retry may
# take it over. Far above any request of this API (all well under a second).
IN_FLIGHT_TIMEOUT = timedelta(seconds=60)
# Old keys are deleted while claiming, at most this often per process.
PURGE_INTERVAL_SECONDS = 60.0
KEPT_HEADERS = ("content-type", "location", "etag")
# Answers the client should retry are not remembered: the retry must run again.
NOT_STORED = frozenset({409, 429})
# Larger answers are not remembered (the claim is released): API writes answer a few KB.
MAX_STORED_BODY = 1024 * 1024
# Completions and releases that could not be written (database down), kept until they can.
MAX_PENDING = 10_000


class IdempotencyKey(Base):
    """One Idempotency-Key of one caller: in flight (no status yet) or its stored answer."""

    __tablename__ = "idempotency_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the Authorization header (or session cookie): keys are per caller.
    principal_hash: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64))
    # SHA-256 of method, path, query and body: the same key must mean the same request.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # Random per claiming request, so that a request whose claim was taken over cannot
    # overwrite the new owner's row.
    claim_token: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_headers: Mapped[str | None] = mapped_column(Text)  # JSON object
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (UniqueConstraint("principal_hash", "key_hash"),)


def _insert_if_new(session: Session):
    """INSERT … ON CONFLICT DO NOTHING, which both backends spell the same way but SQLAlchemy
    builds per dialect. No exception (and no aborted PostgreSQL transaction) for a known key."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(IdempotencyKey)
    return sqlite_insert(IdempotencyKey)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_storable(status: int) -> bool:
    return 200 <= status < 300 or (400 <= status < 500 and status not in NOT_STORED)


# --- what a claim finds ---------------------------------------------------------------------

@dataclass(frozen=True)
class Claimed:
    id: int
    token: str


@dataclass(frozen=True)
class Replay:
    status: int
    headers: dict[str, str]
    body: bytes


class InFlight:
    pass


class Mismatch:
    pass


Outcome = Claimed | Replay | InFlight | Mismatch


@dataclass(frozen=True)
class KeyedRequest:
    principal_hash: str
    key_hash: str
    fingerprint: str


class IdempotencyStore:
    """The three short transactions, each on a session of its own (never the route's)."""

    def __init__(self) -> None:
        self._last_purge = float("-inf")
        self._pending: deque[Callable[[sessionmaker[Session]], None]] = deque()
        self._lock = threading.Lock()

    # claim

    def claim(self, make_session: sessionmaker[Session], req: KeyedRequest) -> Outcome:
        now = utcnow()
        token = secrets.token_hex(16)
        with make_session() as session:
            self._purge(session, now)
            # Insert first: the unique constraint decides between concurrent requests, and on
            # SQLite the transaction starts as a writer (no read-then-write lock upgrade).
            claimed = session.scalar(_insert_if_new(session).values(
                principal_hash=req.principal_hash, key_hash=req.key_hash,
                fingerprint=req.fingerprint, claim_token=token, created_at=now,
            ).on_conflict_do_nothing(
                index_elements=[IdempotencyKey.principal_hash, IdempotencyKey.key_hash],
            ).returning(IdempotencyKey.id))
            if claimed is not None:
                session.commit()
                return Claimed(claimed, token)
            row = self._find(session, req)
            if row is None:  # released a moment ago: let the client retry
                return InFlight()
            outcome = self._judge(session, row, req, now)
            session.commit()
            return outcome

    def _find(self, session: Session, req: KeyedRequest) -> IdempotencyKey | None:
        return session.scalar(select(IdempotencyKey).where(
            IdempotencyKey.principal_hash == req.principal_hash,
            IdempotencyKey.key_hash == req.key_hash,
        ))

    def _judge(self, session: Session, row: IdempotencyKey, req: KeyedRequest,
               now: datetime) -> Outcome:
        if now - row.created_at > TTL:  # forgotten: the key starts afresh
            return self._take_over(session, row, req, now, unfinished_only=False)
        if row.fingerprint != req.fingerprint:
            return Mismatch()
        if row.status_code is not None:
            headers = json.loads(row.response_headers or "{}")
            return Replay(row.status_code, headers, row.response_body or b"")
        if now - row.created_at <= IN_FLIGHT_TIMEOUT:
            return InFlight()
        # Abandoned by a process that died mid-request.
        return self._take_over(session, row, req, now, unfinished_only=True)

    def _take_over(self, session: Session, row: IdempotencyKey, req: KeyedRequest,
                   now: datetime, *, unfinished_only: bool) -> Outcome:
        """Claims an existing row, unless another request changed it since it was read."""
        token = secrets.token_hex(16)
        condition = [IdempotencyKey.id == row.id, IdempotencyKey.claim_token == row.claim_token]
        if unfinished_only:  # its owner may have completed it after all
            condition.append(IdempotencyKey.status_code.is_(None))
        taken = session.execute(
            update(IdempotencyKey).where(*condition).values(
                claim_token=token, created_at=now, fingerprint=req.fingerprint,
                status_code=None, response_headers=None, response_body=None, completed_at=None)
        ).rowcount
        return Claimed(row.id, token) if taken == 1 else InFlight()

    def _purge(self, session: Session, now: datetime) -> None:
        clock = time.monotonic()
        if clock - self._last_purge < PURGE_INTERVAL_SECONDS:
            return
        self._last_purge = clock
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - TTL))
        session.commit()

    # complete or release

    def complete(self, make_session: sessionmaker[Session], claim: Claimed, status: int,
                 headers: dict[str, str], body: bytes) -> None:
        def write(make: sessionmaker[Session]) -> None:
            with make() as session:
                session.execute(
                    update(IdempotencyKey)
                    .where(IdempotencyKey.id == claim.id,
                           IdempotencyKey.claim_token == claim.token)
                    .values(status_code=status, response_headers=json.dumps(headers),
                            response_body=body, completed_at=utcnow())
                )
                session.commit()

        self._write_or_keep(make_session, write)

    def release(self, make_session: sessionmaker[Session], claim: Claimed) -> None:
        def write(make: sessionmaker[Session]) -> None:
            with make() as session:
                session.execute(
                    delete(IdempotencyKey)
                    .where(IdempotencyKey.id == claim.id,
                           IdempotencyKey.claim_token == claim.token,
                           IdempotencyKey.status_code.is_(None))
                )
                session.commit()

        self._write_or_keep(make_session, write)

    def _write_or_keep(self, make_session: sessionmaker[Session],
                       write: Callable[[sessionmaker[Session]], None]) -> None:
        try:
            write(make_session)
        except Exception as exc:
            if not database_unavailable(exc):
                # Never worth failing the answer for: the claim falls back on IN_FLIGHT_TIMEOUT.
                log.exception("could not write an idempotency key")
                return
            with self._lock:
                if len(self._pending) >= MAX_PENDING:
                    self._pending.popleft()  # the oldest falls back on IN_FLIGHT_TIMEOUT
                self._pending.append(write)
            log.warning("idempotency key kept in memory until the database is back: %s", exc)

    def flush_pending(self, make_session: sessionmaker[Session]) -> None:
        """Writes what an outage held back; stops at the first failure (still down)."""
        while True:
            with self._lock:
                if not self._pending:
                    return
                write = self._pending[0]
            try:
                write(make_session)
            except Exception as exc:
                if database_unavailable(exc):
                    raise  # still down: the caller answers 503, the writes wait
                log.exception("dropping an idempotency write that cannot succeed")
            with self._lock:
                if self._pending and self._pending[0] is write:
                    self._pending.popleft()

    @property
    def pending(self) -> int:
        return len(self._pending)


# --- the middleware -------------------------------------------------------------------------

def principal_hash(headers: Headers) -> str | None:
    """Whose key this is: the credential that came with the request, hashed."""
    authorization = headers.get("authorization")
    if authorization:
        return _sha256(b"authorization:" + authorization.encode("latin-1"))
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE and value:
            return _sha256(b"session:" + value.encode("latin-1"))
    return None


def key_hash(key: str) -> str:
    return _sha256(key.encode("latin-1"))


def request_fingerprint(path: str, query: bytes, body: bytes) -> str:
    """The same key must mean the same request: method, path, query and body."""
    return _sha256(b"\n".join([b"POST", path.encode(), query, body]))


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _key_problem(status: int, title: str, message: str,
                 headers: dict[str, str] | None = None) -> Response:
    return problem(status, title, f"{HEADER}: {message}",
                   errors=[{"field": HEADER, "message": message}], headers=headers)


class Idempotency:
    def __init__(self, app: ASGIApp, *, store: IdempotencyStore | None = None) -> None:
        self.app = app
        self.store = store or IdempotencyStore()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "POST"
                or not scope["path"].startswith(API_PREFIX)):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get(HEADER)
        principal = principal_hash(headers)
        if key is None or principal is None:
            # No key, or no credential (the route answers 401): nothing to remember.
            await self.app(scope, receive, send)
            return
        if not KEY_RE.match(key):
            response = _key_problem(422, "Invalid input",
                                    "use 1 to 255 printable ASCII characters")
            await response(scope, receive, send)
            return
        body = await _read_body(receive)
        fingerprint = request_fingerprint(scope["path"], scope.get("query_string", b""), body)
        req = KeyedRequest(principal, key_hash(key), fingerprint)
        make_session: sessionmaker[Session] = scope["app"].state.sessionmaker
        outcome = await self._claim(make_session, req)
        if isinstance(outcome, Response):  # the database is unavailable
            await outcome(scope, receive, send)
            return
        if isinstance(outcome, Replay):
            replay = Response(outcome.body, status_code=outcome.status,
                              headers=outcome.headers | {REPLAYED_HEADER: "true"})
            await replay(scope, receive, send)
            return
        if isinstance(outcome, Mismatch):
            response = _key_problem(
                422, "Invalid input",
                "this key was already used for a different request; use a new key")
            await response(scope, receive, send)
            return
        if isinstance(outcome, InFlight):
            response = _key_problem(
                409, "Conflict", "a request with this key is still being processed; retry "
                "later", headers={"Retry-After": "1"})
            await response(scope, receive, send)
            return
        await self._run(scope, _replaying(body, receive), send, make_session, outcome)

    async def _claim(self, make_session: sessionmaker[Session],
                     req: KeyedRequest) -> Outcome | Response:
        try:
            await run_in_threadpool(self.store.flush_pending, make_session)
            return await run_in_threadpool(self.store.claim, make_session, req)
        except Exception as exc:
            if database_unavailable(exc):
                log.warning("database unavailable while claiming an idempotency key: %s", exc)
                return database_unavailable_problem()
            raise

    async def _run(self, scope: Scope, receive: Receive, send: Send,
                   make_session: sessionmaker[Session], claim: Claimed) -> None:
        messages: list[Message] = []

        async def hold(message: Message) -> None:
            messages.append(message)

        try:
            await self.app(scope, receive, hold)
        except BaseException:
            await run_in_threadpool(self.store.release, make_session, claim)
            raise
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        status = start["status"] if start else 500
        if start is not None and is_storable(status) and len(body) <= MAX_STORED_BODY:
            answer = Headers(raw=start.get("headers", []))
            kept = {name: answer[name] for name in KEPT_HEADERS if name in answer}
            await run_in_threadpool(self.store.complete, make_session, claim, status, kept, body)
        else:
            await run_in_threadpool(self.store.release, make_session, claim)
        for message in messages:
            await send(message)


# --- wiring ---------------------------------------------------------------------------------

KEY_DESCRIPTION = (
    "Makes this POST safe to retry: a retry with the same key and the same request is answered "
    "with the stored response (header `Idempotent-Replayed: true`) instead of being done again. "
    "The same key with a different request is refused (422); while the first request is still "
    "being processed, a duplicate gets 409. Keys are remembered for 24 hours per token."
)


def install_idempotency(app: FastAPI) -> None:
    """Adds the middleware and documents the header on every POST of the API."""
    app.add_middleware(Idempotency)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        _document(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document(schema: dict[str, Any]) -> None:
    parameter = {
        "name": HEADER, "in": "header", "required": False, "description": KEY_DESCRIPTION,
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
    }
    problem = {"content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}
    for path, item in schema.get("paths", {}).items():
        operation = item.get("post")
        if not path.startswith(API_PREFIX) or operation is None:
            continue
        operation.setdefault("parameters", []).append(parameter)
        responses = operation.setdefault("responses", {})
        responses.setdefault("409", {"description": "A request with this Idempotency-Key is "
                                                    "still being processed."} | problem)
        responses.setdefault("422", {"description": "Invalid input, or an Idempotency-Key "
                                                    "reused for a different request."} | problem)
