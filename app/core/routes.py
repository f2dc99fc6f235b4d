"""Every route of an app, flattened (FastAPI 0.165 keeps included routers nested)."""

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts


def iter_app_routes(app: FastAPI) -> Iterator:
    """Route contexts with `.path`, `.methods`, `.name`, `.endpoint` and `.dependant`."""
    for context in iter_route_contexts(app.routes):
        if context.methods:  # skips mounts (static files)
            yield context
