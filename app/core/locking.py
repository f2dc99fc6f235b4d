"""Optimistic locking, one rule for every editable entity (pain points set the example).

Each row has a `version` (SQLAlchemy's `version_id_col`, bumped on every save). An editor sends
the version it read: as `version` in the body, or (API) as `If-Match: "<version>"`. No version
on an edit is 428 (API) or a form error; a stale one is 409 with the current version, and
nothing is saved. A save that races another one between read and write fails the same way.
"""

import re
from typing import Any, Protocol

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from app.core.errors import Conflict, DomainError, FieldError, ValidationFailed


class Versioned(Protocol):
    id: Any
    version: int


class PreconditionRequired(DomainError):
    status_code = 428
    title = "Precondition required"


class StaleVersion(Conflict):
    """Someone saved the object after the editor read it; nothing was overwritten."""

    def __init__(self, current: Versioned, what: str) -> None:
        super().__init__(
            f"Someone else saved this {what} (now version {current.version}) after you opened "
            "it. Review their changes and save again.", field="version")
        self.current = current
        # Read now: the error handler runs after the request's session has rolled back.
        self.current_version = current.version

    @property
    def extensions(self) -> dict[str, Any]:
        return {"current_version": self.current_version}

    @property
    def headers(self) -> dict[str, str]:
        return {"ETag": etag(self.current_version)}


def etag(version: int) -> str:
    return f'"{version}"'


def expect_version(obj: Versioned, version: int | None, what: str, *,
                   required: bool = False) -> None:
    """Refuses a save based on another version than the stored one. Edits are `required` to
    name one (428 without); single-purpose actions such as archiving need not."""
    if version is None:
        if required:
            raise PreconditionRequired(
                f"Send the version of the {what} you read, as an If-Match header or as version "
                "in the body, so that nobody's changes are overwritten.", field="version")
        return
    if version != obj.version:
        raise StaleVersion(obj, what)


def touch(obj: Any, attribute: str) -> None:
    """Counts a change of the object's children (links, headcounts) as a new version of it."""
    flag_modified(obj, attribute)


def flush_or_stale(session: Session, obj: Versioned, what: str) -> None:
    try:
        session.flush()
    except StaleDataError as exc:  # another transaction saved between our read and write
        session.rollback()
        fresh = session.get(type(obj), obj.id, populate_existing=True)
        raise StaleVersion(fresh or obj, what) from exc


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    match = re.fullmatch(r'\s*(?:W/)?"?(\d{1,9})"?\s*', value)
    if match is None:
        raise ValidationFailed([FieldError("If-Match", 'expected the ETag you read, e.g. "3"')])
    return int(match.group(1))


def given_version(if_match: str | None, body_version: int | None) -> int | None:
    """The version an API edit is based on: from `If-Match` or the body, which must agree."""
    header = _if_match(if_match)
    if header is not None and body_version is not None and header != body_version:
        raise ValidationFailed([FieldError("version", f"the body says {body_version} but "
                                                      f"If-Match says {header}")])
    return header if header is not None else body_version


def form_version(raw: str) -> int:
    """The version a form carried (its hidden field); a form without one is refused."""
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise ValidationFailed([FieldError("version", "required: the version you edited; "
                                                      "reload the page")])
    return int(raw)
