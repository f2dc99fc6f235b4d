"""Now and today: the UTC instant and the UTC calendar day, one definition everywhere."""

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return utcnow().date()
