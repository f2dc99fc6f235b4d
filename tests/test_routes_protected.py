"""Every route of the app is behind the one authorization dependency, except a short public list."""

import re

import pytest

from app.core.routes import iter_app_routes
from app.main import create_app

# Routes anyone may call, and why.
PUBLIC = {
    ("GET", "/login"), ("POST", "/login"),  # signing in (the POST checks CSRF)
    ("POST", "/logout"),  # ends whatever session the cookie names (checks CSRF)
    ("POST", "/auth/oidc/login"),  # starts a single sign-on (checks CSRF; 404 when not set up)
    ("GET", "/auth/oidc/callback"),  # the provider's answer, bound to the browser by its state
    ("GET", "/healthz"), ("GET", "/readyz"),  # probes for load balancers
    ("GET", "/docs"), ("GET", "/openapi.json"),  # API description; operations need a token
    ("HEAD", "/openapi.json"),
    ("GET", "/metrics"),  # Prometheus scrapers: a bearer token when set, else loopback only
}


def _permission_of(dependant):
    if dependant is None:  # a plain Starlette route (only /openapi.json)
        return None
    for dep in dependant.dependencies:
        if hasattr(dep.call, "permission"):
            return dep.call.permission
        found = _permission_of(dep)
        if found is not None:
            return found
    return None


def all_routes(settings):
    app = create_app(settings)
    return [(method, route) for route in iter_app_routes(app) for method in sorted(route.methods)]


def test_every_non_public_route_requires_a_permission(settings):
    unprotected = [
        f"{method} {route.path}" for method, route in all_routes(settings)
        if (method, route.path) not in PUBLIC and route.path != "/openapi.json"
        and _permission_of(getattr(route, 'dependant', None)) is None
    ]
    assert unprotected == []


def test_the_public_list_names_only_existing_routes(settings):
    existing = {(m, r.path) for m, r in all_routes(settings)}
    assert PUBLIC <= existing


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_anonymous_requests_are_turned_away_everywhere(client, settings):
    checked = 0
    for method, route in all_routes(settings):
        if (method, route.path) in PUBLIC or method == "HEAD":
            continue
        response = client.request(method, _concrete(route.path))
        if route.path.startswith("/api/"):
            assert response.status_code == 401, f"{method} {route.path}"
            assert response.headers["content-type"] == "application/problem+json"
        else:
            assert response.status_code == 303, f"{method} {route.path}"
            assert response.headers["location"].startswith("/login")
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize("role", ["viewer", "leader", "pm"])
def test_admin_routes_refuse_other_roles(client, settings, as_role, role):
    from tests.helpers import page_csrf

    as_role(role)
    token = page_csrf(client)
    admin_routes = [
        (m, r) for m, r in all_routes(settings)
        if _permission_of(getattr(r, 'dependant', None)) is not None and _permission_of(getattr(r, 'dependant', None)).value == "admin"
        and m != "HEAD"
    ]
    for method, route in admin_routes:
        response = client.request(method, _concrete(route.path), headers={"X-CSRF-Token": token})
        assert response.status_code == 403, f"{role} {method} {route.path}: {response.status_code}"
