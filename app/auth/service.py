"""Logins, sessions, users and API tokens: every write of the auth domain."""

import hashlib
import math
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, selectinload

from app.audit.service import record, snapshot
from app.auth.emails import EMAIL_RE, normalise_email
from app.auth.models import ApiToken, LoginAttempt, Role, User, UserSession
from app.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from app.auth.permissions import RANK, Principal, lesser_role
from app.config import Settings
from app.core.errors import (
    FieldError, NotFound, PermissionDenied, TooManyRequests, ValidationFailed,
)
from app.core.types import text_problem
from app.core.clock import utcnow
from app.teams.models import Team

WRONG_CREDENTIALS = "Wrong email or password."
PASSWORD_LOGIN_OFF = ("Password sign-in is turned off for this account: use single sign-on "
                      "instead.")
TOKEN_PREFIX = "nst_"
# An address may fail more often than one account (a shared office NAT), but not unboundedly.
PER_ADDRESS_FACTOR = 4
# An address that signed in to an account within this long is the owner's "known" address:
# failures from elsewhere do not slow it down (see `login_wait`).
KNOWN_ADDRESS_DAYS = 90
# last_seen_at is written at most this often, not on every request.
TOUCH_INTERVAL = timedelta(minutes=1)


class PasswordLoginDisabled(PermissionDenied):
    """A right password, but password login is off and the user is no break-glass admin."""


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- logins ---------------------------------------------------------------------------------


def backoff_seconds(failures: int, free: int, cap: int) -> int:
    """How long after the last failure the next try must wait: nothing for the first `free`
    failures, then 2 s, 4 s, 8 s… doubling with each further failure, at most `cap`."""
    if failures < free:
        return 0
    return min(cap, 2 ** min(failures - free + 1, 30))


def login_wait(session: Session, settings: Settings, *, email: str, ip: str,
               now: datetime) -> int:
    """Seconds this address must still wait before it may try this account (0: go ahead).

    Failed sign-ins slow down, they never lock out. The account is slowed by every address's
    failures, except for an address that signed in to it before (its owner's): that one is
    slowed only by its own failures, so a stranger hammering an account cannot keep its owner
    out. Each address is also slowed by its failures on any account (PER_ADDRESS_FACTOR times
    as many free ones). Failures older than the window are forgotten.
    """
    since = now - timedelta(minutes=settings.login_window_minutes)
    failures = select(func.count(), func.max(LoginAttempt.attempted_at)).where(
        LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at >= since
    )
    known = session.scalar(select(
        select(LoginAttempt.id).where(
            LoginAttempt.email == email, LoginAttempt.ip == ip,
            LoginAttempt.succeeded.is_(True),
            LoginAttempt.attempted_at >= now - timedelta(days=KNOWN_ADDRESS_DAYS),
        ).exists()
    ))
    on_account = failures.where(LoginAttempt.email == email)
    if known:
        on_account = on_account.where(LoginAttempt.ip == ip)
    free = settings.login_max_failures
    cap = settings.login_max_delay_seconds
    wait = 0
    for query, allowed in ((on_account, free), (failures.where(LoginAttempt.ip == ip),
                                                free * PER_ADDRESS_FACTOR)):
        count, last = session.execute(query).one()
        delay = backoff_seconds(count, allowed, cap)
        if delay and last is not None:
            wait = max(wait, math.ceil((last + timedelta(seconds=delay) - now).total_seconds()))
    return max(wait, 0)


def authenticate(
    session: Session, settings: Settings, *, email: str, password: str, ip: str
) -> User | None:
    """The active user with this email and password; None when they do not match.

    Raises TooManyRequests while this address must wait (`login_wait`); such a refusal checks
    no password and counts as no failure. Attempts are stored in the caller's transaction, so
    the delays hold across app processes.
    """
    email = normalise_email(email)
    now = utcnow()
    wait = login_wait(session, settings, email=email, ip=ip, now=now)
    if wait > 0:
        raise TooManyRequests(
            f"Too many failed sign-ins. Try again in {wait} second{'s' if wait > 1 else ''}.",
            retry_after_seconds=wait,
        )
    user = session.scalar(select(User).where(User.email == email))
    # Single sign-on users have no password ("").
    ok = verify_password(password, user.password_hash if user and user.password_hash else None)
    ok = ok and user is not None and user.is_active
    if ok and not settings.password_login and not user.break_glass:
        session.add(LoginAttempt(email=email[:254], ip=ip[:64], attempted_at=now, succeeded=False))
        raise PasswordLoginDisabled(PASSWORD_LOGIN_OFF)
    session.add(LoginAttempt(email=email[:254], ip=ip[:64], attempted_at=now, succeeded=ok))
    return user if ok else None


