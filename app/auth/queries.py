"""Reads of users and API tokens."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.auth.models import ApiToken, User


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


def get_user_by_email(session: Session, email: str, *, active_only: bool = False) -> User | None:
    query = (
        select(User).options(selectinload(User.teams))
        .where(User.email == email.strip().lower())
    )
    if active_only:
        query = query.where(User.is_active.is_(True))
    return session.scalar(query)


def list_tokens(session: Session) -> Sequence[ApiToken]:
    """Every token, newest first, with its owner and team loaded (revoked ones included)."""
    return session.scalars(
        select(ApiToken)
        .options(selectinload(ApiToken.user), selectinload(ApiToken.team))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()
