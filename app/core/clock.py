"""Today's date for validation and defaults: the UTC calendar day, one definition everywhere."""

from datetime import date

from app.db import utcnow


def today() -> date:
    return utcnow().date()
