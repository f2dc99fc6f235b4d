"""Domain exceptions raised by services; the web layer maps them to 4xx responses."""

from dataclasses import dataclass


@dataclass
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    status_code = 400
    title = "Bad request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def errors(self) -> list[FieldError]:
        return [FieldError(self.field, self.message)] if self.field else []


class ValidationFailed(DomainError):
    """One or more fields are wrong; nothing was stored."""

    status_code = 422
    title = "Invalid input"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self._errors = errors

    @property
    def errors(self) -> list[FieldError]:
        return self._errors


class NotFound(DomainError):
    status_code = 404
    title = "Not found"


class Conflict(DomainError):
    status_code = 409
    title = "Conflict"


class NotAuthenticated(DomainError):
    status_code = 401
    title = "Not authenticated"


class PermissionDenied(DomainError):
    status_code = 403
    title = "Forbidden"


class TooManyRequests(DomainError):
    status_code = 429
    title = "Too many requests"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
