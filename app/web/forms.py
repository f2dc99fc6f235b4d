"""What every page route does with a posted form: read it, take its text, turn a refusal into
one message per field, and answer a successful post with a redirect that carries a flash
(Post/Redirect/Get)."""

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import Response

from app.core.errors import ValidationFailed
from app.core.types import parse_id
from app.web.templating import flash, render

Errors = dict[str, str]
Loc = tuple[int | str, ...]


async def read_form(request: Request) -> FormData:
    """The posted form, parsed here (the CSRF check already did, and Starlette caches it) so
    that the handlers stay synchronous and run their database work off the event loop."""
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


def form_text(form: Any, name: str) -> str:
    """The field stripped; "" when absent or an upload."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def form_texts(form: FormData, name: str) -> list[str]:
    """Every non-blank value of a repeated field, stripped."""
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


def pydantic_message(error: Mapping[str, Any],
                     pattern_hints: Mapping[str, str] | None = None) -> str:
    """A pydantic error in words that read after "<label>: "; `pattern_hints` replace the
    regex of a pattern mismatch, by field name."""
    value = error.get("input")
    if error["type"] == "missing" or (isinstance(value, str) and not value.strip()):
        return "this field is required"
    field = str(error["loc"][-1]) if error["loc"] else ""
    if pattern_hints and error["type"] == "string_pattern_mismatch" and field in pattern_hints:
        return pattern_hints[field]
    message = error["msg"]
    return message[:1].lower() + message[1:]


def field_errors(exc: ValidationError | ValidationFailed,
                 name: Callable[[Loc], str] | None = None,
                 pattern_hints: Mapping[str, str] | None = None) -> Errors:
    """Field name -> its first message. Without `name`, a pydantic error goes to the top-level
    field of its location and a service error to its field as named ("form" when none);
    `name` maps a location (a service field split at its dots) to a field instead."""
    errors: Errors = {}
    if isinstance(exc, ValidationError):
        for error in exc.errors():
            loc = tuple(error["loc"])
            if name is not None:
                field = name(loc)
            else:
                field = str(loc[0]) if loc else "form"
            errors.setdefault(field, pydantic_message(error, pattern_hints))
    else:
        for error in exc.errors:
            if name is not None:
                field = name(tuple(int(p) if p.isascii() and p.isdigit() else p
                                   for p in (error.field or "").split(".")))
            else:
                field = error.field or "form"
            errors.setdefault(field, error.message)
    return errors


def redirect_with_flash(request: Request, url: str, message: str | None = None) -> Response:
    """303 See Other to `url`, with `message` flashed on the page it lands on."""
    response = RedirectResponse(url, status_code=303)
    if message:
        flash(request, response, message)
    return response


def conflict_rows(labels: Mapping[str, str], theirs: Mapping[str, str],
                  yours: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(label, their saved value, your unsaved value) for each field of `labels` where the two
    versions differ, as the stale-save notice shows them (templates/_macros/conflict.html)."""
    def shown(value: str) -> str:
        return value.strip() or "—"

    return [(label, shown(theirs.get(name, "")), shown(yours.get(name, "")))
            for name, label in labels.items()
            if theirs.get(name, "").strip() != yours.get(name, "").strip()]


# --- the admin pages (settings, teams, users and tokens) -------------------------------------

# Pydantic's pattern messages quote the regex; say what is expected instead.
PATTERN_HINTS = {
    "slug": "use lowercase letters, digits and single hyphens, e.g. ml-platform",
    "currency": "use a three-letter ISO 4217 currency code, e.g. USD or EUR",
}


def admin_field_errors(exc: ValidationError | ValidationFailed,
                       name: Callable[[Loc], str] = dotted) -> Errors:
    """Admin fields are named by their whole location; slugs and codes explain their pattern."""
    return field_errors(exc, name, PATTERN_HINTS)


def error_context(errors: Errors, fields: Iterable[str]) -> dict[str, Any]:
    """Messages of fields that the form does not show go to the summary above it."""
    shown = set(fields)
    return {"errors": errors, "other_errors": [m for f, m in errors.items() if f not in shown]}


def admin_page(request: Request, template: str, context: dict[str, Any], *,
               status_code: int = 200) -> Response:
    base = {"path_for": request.app.url_path_for, "errors": {}, "other_errors": [], "values": {}}
    return render(request, template, base | context, status_code=status_code)


def typed_version(form: FormData) -> int | None:
    """The version a refused form carries back, as typed (a stale save compares it)."""
    return parse_id(form_text(form, "version"))


def plain_number(value: str) -> str:
    """99.00 and 99 are the same cost: compare numbers as numbers."""
    try:
        return format(Decimal(value).normalize(), "f") if value.strip() else ""
    except ArithmeticError:
        return value
