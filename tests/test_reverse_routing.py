"""Links are built from route names (`url_for`, `path_for`): app/main.py remembers which route
answers each name. Every named route must still give exactly FastAPI's path, whatever the
parameters, and a name that cannot be built must still fail."""

import pytest
from starlette.routing import NoMatchFound

SAMPLE = {"integer": 7, "string": "ml-engineer", "path": "vendor/htmx.min.js"}


def named_routes(app):
    for route in app.router.routes:
        nested = getattr(route, "effective_route_contexts", None)
        for leaf in (nested() if nested is not None else (route,)):
            name = getattr(leaf, "name", None)
            if name:
                convertors = getattr(leaf, "param_convertors", {})
                yield name, {key: SAMPLE[type(c).__name__.removesuffix("Convertor").lower()]
                             for key, c in convertors.items()}


def test_every_named_route_gives_the_path_fastapi_gives(app):
    walk = type(app.router).url_path_for
    checked = 0
    for name, params in named_routes(app):
        for _ in range(2):  # the first call finds the route, the second asks it directly
            assert app.url_path_for(name, **params) == walk(app.router, name, **params), name
        checked += 1
    assert checked > 100  # every page, API and static route of the app


def test_other_parameters_or_names_still_fail(app):
    assert app.url_path_for("initiatives.detail", initiative_id=3) == "/initiatives/3"
    assert app.url_path_for("initiatives.detail", initiative_id=12) == "/initiatives/12"
    with pytest.raises(NoMatchFound):
        app.url_path_for("initiatives.detail", id=3)
    with pytest.raises(NoMatchFound):
        app.url_path_for("initiatives.detail")
    with pytest.raises(NoMatchFound):
        app.url_path_for("no.such.route")
