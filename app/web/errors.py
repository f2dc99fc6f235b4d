"""Maps errors to responses: problem+json (RFC 9457) under /api, friendly pages elsewhere."""

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import DomainError, NotAuthenticated, TooManyRequests
from app.web.templating import render

log = logging.getLogger("northstar")

PROBLEM = "application/problem+json"
# What a client should wait before retrying while the database is unreachable: a restart or a
# failover takes seconds, and the engine reconnects on the first request after it.
DATABASE_RETRY_AFTER_SECONDS = 3
DATABASE_UNAVAILABLE = ("The database cannot be reached right now. Please try again in a few "
                        "seconds.")


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def problem(
    status: int, title: str, detail: str, *, errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None, extensions: dict[str, object] | None = None,
) -> JSONResponse:
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status,
                               "detail": detail}
    if errors:
        body["errors"] = errors
    body.update(extensions or {})  # RFC 9457 extension members, e.g. a 409's current_version
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def database_unavailable(exc: BaseException) -> bool:
    """The database is down, unreachable, restarting or out of connections (not a bug)."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    try:
        import psycopg
    except ImportError:  # SQLite-only installs
        return False
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))


def database_unavailable_problem() -> JSONResponse:
    return problem(503, "Service unavailable", DATABASE_UNAVAILABLE,
                   headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    return render(request, "errors/error.html", {"status": status, "title": title,
                                                 "detail": detail}, status_code=status)


def refusal_page(request: Request, status: int, title: str, detail: str) -> Response:
    """The error page, for a refusal made before any route ran (app/web/input_hygiene.py)."""
    return _error_page(request, status, title, detail)


SERVER_ERROR_DETAIL = "Something went wrong on our side. It has been logged; please try again."


def server_error_response(request: Request) -> Response:
    if is_api(request):
        return problem(500, "Internal server error", SERVER_ERROR_DETAIL)
    try:
        return _error_page(request, 500, "Something went wrong", SERVER_ERROR_DETAIL)
    except Exception:  # the page itself failed (a template, the request's state): plain text
        log.exception("the error page failed on %s %s", request.method, request.url.path)
        return PlainTextResponse(SERVER_ERROR_DETAIL, status_code=500)


class ServerErrors:
    """Turns an unhandled exception into the 500 answer *inside* the middleware stack.

    Starlette answers an unhandled error from its outermost layer, outside every middleware:
    that 500 carried no X-Request-ID and no security headers, and the exception, raised again
    to the server, made uvicorn drop the keep-alive connection. Here the answer goes out
    through the access log, the request id and the security headers like any other, and the
    exception ends with it (logged once, with its traceback).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:
                raise  # half an answer is out: only closing the connection tells the client
            request = Request(scope)
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            await server_error_response(request)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        headers = {}
        if isinstance(exc, TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after_seconds)
        if is_api(request):
            if isinstance(exc, NotAuthenticated):
                headers["WWW-Authenticate"] = "Bearer"
            errors = [{"field": e.field, "message": e.message} for e in exc.errors]
            headers.update(getattr(exc, "headers", {}))
            return problem(exc.status_code, exc.title, exc.message, errors=errors, headers=headers,
                           extensions=getattr(exc, "extensions", None))
        if isinstance(exc, NotAuthenticated):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            nxt = target if request.method == "GET" else "/"
            response = RedirectResponse(f"/login?next={quote(nxt, safe='')}", status_code=303)
            if request.headers.get("HX-Request"):
                # htmx follows redirects inside the swap; ask it to load the login page instead.
                response = Response(status_code=401, headers={"HX-Redirect": "/login"})
            return response
        response = _error_page(request, exc.status_code, exc.title, exc.message)
        response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path")),
             "message": e["msg"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        if is_api(request):
            return problem(422, "Invalid input", detail, errors=errors)
        return _error_page(request, 422, "Invalid input", detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404:
            detail = "There is no page at this address."
        if is_api(request):
            return problem(exc.status_code, title, detail, headers=exc.headers)
        return _error_page(request, exc.status_code, title, detail)

    async def database_error(request: Request, exc: Exception) -> Response:
        if not database_unavailable(exc):
            raise exc  # a bug (an IntegrityError...): the 500 handler below logs it
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        if is_api(request):
            return database_unavailable_problem()
        response = _error_page(request, 503, "Northstar is briefly unavailable",
                               DATABASE_UNAVAILABLE)
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response

    for exc_class in _database_errors():
        app.add_exception_handler(exc_class, database_error)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        # Only errors of the outer middleware get here; ServerErrors answers the rest.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return server_error_response(request)

    app.add_middleware(ServerErrors)  # the first one added: innermost, next to the routes


def _database_errors() -> list[type[Exception]]:
    classes: list[type[Exception]] = [sa_exc.DBAPIError, sa_exc.TimeoutError]
    try:
        import psycopg
    except ImportError:
        return classes
    return classes + [psycopg.OperationalError, psycopg.InterfaceError]
