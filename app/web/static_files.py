"""Static assets: content-hashed URLs and year-long immutable caching."""

import hashlib
from functools import lru_cache
from pathlib import Path

from starlette.staticfiles import StaticFiles
from starlette.types import Scope
from starlette.responses import Response

YEAR = 365 * 24 * 3600


class CachedStatic(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            # Every URL carries its content hash (see asset_url), so it can be cached for good.
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        return response


def make_asset_url(static_dir: Path):
    @lru_cache(maxsize=256)
    def asset_url(path: str) -> str:
        """/static/<path>?v=<hash of its content>: a new URL whenever the file changes."""
        digest = hashlib.sha256((static_dir / path).read_bytes()).hexdigest()[:12]
        return f"/static/{path}?v={digest}"

    return asset_url
