"""The app's edge: whom to believe about the client's address, and reading request bodies before
a request may take a database slot.

Proxies. `X-Forwarded-For`/`X-Forwarded-Proto` are believed only from the peers named in
NORTHSTAR_TRUSTED_PROXIES (addresses or networks; loopback by default); anyone else's are
ignored, so a forged header can neither read /metrics (loopback only) nor spread failed sign-ins
over invented addresses. The work is uvicorn's own ProxyHeadersMiddleware, installed by the app
so that it holds however the app is served (`northstar serve` turns uvicorn's copy off).

Bodies. A client that sends its body one byte a second must not hold one of the few requests
that may query at once (`app.db.RequestGate`): the whole body is read here first, at most
`max_body_bytes` (413 beyond) and with a deadline (408 when a client stalls), and only then does
the request queue for a slot, its body replayed from memory.
"""

import ipaddress
import json
from collections.abc import Awaitable, Callable

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

LOOPBACK = "127.0.0.1,::1"


def parse_trusted_proxies(value: str) -> list[str]:
    """The entries of NORTHSTAR_TRUSTED_PROXIES, each checked: a typo must not silently trust
    nothing (or, worse, be compared as a literal). `*` trusts every peer: only for an app that
    no one but its proxy can reach."""
    entries = [item.strip() for item in value.split(",") if item.strip()]
    if entries == ["*"]:
        return entries
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ValueError(f"NORTHSTAR_TRUSTED_PROXIES: '{entry}' is not an IP address or "
                             "network (e.g. 10.0.0.5 or 172.28.0.0/24)") from exc
    return entries


def trusted_proxy_headers(app: ASGIApp, trusted: str) -> ASGIApp:
    entries = parse_trusted_proxies(trusted)
    return ProxyHeadersMiddleware(app, trusted_hosts=entries or [])  # type: ignore[arg-type]


class BodyTooLarge(Exception):
    pass


class BodyTimeout(Exception):
    pass


class ClientGone(Exception):
    pass


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _has_body(scope: Scope) -> bool:
    length = _declared_length(scope)
    if length is not None:
        return length > 0
    return any(name == b"transfer-encoding" for name, _ in scope["headers"])


async def read_body(receive: Receive, *, limit: int, idle_seconds: float,
                    total_seconds: float) -> bytes:
    """The whole body, or BodyTooLarge / BodyTimeout / ClientGone."""
    chunks: list[bytes] = []
    size = 0
    with anyio.move_on_after(total_seconds) as deadline:
        while True:
            with anyio.move_on_after(idle_seconds) as idle:
                message = await receive()
            if idle.cancelled_caught:
                raise BodyTimeout
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
    assert deadline.cancelled_caught
    raise BodyTimeout


def replay(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A `receive` that gives the buffered body once, then waits on the real one (disconnect)."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


async def _refuse(scope: Scope, send: Send, status: int, title: str, detail: str) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status,
                       "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        # The rest of the body was never read: the connection cannot carry another request.
        (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": body})


class BufferedBody:
    """ASGI middleware (outside RequestGate): reads every request body before the app sees it."""

    def __init__(self, app: ASGIApp, *, limit: int, idle_seconds: float,
                 total_seconds: float) -> None:
        self.app = app
        self.limit = limit
        self.idle_seconds = idle_seconds
        self.total_seconds = total_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        too_large = (413, "Content too large",
                     f"The request body is larger than {self.limit // (1024 * 1024)} MB.")
        if declared is not None and declared > self.limit:
            await _refuse(scope, send, *too_large)
            return
        try:
            body = await read_body(receive, limit=self.limit, idle_seconds=self.idle_seconds,
                                   total_seconds=self.total_seconds)
        except BodyTooLarge:
            await _refuse(scope, send, *too_large)
            return
        except BodyTimeout:
            await _refuse(scope, send, 408, "Request timeout",
                          "The request body arrived too slowly.")
            return
        except ClientGone:
            return
        await self.app(scope, replay(body, receive), send)
