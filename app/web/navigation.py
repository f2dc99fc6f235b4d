"""The main navigation: a section appears once its page exists and the principal may see it."""

from dataclasses import dataclass
from functools import lru_cache

from fastapi import FastAPI, Request

from app.auth.permissions import Permission
from app.core.routes import iter_app_routes


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    permission: Permission
    current: bool = False
    # Other path prefixes that belong to this section (a team's maturity page, a model page).
    also: tuple[str, ...] = ()


NAV = [
    NavItem("Overview", "/", Permission.read),
    NavItem("Pain points", "/pain-points", Permission.read),
    NavItem("Velocity", "/dashboards/velocity", Permission.read, also=("/models",)),
    # Until the velocity dashboard exists, the section opens on the models list.
    NavItem("Velocity", "/models", Permission.read, also=("/models",)),
    NavItem("Value", "/dashboards/value", Permission.read),
    NavItem("Maturity", "/dashboards/maturity", Permission.read, also=("/maturity/",)),
    NavItem("Initiatives", "/initiatives", Permission.read, also=("/dashboards/roi",)),
    NavItem("Reports", "/reports", Permission.export),
    NavItem("Settings", "/settings", Permission.admin),
]


@lru_cache(maxsize=8)
def _page_paths(app: FastAPI) -> frozenset[str]:
    return frozenset(r.path for r in iter_app_routes(app) if "GET" in r.methods)


def nav_items(request: Request) -> list[NavItem]:
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return []
    paths = _page_paths(request.app)
    here = request.url.path
    items: list[NavItem] = []
    for i in NAV:
        if i.href not in paths or not principal.has(i.permission):
            continue
        if any(item.label == i.label for item in items):  # a fallback of a shown section
            continue
        items.append(NavItem(
            i.label, i.href, i.permission, also=i.also,
            current=here == i.href or (i.href != "/" and here.startswith(i.href + "/"))
            or any(here.startswith(prefix) for prefix in i.also)))
    return items
