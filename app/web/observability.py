"""Request ids, one JSON log line per request, and Prometheus metrics at /metrics.

Every response carries `X-Request-ID`: the caller's own when it is sane (at most 64 characters
of A–Z, a–z, 0–9, `.`, `_`, `-`), else a fresh uuid4. The id is on `request.state.request_id`
and on every JSON log line written while the request runs.

/metrics (Prometheus text format) holds a request-latency histogram labelled by route
*template* (`/pain-points/{pain_point_id}`, never the raw path, so the series stay few), method
and status, and gauges of the database connection pool read at scrape time. It is served to
loopback clients only, unless NORTHSTAR_METRICS_TOKEN is set: then to anyone sending
`Authorization: Bearer <that token>`, and to no one else. Each process counts its own requests:
scrape every replica (or worker) separately.
"""

import ipaddress
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from starlette.datastructures import MutableHeaders
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Requests that matched no route share one label: a scanner's random paths must not each
# become a time series.
UNMATCHED = "<unmatched>"

request_id_var: ContextVar[str | None] = ContextVar("northstar_request_id", default=None)
access_log = logging.getLogger("northstar.access")


# --- logs -------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message and the request's fields."""

    FIELDS = ("method", "path", "route", "status", "duration_ms", "client")

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            data["request_id"] = request_id
        for name in self.FIELDS:
            if hasattr(record, name):
                data[name] = getattr(record, name)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


def configure_logging(level: int = logging.INFO) -> bool:
    """JSON lines on stderr for the `northstar` loggers, unless logging is configured already
    (a deployment's dictConfig, uvicorn's --log-config, pytest's capture): then theirs wins.
    Returns whether it configured anything."""
    logger = logging.getLogger("northstar")
    if logger.handlers or logging.getLogger().handlers:
        return False
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    return True


# --- metrics ----------------------------------------------------------------------------------


class PoolCollector(Collector):
    """The database pool as it is at scrape time (pools without a figure leave it out)."""

    GAUGES = (
        ("size", "size", "Connections the pool keeps open (pool_size)."),
        ("checked_out", "checkedout", "Connections in use by requests right now."),
        ("checked_in", "checkedin", "Idle connections waiting in the pool."),
        ("overflow", "overflow", "Connections open beyond pool_size (up to max_overflow)."),
    )

    def __init__(self, engine: Callable[[], Engine]) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self.engine().pool
        for name, method, documentation in self.GAUGES:
            read = getattr(pool, method, None)
            if not callable(read):
                continue
            value = read()
            if name == "overflow":
                value = max(value, 0)  # SQLAlchemy counts up from -pool_size
            yield GaugeMetricFamily(f"northstar_db_pool_{name}", documentation, value=value)


class Metrics:
    """The app's own registry: several apps in one process (tests) never share series."""

    def __init__(self, engine: Callable[[], Engine]) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "northstar_http_request_duration_seconds",
            "Time from request to the end of the response, by route template, method and status.",
            ["route", "method", "status"], registry=self.registry,
        )
        self.registry.register(PoolCollector(engine))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.latency.labels(route=route, method=method, status=str(status)).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


# --- the middleware ---------------------------------------------------------------------------


def incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_ID.fullmatch(text) else None
    return None


def route_template(scope: Scope) -> str:
    """The path template of the route that answered, with its routers' prefixes."""
    # FastAPI keeps included routers nested; the effective context holds the full template.
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    template = getattr(context, "path_format", None)
    if template:
        return template
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if template:
        return template
    # A mounted app (static files) extends root_path by its mount path.
    outer, inner = scope.get("app_root_path"), scope.get("root_path", "")
    if outer is not None and inner != outer and inner.startswith(outer):
        return f"{inner[len(outer):]}/{{path}}"
    return UNMATCHED


class Observability:
    """Pure ASGI: gives each request an id, times it, counts it and logs it as one JSON line."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        status = 500  # what the server answers when the app raises before responding
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            self.metrics.observe(route, scope["method"], status, seconds)
            client = scope.get("client")
            access_log.log(
                logging.ERROR if status >= 500 else logging.INFO,
                "%s %s %s %.1f ms", scope["method"], scope["path"], status, seconds * 1000,
                extra={"request_id": request_id, "method": scope["method"],
                       "path": scope["path"], "route": route, "status": status,
                       "duration_ms": round(seconds * 1000, 2),
                       "client": client[0] if client else None},
            )
            request_id_var.reset(token)


# --- /metrics ---------------------------------------------------------------------------------

router = APIRouter(include_in_schema=False)


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.get("/metrics", name="observability.metrics")
def metrics(request: Request) -> Response:
    # Not behind the app's login: scrapers have no session. A token when configured, else
    # only the machine itself (a sidecar or node agent) may read it.
    token = request.app.state.settings.metrics_token
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
                given.strip().encode(), token.encode()):
            return PlainTextResponse("Send Authorization: Bearer <NORTHSTAR_METRICS_TOKEN>.\n",
                                     status_code=401, headers={"WWW-Authenticate": "Bearer"})
    elif not _is_loopback(request.client.host if request.client else None):
        return PlainTextResponse("Metrics are served to loopback clients only; set "
                                 "NORTHSTAR_METRICS_TOKEN to scrape from elsewhere.\n",
                                 status_code=403)
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def install_observability(app: FastAPI) -> None:
    """Call last in create_app: the middleware then wraps every other one, so it times and
    labels every response (an unhandled error is logged with status 500)."""
    configure_logging()
    app.state.metrics = Metrics(lambda: app.state.engine)
    app.add_middleware(Observability, metrics=app.state.metrics)
    app.include_router(router)
