"""Reads of users and API tokens."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.auth.emails import normalise_email
from app.auth.models import ApiToken, Role, SsoGroupMapping, User
from app.auth.sso import MappingRule
from app.core.errors import FieldError, NotFound, ValidationFailed


def list_users(session: Session, *, active_only: bool = False) -> Sequence[User]:
    """Users ordered by email, with their teams loaded."""
    query = select(User).options(selectinload(User.teams)).order_by(User.email)
    if active_only:
        query = query.where(User.is_active.is_(True))
    return session.scalars(query).all()


def get_user(session: Session, user_id: int) -> User | None:
    return session.scalar(
        select(User).options(selectinload(User.teams)).where(User.id == user_id)
    )


def get_user_or_404(session: Session, user_id: int) -> User:
    user = get_user(session, user_id)
    if user is None:
        raise NotFound(f"There is no user with id {user_id}.")
    return user


def get_user_by_email(session: Session, email: str, *, active_only: bool = False) -> User | None:
    query = (
        select(User).options(selectinload(User.teams))
        .where(User.email == normalise_email(email))
    )
    if active_only:
        query = query.where(User.is_active.is_(True))
    return session.scalar(query)


def acting_user(session: Session, as_email: str | None, *, purpose: str) -> User:
    """Whom a command acts as: the active admin or pm named by `--as-email`, else the first
    active admin (lowest id). Refused as field `as-email`; `purpose` ("import events", "sync
    models") completes the messages, its first word being the verb."""
    if as_email is not None:
        user = get_user_by_email(session, as_email, active_only=True)
        if user is None:
            raise ValidationFailed([FieldError("as-email", f"no active user with email "
                                                           f"{as_email}")])
        if user.role not in (Role.admin, Role.pm):
            raise ValidationFailed([FieldError(
                "as-email", f"{user.email} is a {user.role.value}; only an admin or a pm may "
                            f"{purpose}")])
        return user
    admin = session.scalar(
        select(User).options(selectinload(User.teams))
        .where(User.is_active.is_(True), User.role == Role.admin)
        .order_by(User.id).limit(1)
    )
    if admin is None:
        verb = purpose.split()[0]
        raise ValidationFailed([FieldError(
            "as-email", f"there is no active admin to {verb} as; name an admin or a pm")])
    return admin


def list_tokens(session: Session) -> Sequence[ApiToken]:
    """Every token, newest first, with its owner and team loaded (revoked ones included)."""
    return session.scalars(
        select(ApiToken)
        .options(selectinload(ApiToken.user), selectinload(ApiToken.team))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()


def list_sso_mappings(session: Session) -> Sequence[SsoGroupMapping]:
    """Group mappings ordered by group name, with their teams loaded."""
    return session.scalars(
        select(SsoGroupMapping).options(selectinload(SsoGroupMapping.teams))
        .order_by(SsoGroupMapping.group_name)
    ).all()


def get_sso_mapping(session: Session, group: str) -> SsoGroupMapping | None:
    return session.scalar(
        select(SsoGroupMapping).options(selectinload(SsoGroupMapping.teams))
        .where(SsoGroupMapping.group_name == group)
    )


def sso_mapping_rules(session: Session) -> list[MappingRule]:
    """Every mapping as a rule for `app.auth.sso.evaluate` (an admin keeps a handful)."""
    return [MappingRule(group=m.group_name, role=m.role, team_ids=frozenset(t.id for t in m.teams))
            for m in list_sso_mappings(session)]
