"""The application factory: routers, static files, middleware. Nothing happens at import."""

import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import NoMatchFound

import app.models  # noqa: F401  (every model, and the listeners that keep summaries in step)
from app.api.idempotency import install_idempotency
from app.api.router import router as api_router
from app.audit.routes import router as audit_router
from app.auth.oidc import OidcClient
from app.auth.admin_routes import router as auth_admin_router
from app.auth.oidc_routes import router as oidc_router
from app.auth.routes import router as auth_router
from app.config import Settings, get_settings
from app.dashboards.roi_routes import router as roi_dashboard_router
from app.dashboards.routes import router as dashboard_router
from app.dashboards.value_routes import router as value_dashboard_router
from app.db import UNGATED_THREADS, RequestGate, make_engine, make_sessionmaker
from app.imports.service import background as import_background
from app.initiatives.routes import router as initiative_router
from app.maturity.routes import router as maturity_router
from app.ml_models.routes import router as model_router
from app.ops.migrate import head_revision
from app.pain_points.csv_routes import router as pain_point_csv_router
from app.pain_points.routes import router as pain_point_router
from app.reports.routes import router as reports_router
from app.settings.routes import router as settings_router
from app.settings.sso_routes import router as sso_settings_router
from app.teams.routes import router as team_router
from app.value.routes import router as model_value_router
from app.web.docs import router as docs_router
from app.web.edge import BufferedBody, trusted_proxy_headers
from app.web.errors import install_error_handlers
from app.web.health import router as health_router
from app.web.input_hygiene import InputHygiene
from app.web.observability import install_observability
from app.web.security_headers import SecurityHeaders
from app.web.static_files import CachedStatic, make_asset_url
from app.web.templating import make_templates


def create_app(settings: Settings | None = None, *, engine=None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Northstar API",
        version="1",
        description="Ties the work of ML platform teams to business value. Authenticate with "
        "`Authorization: Bearer <token>`; errors are RFC 9457 problem+json.",
        docs_url=None, redoc_url=None, lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.secret_key = settings.resolved_secret_key()
    app.state.engine = engine or make_engine(settings.database_url,
                                             pool_size=settings.db_pool_size,
                                             max_overflow=settings.db_max_overflow,
                                             lock_timeout_ms=settings.db_lock_timeout_ms,
                                             statement_timeout_ms=settings.db_statement_timeout_ms)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    # Runs large CSV imports after their request has answered (app/imports/service.py).
    app.state.import_runner = import_background
    app.state.migration_head = head_revision()
    app.state.oidc = OidcClient(settings) if settings.oidc_enabled else None
    templates = make_templates(str(settings.templates_dir))
    templates.env.globals["asset_url"] = make_asset_url(Path(settings.static_dir))
    app.state.templates = templates

    install_error_handlers(app)
    _include_routers(app)
    app.mount("/static", CachedStatic(directory=settings.static_dir), name="static")
    _remember_paths(app)
    # Before any route or dependency reads the request (and inside the request id, the
    # security headers and the access log, which its refusals carry like any answer).
    app.add_middleware(InputHygiene)
    # Inside GZip: stored answers are the uncompressed bodies, compressed again on replay.
    install_idempotency(app)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(SecurityHeaders, hsts=settings.cookie_secure,
                       form_origins=settings.oidc_form_origins)
    # Outside everything that may query (idempotency keys, the routes), inside the access log
    # so that a request's time includes its wait for a slot.
    app.add_middleware(RequestGate, capacity=settings.db_capacity)
    # Outside the gate: a slow body is read before its request may take a slot (app/web/edge.py).
    app.add_middleware(BufferedBody, limit=settings.max_body_bytes,
                       idle_seconds=settings.body_idle_seconds,
                       total_seconds=settings.body_total_seconds)
    install_observability(app)  # it ids and times every response
    # Outermost: the access log, /metrics and the login limits all see the real client.
    app.add_middleware(trusted_proxy_headers, trusted=settings.trusted_proxies)
    return app


def _remember_paths(app: FastAPI) -> None:
    """Reverse routing that remembers where each route name lives. FastAPI's `url_path_for`
    walks every included router's routes, and each route that does not match raises, on every
    call (0.3–0.7 ms here; the ROI page links 45 rows, a ledger page 50). The routes no longer
    change once the app is built, so the route that answered a name once is asked first next
    time; a name it cannot build (other parameters) takes the long way again."""
    router = app.router
    walk = router.url_path_for
    found: dict[str, Any] = {}

    def leaves() -> Iterator[Any]:
        for route in router.routes:
            nested = getattr(route, "effective_route_contexts", None)  # an included router
            yield from (nested() if nested is not None else (route,))

    def url_path_for(name: str, /, **params: Any) -> Any:
        route = found.get(name)
        if route is not None:
            try:
                return route.url_path_for(name, **params)
            except NoMatchFound:
                pass
        for route in leaves():
            try:
                path = route.url_path_for(name, **params)
            except NoMatchFound:
                continue
            found[name] = route
            return path
        return walk(name, **params)  # raises NoMatchFound as FastAPI words it

    router.url_path_for = url_path_for  # Request.url_for and app.url_path_for land here


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Sync routes and dependencies run in anyio's thread pool (40 threads by default), but at
    # most `db_capacity` requests that query run at once (RequestGate): a thread for each, and a
    # few for what needs no connection (static files, /healthz), so that those are not held up
    # behind slow requests. Fewer threads also leave more of the GIL to the event loop.
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = app.state.settings.db_capacity + UNGATED_THREADS
    # Everything loaded at start-up (modules, models, routes, templates) lives as long as the
    # process: moved out of the collector's generations, it is no longer traversed by every
    # full collection, which otherwise paused one request in three for ~110 ms at scale L.
    gc.collect()
    gc.freeze()
    yield


def _include_routers(app: FastAPI) -> None:
    # The CSV routes come first: /pain-points/import must not be taken for a pain point id.
    for router in (health_router, auth_router, oidc_router, docs_router, settings_router,
                   team_router, auth_admin_router, sso_settings_router,
                   pain_point_csv_router, pain_point_router, model_value_router, model_router,
                   maturity_router, initiative_router, roi_dashboard_router,
                   value_dashboard_router, dashboard_router):
        app.include_router(router)
    app.include_router(reports_router)
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(audit_router)
