"""Users, their teams, login sessions, API tokens and login attempts (for rate limiting)."""

import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.types import str_enum
from app.core.clock import utcnow
from app.core.orm import Base, UTCDateTime
from app.teams.models import Team


class Role(enum.StrEnum):
    admin = "admin"
    pm = "pm"
    leader = "leader"
    viewer = "viewer"


user_team = Table(
    "user_team",
    Base.metadata,
    Column("user_id", ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", ForeignKey("team.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class User(Base):
    # "user" is reserved in PostgreSQL.
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Single sign-on: the provider's (issuer, sub) pair is the link, never the email, which a
    # provider may give to someone else later. Both are null for password users.
    oidc_issuer: Mapped[str | None] = mapped_column(String(500))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    # May sign in with a password even when password login is turned off (created with
    # `northstar users create --break-glass`), for when the identity provider is down.
    break_glass: Mapped[bool] = mapped_column(default=False)

    teams: Mapped[list[Team]] = relationship(secondary=user_team, lazy="raise")

    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject"),)

    @property
    def via_sso(self) -> bool:
        return self.oidc_subject is not None


class UserSession(Base):
    """A browser login. The cookie carries a random id; only its SHA-256 is stored."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Opened by a single sign-on: it lasts at most the idle time, so that what the provider's
    # groups no longer grant is gone by then (the next sign-in evaluates them again).
    via_sso: Mapped[bool] = mapped_column(default=False)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")


class ApiToken(Base):
    """A bearer token for pipelines. Shown once; stored as SHA-256 (it is 256 random bits)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, so an admin can tell tokens apart without seeing them.
    prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    team: Mapped[Team | None] = relationship(lazy="raise")
    user: Mapped[User] = relationship(lazy="raise")


class LoginAttempt(Base):
    """Failed and successful logins, counted in the database so limits hold across processes."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        Index("ix_login_attempt_email_attempted_at", "email", "attempted_at"),
        Index("ix_login_attempt_ip_attempted_at", "ip", "attempted_at"),
    )


sso_group_mapping_team = Table(
    "sso_group_mapping_team",
    Base.metadata,
    Column("mapping_id", ForeignKey("sso_group_mapping.id", ondelete="CASCADE"),
           primary_key=True),
    Column("team_id", ForeignKey("team.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class SsoGroupMapping(Base):
    """What membership of one identity-provider group gives: a role and teams."""

    __tablename__ = "sso_group_mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_name: Mapped[str] = mapped_column(String(255), unique=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    teams: Mapped[list[Team]] = relationship(secondary=sso_group_mapping_team, lazy="raise")


class SsoLogin(Base):
    """One sign-in sent to the provider, until its callback: the state (stored as SHA-256),
    the nonce and the PKCE verifier. Used once; the browser that started it holds the state in
    a signed cookie, so a state from another browser is refused."""

    __tablename__ = "sso_login"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_path: Mapped[str] = mapped_column(String(2000), default="/")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
