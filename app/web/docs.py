"""Interactive API documentation, served with locally vendored Swagger UI (no CDN)."""

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.web.templating import render

router = APIRouter()


@router.get("/docs", name="docs", include_in_schema=False)
def docs(request: Request) -> Response:
    # Public on purpose: the API's shape is no secret, and every operation still needs a token.
    return render(request, "docs.html")
