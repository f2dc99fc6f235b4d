"""Single sign-on writes: pending sign-ins, just-in-time users, group mappings, refusals."""

import hashlib
import logging
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, selectinload

from app.audit.service import record
from app.auth import queries
from app.auth.models import Role, SsoGroupMapping, SsoLogin, User
from app.auth.oidc import SsoRefused
from app.auth.service import _teams_by_slug, end_all_sessions, parse_role
from app.auth.sso import Grant, Identity, evaluate
from app.core.errors import FieldError, ValidationFailed
from app.core.clock import utcnow
from app.teams.models import Team

log = logging.getLogger("northstar.sso")

# How long a user may take at the provider between leaving Northstar and coming back.
LOGIN_TTL = timedelta(minutes=10)
SSO_ACTOR = "sso"


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- pending sign-ins -----------------------------------------------------------------------


def begin_login(session: Session, *, next_path: str) -> tuple[str, SsoLogin]:
    """A new pending sign-in; returns the state (kept by the browser in a signed cookie)."""
    now = utcnow()
    # Sign-ins abandoned at the provider are of no use after their TTL.
    session.execute(delete(SsoLogin).where(SsoLogin.created_at < now - LOGIN_TTL * 6))
    state = secrets.token_urlsafe(32)
    login = SsoLogin(state_hash=_sha256(state), nonce=secrets.token_urlsafe(32),
                     code_verifier=secrets.token_urlsafe(64), next_path=next_path,
                     created_at=now)
    session.add(login)
    session.flush()
    return state, login


def consume_login(session: Session, *, state: str | None, cookie_state: str | None) -> SsoLogin:
    """The pending sign-in this callback answers, marked used; refused when the state is
    missing, belongs to another browser, is unknown, expired or already used."""
    if not state:
        raise SsoRefused("The sign-in answer carried no state, so it cannot be trusted. "
                         "Please sign in again.", "callback without state", status_code=400)
    if not cookie_state or not secrets.compare_digest(state, cookie_state):
        raise SsoRefused("This sign-in was not started in this browser (or took too long). "
                         "Please sign in again.", "callback state does not match this browser's",
                         status_code=400)
    now = utcnow()
    login = session.scalar(select(SsoLogin).where(SsoLogin.state_hash == _sha256(state)))
    if login is None or now - login.created_at > LOGIN_TTL:
        raise SsoRefused("This sign-in has expired. Please sign in again.",
                         "callback state unknown or expired", status_code=400)
    # One winner even when the same answer arrives twice at once.
    used = session.execute(
        update(SsoLogin).where(SsoLogin.id == login.id, SsoLogin.used_at.is_(None))
        .values(used_at=now)
    )
    if used.rowcount != 1:
        raise SsoRefused("This sign-in link was already used. Please sign in again.",
                         "callback state replayed", status_code=400)
    return login


# --- signing in -----------------------------------------------------------------------------


def record_refusal(session: Session, *, reason: str, issuer: str | None = None,
                   subject: str | None = None, email: str | None = None) -> None:
    log.warning("single sign-on refused: %s (issuer=%s sub=%s email=%s)", reason, issuer,
                subject, email)
    record(session, actor=email or SSO_ACTOR, actor_id=None, action="sso_refused", entity="sso",
           entity_id=subject or "-", after={"reason": reason, "issuer": issuer, "email": email})