def start_session(session: Session, user: User, *, ip: str, user_agent: str,
                  via_sso: bool = False, details: dict[str, Any] | None = None) -> str:
    """Opens a login session and returns the random id the cookie will carry (signed)."""
    raw = secrets.token_urlsafe(32)
    session.add(
        UserSession(token_hash=sha256(raw), user_id=user.id, ip=ip[:64],
                    user_agent=user_agent[:255], via_sso=via_sso)
    )
    record(session, actor=user.email, actor_id=user.id, action="login", entity="user",
           entity_id=user.id, after=details)
    return raw


def resolve_session(session: Session, settings: Settings, raw: str) -> Principal | None:
    """The principal behind a session id, if the session is still valid."""
    now = utcnow()
    row = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .options(selectinload(User.teams))
        .where(UserSession.token_hash == sha256(raw), UserSession.ended_at.is_(None))
    ).one_or_none()
    if row is None:
        return None
    user_session, user = row
    expired = (
        not user.is_active
        or now - user_session.created_at > timedelta(hours=settings.session_absolute_hours)
        or now - user_session.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
        # A password change ends every session opened before it.
        or user_session.created_at < user.password_changed_at
        # What the provider's groups gave is evaluated again at the next sign-in, so a single
        # sign-on session lasts no longer than the idle time.
        or (user_session.via_sso
            and now - user_session.created_at > timedelta(minutes=settings.session_idle_minutes))
    )
    if expired:
        user_session.ended_at = now
        return None
    if now - user_session.last_seen_at > TOUCH_INTERVAL:
        _touch(session, user_session, "last_seen_at", now)
    return principal_for_user(user)


def _touch(session: Session, row: Any, name: str, now: datetime) -> None:
    """Stamps "last seen" best effort, in a savepoint: a read must not fail because the stamp
    could not be written (SQLite refuses a write to a read transaction that another writer
    overtook; the next request stamps it)."""
    try:
        with session.begin_nested():
            setattr(row, name, now)
    except OperationalError:
        pass


def principal_for_user(user: User) -> Principal:
    return Principal(
        user_id=user.id, email=user.email, role=user.role, name=user.name,
        team_ids=frozenset(t.id for t in user.teams),
    )


def end_session(session: Session, raw: str) -> bool:
    """Ends a login session; True when it was opened by single sign-on."""
    ended = session.execute(
        update(UserSession)
        .where(UserSession.token_hash == sha256(raw), UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
        .returning(UserSession.via_sso)
    ).scalar_one_or_none()
    return bool(ended)


def end_all_sessions(session: Session, user_id: int) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


# --- users ----------------------------------------------------------------------------------

USER_FIELDS = ["email", "name", "role", "is_active"]


def _teams_by_slug(session: Session, slugs: list[str], field: str) -> list[Team]:
    slugs = sorted({s.strip() for s in slugs if s.strip()})
    teams = list(session.scalars(select(Team).where(Team.slug.in_(slugs)))) if slugs else []
    missing = sorted(set(slugs) - {t.slug for t in teams})
    if missing:
        raise ValidationFailed([FieldError(field, f"unknown team: {', '.join(missing)}")])
    return teams


def parse_role(value: str, field: str = "role") -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValidationFailed([FieldError(field, f"unknown role '{value}'; use one of {allowed}")])


def create_user(
    session: Session, *, email: str, password: str, role: str, name: str = "",
    team_slugs: list[str] | None = None, actor: str, actor_id: int | None,
    break_glass: bool = False,
) -> User:
    errors: list[FieldError] = []
    if break_glass and role != Role.admin.value:
        errors.append(FieldError("break-glass", "only an admin can be a break-glass account"))
    email = normalise_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254 or text_problem(email):
        errors.append(FieldError("email", "enter a valid email address"))
    elif session.scalar(select(User.id).where(User.email == email)) is not None:
        errors.append(FieldError("email", "a user with this email already exists"))
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.append(FieldError("password", f"use at least {MIN_PASSWORD_LENGTH} characters"))
    if len(name) > 120:
        errors.append(FieldError("name", "at most 120 characters"))
    elif text_problem(name.strip()):
        errors.append(FieldError("name", text_problem(name.strip())))
    try:
        parsed_role = parse_role(role)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    try:
        teams = _teams_by_slug(session, team_slugs or [], "teams")
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    user = User(email=email, name=name.strip(), password_hash=hash_password(password),
                role=parsed_role, teams=teams, break_glass=break_glass)
    session.add(user)
    session.flush()
    after = snapshot(user, USER_FIELDS) | {"teams": [t.slug for t in teams]}
    if break_glass:
        after["break_glass"] = True
    record(session, actor=actor, actor_id=actor_id, action="create", entity="user",
           entity_id=user.id, after=after)
    return user


def update_user(
    session: Session, user: User, *, role: str, name: str, team_slugs: list[str],
    is_active: bool, actor: Principal,
) -> User:
    before = snapshot(user, USER_FIELDS) | {"teams": [t.slug for t in user.teams]}
    errors: list[FieldError] = []
    if len(name.strip()) > 120:
        errors.append(FieldError("name", "at most 120 characters"))
    elif text_problem(name.strip()):
        errors.append(FieldError("name", text_problem(name.strip())))
    try:
        parsed_role = parse_role(role)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    try:
        teams = _teams_by_slug(session, team_slugs, "teams")
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if user.id == actor.user_id and (not is_active or role != Role.admin.value):
        errors.append(FieldError("role", "you cannot demote or deactivate yourself"))
    if errors:
        raise ValidationFailed(errors)
    user.role, user.name, user.teams, user.is_active = parsed_role, name.strip(), teams, is_active
    if not is_active:
        end_all_sessions(session, user.id)
    record(session, actor=actor.actor_label, actor_id=actor.user_id, action="update",
           entity="user", entity_id=user.id, before=before,
           after=snapshot(user, USER_FIELDS) | {"teams": [t.slug for t in teams]})
    return user


def change_password(session: Session, user: User, *, new_password: str, actor: str,
                    actor_id: int | None) -> None:
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            [FieldError("password", f"use at least {MIN_PASSWORD_LENGTH} characters")]
        )
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    # A reset means the password may have leaked, and tokens may have leaked with it: it ends
    # every session and revokes every token of the user (resolve_token also refuses any token
    # made before the change).
    end_all_sessions(session, user.id)
    revoke_all_tokens(session, user.id)
    record(session, actor=actor, actor_id=actor_id, action="change_password", entity="user",
           entity_id=user.id)


