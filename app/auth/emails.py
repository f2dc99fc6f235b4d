"""Email addresses as keys: one normal form for logins, users, tokens, the CLI and throttling."""

import re

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    """Surrounding whitespace (any Unicode space) dropped, lower case: `' Ana@X.org '` and
    `'ana@x.org'` are one account and one login-throttle key."""
    return email.strip().lower()