def sign_in(session: Session, *, issuer: str, identity: Identity) -> tuple[User, Grant]:
    """The user behind (issuer, sub), created on first sign-in, with name, email, role and teams
    set from this sign-in. SsoRefused when no group of theirs is mapped or the email is taken by
    another account; then nothing is created (an existing user's sessions end)."""
    user = session.scalar(
        select(User).options(selectinload(User.teams))
        .where(User.oidc_issuer == issuer, User.oidc_subject == identity.subject)
    )
    grant = evaluate(identity.groups, queries.sso_mapping_rules(session))
    if grant is None:
        if user is not None:
            # They left every mapped group: what the groups gave is gone now, not at expiry.
            user.role, user.teams = Role.viewer, []
            end_all_sessions(session, user.id)
        raise SsoRefused(
            "Your account at the identity provider is in no group that has access to "
            "Northstar. Ask your Northstar admin to map one of your groups.",
            f"no mapped group among {sorted(identity.groups)[:20]}",
        )
    if user is not None and not user.is_active:
        raise SsoRefused("Your Northstar account is deactivated. Ask your Northstar admin.",
                         "user deactivated")
    owner = session.scalar(select(User.id).where(User.email == identity.email))
    if owner is not None and (user is None or owner != user.id):
        # Never link by email: the address may have belonged to someone else.
        raise SsoRefused(
            f"A Northstar account with the email {identity.email} already exists and is not "
            "linked to this identity provider account. Ask your Northstar admin.",
            "email taken by another account",
        )
    teams = list(session.scalars(
        select(Team).where(Team.id.in_(grant.team_ids))
    )) if grant.team_ids else []
    after = {"email": identity.email, "name": identity.name, "role": grant.role.value,
             "teams": sorted(t.slug for t in teams), "groups": list(grant.groups)}
    if user is None:
        user = User(email=identity.email, name=identity.name, password_hash="",
                    role=grant.role, teams=teams, oidc_issuer=issuer,
                    oidc_subject=identity.subject)
        session.add(user)
        session.flush()
        record(session, actor=identity.email, actor_id=user.id, action="create", entity="user",
               entity_id=user.id, after=after | {"via": "sso"})
    else:
        before = {"email": user.email, "name": user.name, "role": user.role.value,
                  "teams": sorted(t.slug for t in user.teams)}
        user.email, user.name, user.role, user.teams = (identity.email, identity.name,
                                                        grant.role, teams)
        changed = {k: v for k, v in after.items() if k in before and before[k] != v}
        if changed:
            record(session, actor=identity.email, actor_id=user.id, action="update",
                   entity="user", entity_id=user.id,
                   before={k: before[k] for k in changed}, after=changed | {"via": "sso"})
    return user, grant


# --- group mappings -------------------------------------------------------------------------


def _mapping_snapshot(mapping: SsoGroupMapping) -> dict[str, object]:
    return {"group": mapping.group_name, "role": mapping.role.value,
            "teams": sorted(t.slug for t in mapping.teams)}


def map_group(session: Session, *, group: str, role: str, team_slugs: list[str], actor: str,
              actor_id: int | None) -> SsoGroupMapping:
    """Creates or replaces what one provider group gives."""
    errors: list[FieldError] = []
    group = group.strip()
    if not group or len(group) > 255:
        errors.append(FieldError("group", "give the group's name as the provider sends it "
                                          "(1 to 255 characters)"))
    parsed_role: Role | None = None
    try:
        parsed_role = parse_role(role)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    try:
        teams = _teams_by_slug(session, team_slugs, "teams")
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    assert parsed_role is not None
    mapping = queries.get_sso_mapping(session, group)
    if mapping is None:
        mapping = SsoGroupMapping(group_name=group, role=parsed_role, teams=teams)
        session.add(mapping)
        session.flush()
        record(session, actor=actor, actor_id=actor_id, action="create",
               entity="sso_group_mapping", entity_id=mapping.id,
               after=_mapping_snapshot(mapping))
        return mapping
    before = _mapping_snapshot(mapping)
    mapping.role, mapping.teams = parsed_role, teams
    after = _mapping_snapshot(mapping)
    if after != before:
        mapping.updated_at = utcnow()
        record(session, actor=actor, actor_id=actor_id, action="update",
               entity="sso_group_mapping", entity_id=mapping.id, before=before, after=after)
    return mapping


def unmap_group(session: Session, *, group: str, actor: str, actor_id: int | None) -> None:
    mapping = queries.get_sso_mapping(session, group.strip())
    if mapping is None:
        raise ValidationFailed([FieldError("group", f"no mapping for group '{group.strip()}'")])
    before = _mapping_snapshot(mapping)
    session.delete(mapping)
    record(session, actor=actor, actor_id=actor_id, action="delete",
           entity="sso_group_mapping", entity_id=mapping.id, before=before)
