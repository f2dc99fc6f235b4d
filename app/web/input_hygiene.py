"""Text no database stores, refused at the edge: before any route, dependency or SQL runs.

PostgreSQL refuses NUL in text (`psycopg.DataError`) and no driver can encode a lone UTF-16
surrogate, while SQLite stores both: left to the database, such input answered 500 on one
backend and was stored on the other. This pure ASGI middleware looks at everything a request
carries as text — the path, the query string, the headers, a JSON body and a url-encoded form —
and refuses NUL, lone surrogates and the other C0 control characters (tab and line breaks
aside, which multi-line text needs; the field types of `app.core.types` are stricter where a
field is a single line) with a 4xx naming the parameter or field:

- a path that contains one names nothing: 404; so does a path segment of digits beyond the id
  range (ids are 32-bit integers, and team and persona slugs start with a letter), which would
  otherwise overflow the query on one backend and find nothing on the other;
- a query parameter, a JSON member or a form field: 422 with the field, as problem+json under
  /api and as an error page elsewhere. In a url-encoded form only what no database can store
  (NUL, surrogates) is refused here: a pasted control character is left to the form's own
  field types, which answer with the form and the field highlighted;
- a header: 400 naming it.

Multipart bodies (CSV uploads) are left to the importers, which check every cell the same way.
"""

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.types import MAX_ID, text_problem
from app.web.errors import is_api, problem, refusal_page

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Tab is the one control character a header value may hold (RFC 9110 field-value).
_HEADER_CONTROLS = frozenset(range(0x20)) - {0x09} | {0x7F}


class Refused(Exception):
    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.status, self.field, self.message = status, field, message


def _check(field: str, value: str) -> None:
    found = text_problem(value, multiline=True)
    if found:
        raise Refused(422, field, found)


def _check_storable(field: str, value: str) -> None:
    if "\x00" in value or any(0xD800 <= ord(c) < 0xE000 for c in value):
        _check(field, value)


def check_path(path: str) -> None:
    if text_problem(path, multiline=False) or any(
            segment.isascii() and segment.isdigit() and (len(segment) > 10 or int(segment) > MAX_ID)
            for segment in path.split("/")):
        raise Refused(404, "path", "There is no page at this address.")


def check_query(query_string: bytes) -> None:
    # Decoded as Starlette decodes it (percent-escapes as UTF-8), so the check sees what the
    # route will.
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        _check(name or "query", name)
        _check(name, value)


def check_headers(headers: list[tuple[bytes, bytes]]) -> None:
    for name, value in headers:
        if any(byte in _HEADER_CONTROLS for byte in name + value):
            header = name.decode("latin-1")
            raise Refused(400, header, "the header holds a control character")


def _walk_json(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield ".".join(path) or "body", value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield ".".join((*path, key)) or "body", key
            yield from _walk_json(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_json(item, (*path, str(index)))


def check_body(content_type: str, body: bytes) -> None:
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            document = json.loads(body)
            for field, text in _walk_json(document):
                _check(field, text)
        except ValueError:
            return  # not JSON: the route's own parser answers 422 for it
        except RecursionError:  # which the route's parser would meet too, as a 500
            raise Refused(422, "body", "the JSON document is nested too deeply") from None
    elif content_type == "application/x-www-form-urlencoded":
        for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
            _check(name or "form", name)
            _check_storable(name, value)


def _content_type(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    chunks, messages = [], []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break  # the client went away: the app hears it next
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks), messages


class InputHygiene:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_path(scope["path"])
            check_query(scope.get("query_string", b""))
            check_headers(scope["headers"])
            content_type = _content_type(scope)
            if scope["method"] in BODY_METHODS and (
                    content_type in ("application/json", "application/x-www-form-urlencoded")
                    or content_type.endswith("+json")):
                body, messages = await _read_body(receive)
                receive = _replay(messages, receive)
                check_body(content_type, body)
        except Refused as refused:
            response = _refusal(Request(scope), refused)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def _refusal(request: Request, refused: Refused):
    if refused.status == 404:
        if is_api(request):
            return problem(404, "Not found", refused.message)
        return refusal_page(request, 404, "Not found", refused.message)
    title = "Invalid input" if refused.status == 422 else "Bad request"
    detail = f"{refused.field}: {refused.message}"
    if is_api(request):
        return problem(refused.status, title, detail,
                       errors=[{"field": refused.field, "message": refused.message}])
    return refusal_page(request, refused.status, title, detail)
