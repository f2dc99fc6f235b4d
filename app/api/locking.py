"""Optimistic locking in the API, the same for every editable resource (app/core/locking.py):
the version travels as `ETag`, comes back as `If-Match` or `version` in the body; 428 without
it, 409 (with `current_version` and the current `ETag`) when it is stale."""

from typing import Annotated, Any, TypeVar

from fastapi import Header, Response
from pydantic import BaseModel

from app.api.types import PROBLEM_SCHEMA
from app.core.locking import etag, given_version

IfMatch = Annotated[str | None, Header(alias="If-Match", description=(
    'The `ETag` you read, e.g. `"3"`; or send `version` in the body.'))]

Patch = TypeVar("Patch", bound=BaseModel)


def locking_responses(what: str) -> dict[int | str, dict[str, Any]]:
    def problem(description: str) -> dict[str, Any]:
        return {"description": description,
                "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}

    return {409: problem(f"Someone saved the {what} after the version you sent; nothing was "
                         "changed. `current_version` (and the `ETag` header) hold its version "
                         "now."),
            428: problem("Neither `If-Match` nor `version` was sent.")}


def versioned(data: Patch, if_match: str | None) -> Patch:
    """The patch with the version it is based on, from `If-Match` or the body; the service
    refuses it without one (`require_version=True`), after checking the caller's rights."""
    version = given_version(if_match, getattr(data, "version"))
    return data.model_copy(update={"version": version}) if version is not None else data


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)
