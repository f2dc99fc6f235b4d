"""The one dependency every route uses: who is asking, may they, and (for browsers) CSRF."""

from typing import Annotated

from fastapi import Depends, Request

from app.auth import service
from app.auth.cookies import session_id_from_cookie
from app.auth.csrf import verify_csrf
from app.auth.permissions import Permission, Principal
from app.core.errors import NotAuthenticated, PermissionDenied
from app.db import SessionDep


def current_principal(request: Request, session: SessionDep) -> Principal | None:
    """A bearer token when one is sent (the API), else the session cookie (the browser)."""
    if hasattr(request.state, "principal"):
        return request.state.principal
    principal = None
    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, raw = authorization.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise NotAuthenticated("Use an 'Authorization: Bearer <token>' header.")
        principal = service.resolve_token(session, raw.strip())
        if principal is None:
            raise NotAuthenticated("The API token is unknown or was revoked.")
    else:
        session_id = session_id_from_cookie(request)
        if session_id:
            principal = service.resolve_session(session, request.app.state.settings, session_id)
    request.state.principal = principal
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(current_principal)]


def require(permission: Permission):
    """Dependency factory: authenticated, allowed `permission`, and CSRF-checked for browsers."""

    async def dependency(request: Request, principal: OptionalPrincipal) -> Principal:
        if principal is None:
            raise NotAuthenticated("Sign in to continue.")
        if not principal.via_token:
            # Cookies ride along on cross-site requests; bearer tokens do not.
            await verify_csrf(request)
        if not principal.has(permission):
            raise PermissionDenied(f"Your role ({principal.role}) may not {permission.describe()}.")
        if permission is Permission.admin and principal.token_team_id is not None:
            # Org-wide settings are beyond a token bound to one team, whatever its role.
            raise PermissionDenied("A token bound to one team may not manage settings.")
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]  (read by the route-walk test)
    return dependency


Reader = Annotated[Principal, Depends(require(Permission.read))]
Exporter = Annotated[Principal, Depends(require(Permission.export))]
Editor = Annotated[Principal, Depends(require(Permission.edit))]
Admin = Annotated[Principal, Depends(require(Permission.admin))]
