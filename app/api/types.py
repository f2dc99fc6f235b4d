"""Value types and error shapes of the JSON API: exact decimals as strings, problem+json."""

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from fastapi import Path
from pydantic import PlainSerializer, WithJsonSchema

from app.core.types import MAX_ID


def _decimal_string(exponent: Decimal):
    def serialize(value: Decimal) -> str:
        return str(value.quantize(exponent, rounding=ROUND_HALF_EVEN))

    return serialize


def _string_schema(pattern: str, example: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": pattern, "examples": [example]},
                          mode="serialization")


# A JSON number goes through binary floating point in most clients; amounts must stay exact, so
# they leave as strings, rounded half-even to cents only here, when shown (docs/product.md).
Money = Annotated[
    Decimal,
    PlainSerializer(_decimal_string(Decimal("0.01")), return_type=str, when_used="json"),
    _string_schema(r"^-?\d+\.\d{2}$", "110.00"),
]
# Settings kept with one decimal place (working weeks and hours).
Tenths = Annotated[
    Decimal,
    PlainSerializer(_decimal_string(Decimal("0.1")), return_type=str, when_used="json"),
    _string_schema(r"^-?\d+\.\d$", "46.0"),
]


# The document app/web/errors.py writes (RFC 9457), inline so that it sits under its own media type.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "examples": ["about:blank"]},
        "title": {"type": "string", "examples": ["Invalid input"]},
        "status": {"type": "integer", "examples": [422]},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Each field at fault, dotted for nested ones (`headcounts.0.persona`).",
            "items": {"type": "object", "required": ["field", "message"],
                      "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
}

_DESCRIPTIONS = {
    401: "No token, or an unknown or revoked one (with `WWW-Authenticate: Bearer`).",
    403: "The token's role may not do this.",
    404: "No such resource, or not one this token may read.",
    422: "Invalid input; `errors` names each field at fault. Nothing was stored.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the problem+json answers a route can give."""
    return {
        status: {"description": _DESCRIPTIONS[status],
                 "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}
        for status in statuses
    }


# Database ids are 32-bit integers (app.core.types.MAX_ID): a larger value names nothing.


def IdPath(description: str):  # noqa: N802  (reads like the type it builds)
    return Annotated[int, Path(ge=1, le=MAX_ID, description=description)]
