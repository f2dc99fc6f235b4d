"""The /api/v1 routers: thin twins of the pages, with the same queries and services."""

from fastapi import APIRouter, Depends
from fastapi.security import HTTPBearer

from app.api import (
    initiatives, maturity, metrics, ml_models, pain_points, reference, reports, settings, teams,
    value, velocity,
)

# Documentation only (auto_error=False never refuses anything): it gives /openapi.json the
# bearer scheme and /docs its "Authorize" button. Authentication is app.auth.deps's alone.
bearer = HTTPBearer(auto_error=False, description="An API token created in the UI or the CLI.")

# Operation ids are the route names ("api.teams.list"): stable for generated clients.
router = APIRouter(dependencies=[Depends(bearer)],
                   generate_unique_id_function=lambda route: route.name)
for sub_router in (teams.router, reference.router, settings.router, pain_points.router,
                   metrics.router, ml_models.router, velocity.router, maturity.router,
                   initiatives.router, reports.router, value.router):
    router.include_router(sub_router)
