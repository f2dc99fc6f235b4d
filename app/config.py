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
    templates_dir: Path = PROJECT_ROOT / "templates"
    static_dir: Path = PROJECT_ROOT / "static"

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
