"""Settings from the environment (prefix NORTHSTAR_), with safe defaults for the embedded SQLite mode."""

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NORTHSTAR_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./northstar.db"
    # Unset: generated once and kept in `secret_key_file`, so sessions survive restarts and
    # nothing secret is ever committed.
    secret_key: str | None = Field(default=None, repr=False)
    secret_key_file: Path = Path(".northstar-secret")
    # Cookies are Secure behind HTTPS; the local quick start serves plain http.
    cookie_secure: bool = False
    cookie_samesite: str = "lax"
    session_idle_minutes: int = 120
    session_absolute_hours: int = 12
    # Failed logins allowed per account and per client address within the window.
    login_max_failures: int = 5
    login_window_minutes: int = 15
    # /metrics wants `Authorization: Bearer <this>` when set; unset, it answers loopback
    # clients only (app/observability.py).
    metrics_token: str | None = Field(default=None, repr=False)
    # Database connections per worker process: `db_pool_size` kept open plus `db_max_overflow`
    # opened under load. Their sum is also how many requests a worker serves at once (and its
    # thread pool's size): the others queue instead of timing out on the pool (app/db.py).
    db_pool_size: int = Field(default=5, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    # A request's statement that waits this long for a lock another transaction holds (an
    # edit of the same row, a rebuild) gives up and answers 503 with Retry-After; one that
    # runs this long is cancelled the same way. PostgreSQL (session settings of the web app's
    # connections; the command line's long work has none); SQLite waits `db_lock_timeout_ms`
    # for the write lock. 0 turns a limit off.
    db_lock_timeout_ms: int = Field(default=3000, ge=0)
    db_statement_timeout_ms: int = Field(default=30000, ge=0)
    # `northstar serve --workers N` (N > 1): seconds uvicorn's supervisor waits for a busy
    # worker to answer its healthcheck before killing it with its requests in flight.
    worker_healthcheck_timeout: int = Field(default=30, ge=1)
    templates_dir: Path = PROJECT_ROOT / "templates"
    static_dir: Path = PROJECT_ROOT / "static"

    @property
    def db_capacity(self) -> int:
        """The most connections a worker's pool holds, hence its concurrent requests."""
        return self.db_pool_size + self.db_max_overflow

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.secret_key_file
        if path.exists():
            return path.read_text().strip()
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
