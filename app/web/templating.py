"""Jinja2 with template fragments: full pages for normal requests, one block for htmx ones."""

import json
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from fastapi import Request
from itsdangerous import BadData, URLSafeSerializer
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.responses import Response

from app.auth.csrf import csrf_token, set_csrf_cookie
from app.core.currency import SYMBOLS
from app.core.words import common_noun, with_article
from app.web.navigation import nav_items

FLASH_COOKIE = "northstar_flash"
CENTS = Decimal("0.01")


def make_templates(directory: str) -> Jinja2Blocks:
    templates = Jinja2Blocks(directory=directory)
    env = templates.env
    env.filters["money"] = money
    env.filters["money_whole"] = money_whole
    env.filters["hours"] = hours
    env.filters["common_noun"] = common_noun
    env.filters["with_article"] = with_article
    env.globals["csrf_token"] = csrf_token
    env.globals["hx_headers"] = hx_headers
    env.globals["nav_items"] = nav_items
    return templates


def money(value: Decimal | int | float | None, currency: str = "USD") -> str:
    """Half-even to cents only when shown (docs/product.md), with thousands separators."""
    if value is None:
        return "—"
    amount = Decimal(value).quantize(CENTS, rounding=ROUND_HALF_EVEN)
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency)
    text = f"{abs(amount):,.2f}"
    sign = "−" if amount < 0 else ""
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def money_whole(value: Decimal | int | float | None, currency: str = "USD") -> str:
    """An estimate to the whole unit: its range makes cents meaningless ($219,267, not
    $219,266.67). Half-even, like money()."""
    if value is None:
        return "—"
    amount = Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    symbol = SYMBOLS.get(currency)
    text = f"{abs(amount):,.0f}"
    sign = "−" if amount < 0 else ""
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def hours(value: Decimal | int | float | None) -> str:
    if value is None:
        return "—"
    return f"{Decimal(value).quantize(CENTS, rounding=ROUND_HALF_EVEN).normalize():f}"


def is_htmx(request: Request) -> bool:
    """An htmx request that wants a fragment. Back to a page htmx no longer holds a copy of
    asks for it again with HX-History-Restore-Request, and must get the whole page."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def _flash_serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.secret_key, salt="northstar-flash")


def flash(request: Request, response: Response, message: str, kind: str = "success") -> None:
    """Adds a message shown on the next page (Post/Redirect/Get)."""
    messages = _read_flashes(request) + [{"kind": kind, "message": message}]
    response.set_cookie(
        FLASH_COOKIE, _flash_serializer(request).dumps(messages), httponly=True,
        samesite="lax", secure=request.app.state.settings.cookie_secure, max_age=300,
    )


def _read_flashes(request: Request) -> list[dict[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        data = _flash_serializer(request).loads(raw)
    except BadData:
        return []
    return [m for m in data if isinstance(m, dict)][:10]


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *,
    block: str | None = None, status_code: int = 200,
) -> Response:
    """Full page for a normal request; only `block` for an htmx one."""
    templates: Jinja2Blocks = request.app.state.templates
    context = dict(context or {})
    context.setdefault("principal", getattr(request.state, "principal", None))
    flashes = _read_flashes(request)
    context["flashes"] = flashes
    kwargs = {"block_name": block} if block and is_htmx(request) else {}
    response = templates.TemplateResponse(
        request, template, context, status_code=status_code, **kwargs
    )
    response.headers["Vary"] = "HX-Request, HX-History-Restore-Request"
    if flashes:
        response.delete_cookie(FLASH_COOKIE)
    set_csrf_cookie(request, response, secure=request.app.state.settings.cookie_secure)
    return response


def hx_headers(request: Request) -> str:
    return json.dumps({"X-CSRF-Token": csrf_token(request)})
