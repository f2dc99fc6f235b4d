"""Pure rules of single sign-on: what an ID token says about the user, and what their groups
grant (the highest role of the mapped groups, the union of their teams). No I/O."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.auth.models import Role

# Highest first: the role a user gets when several of their groups are mapped.
ROLE_RANK = {Role.admin: 3, Role.pm: 2, Role.leader: 1, Role.viewer: 0}
MAX_GROUPS = 1000


class ClaimError(ValueError):
    """A claim the provider sent that Northstar cannot use; the message is for the user."""


@dataclass(frozen=True)
class Identity:
    subject: str
    email: str
    name: str
    groups: frozenset[str]


@dataclass(frozen=True)
class MappingRule:
    group: str
    role: Role
    team_ids: frozenset[int]


@dataclass(frozen=True)
class Grant:
    role: Role
    team_ids: frozenset[int]
    groups: tuple[str, ...]  # the mapped groups that gave it, sorted


def parse_groups(claims: Mapping[str, Any], claim: str) -> frozenset[str]:
    """The groups claim as a set of names: absent means no groups; anything but a list of
    strings is refused (a provider sending one string would otherwise be read letter by
    letter, or a mapping silently never match)."""
    if claim not in claims or claims[claim] is None:
        return frozenset()
    value = claims[claim]
    if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
        raise ClaimError(f"The identity provider's '{claim}' claim is not a list of group "
                         f"names (got {type(value).__name__}).")
    if len(value) > MAX_GROUPS:
        raise ClaimError(f"The identity provider sent more than {MAX_GROUPS} groups.")
    return frozenset(g.strip() for g in value if g.strip())


def parse_identity(claims: Mapping[str, Any], groups_claim: str) -> Identity:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise ClaimError("The identity provider sent no usable user id (sub).")
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        # Entra ID puts the sign-in address in preferred_username when email is not released.
        email = claims.get("preferred_username")
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise ClaimError("The identity provider sent no email address for you; ask its admin "
                         "to release the 'email' claim to Northstar.")
    name = claims.get("name")
    if not isinstance(name, str):
        name = ""
    return Identity(subject=subject, email=email.strip().lower(), name=name.strip()[:120],
                    groups=parse_groups(claims, groups_claim))


def evaluate(groups: Iterable[str], rules: Iterable[MappingRule]) -> Grant | None:
    """What the user's groups grant; None when no group of theirs is mapped."""
    member = set(groups)
    matched = [r for r in rules if r.group in member]
    if not matched:
        return None
    role = max((r.role for r in matched), key=ROLE_RANK.__getitem__)
    team_ids = frozenset().union(*(r.team_ids for r in matched))
    return Grant(role=role, team_ids=team_ids, groups=tuple(sorted(r.group for r in matched)))
