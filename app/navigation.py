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


NAV = [
    NavItem("Overview", "/", Permission.read),
    NavItem("Pain points", "/pain-points", Permission.read),
    NavItem("Velocity", "/dashboards/velocity", Permission.read),
    NavItem("Maturity", "/dashboards/maturity", Permission.read),
    NavItem("Initiatives", "/initiatives", Permission.read),
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
    return [
        NavItem(i.label, i.href, i.permission,
                current=here == i.href or (i.href != "/" and here.startswith(i.href + "/")))
        for i in NAV
        if i.href in paths and principal.has(i.permission)
    ]