# --- API tokens -----------------------------------------------------------------------------


def create_api_token(
    session: Session, *, user: User, name: str, role: str | None = None,
    team_slug: str | None = None, actor: str, actor_id: int | None,
) -> tuple[ApiToken, str]:
    """Creates a token and returns it with its secret, which is never shown again."""
    errors: list[FieldError] = []
    name = name.strip()
    if not name or len(name) > 120:
        errors.append(FieldError("name", "give the token a name of 1 to 120 characters"))
    elif text_problem(name):
        errors.append(FieldError("name", text_problem(name)))
    token_role = user.role
    if role:
        try:
            token_role = parse_role(role)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    team = None
    if team_slug:
        try:
            [team] = _teams_by_slug(session, [team_slug], "team")
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if not errors and _outranks(token_role, user.role):
        errors.append(FieldError("role", f"a token cannot have more rights than its user ({user.role})"))
    if not errors and team is not None and user.role != Role.admin and team.id not in {
        t.id for t in user.teams
    }:
        errors.append(FieldError("team", f"{user.email} is not a member of team {team.slug}"))
    if errors:
        raise ValidationFailed(errors)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=sha256(raw), prefix=raw[:10], role=token_role,
                     team_id=team.id if team else None, user_id=user.id)
    session.add(token)
    session.flush()
    record(session, actor=actor, actor_id=actor_id, action="create", entity="api_token",
           entity_id=token.id, after={"name": name, "role": token_role.value,
                                      "team": team.slug if team else None, "user": user.email})
    return token, raw


def _outranks(a: Role, b: Role) -> bool:
    return RANK[a] > RANK[b]


def resolve_token(session: Session, raw: str) -> Principal | None:
    """The principal a bearer token acts as, computed afresh on every request.

    A token carries limits (a role, optionally one team), never rights of its own: it acts with
    the lower of its role and its user's *current* role, on its user's *current* teams, and not
    at all once the user is deactivated or its password was reset after the token was made.
    """
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .options(selectinload(User.teams))
        .where(ApiToken.token_hash == sha256(raw), ApiToken.revoked_at.is_(None))
    ).one_or_none()
    if row is None:
        return None
    token, user = row
    if not user.is_active or token.created_at < user.password_changed_at:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_INTERVAL:
        _touch(session, token, "last_used_at", now)
    return Principal(
        user_id=user.id, email=user.email, role=lesser_role(token.role, user.role),
        name=token.name,
        team_ids=frozenset(t.id for t in user.teams), via_token=True, token_id=token.id,
        token_team_id=token.team_id,
    )


def revoke_all_tokens(session: Session, user_id: int) -> None:
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_token(session: Session, token_id: int, *, actor: Principal) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no API token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(session, actor=actor.actor_label, actor_id=actor.user_id, action="revoke",
               entity="api_token", entity_id=token.id)
    return token
