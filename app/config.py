"""Settings from the environment (prefix NORTHSTAR_), with safe defaults for the embedded SQLite mode."""

import secrets
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

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
    # Failed sign-ins never lock an account: past `login_max_failures` failures within the
    # window (×4 for one client address) each further try waits 2 s, 4 s, 8 s… after the last
    # failure, at most `login_max_delay_seconds` (app/auth/service.py `login_wait`).
    login_max_failures: int = Field(default=5, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    login_max_delay_seconds: int = Field(default=300, ge=1)
    # /metrics wants `Authorization: Bearer <this>` when set; unset, it answers loopback
    # clients only (app/web/observability.py).
    metrics_token: str | None = Field(default=None, repr=False)
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated addresses
    # or networks): the reverse proxy in front of the app, nobody else (app/web/edge.py).
    trusted_proxies: str = "127.0.0.1,::1"
    # Request bodies are read whole before a request may query (app/web/edge.py): at most this
    # many bytes (nginx's client_max_body_size matches), with no pause longer than
    # `body_idle_seconds` and all of it within `body_total_seconds`.
    max_body_bytes: int = Field(default=6 * 1024 * 1024, ge=1024)
    body_idle_seconds: float = Field(default=10, gt=0)
    body_total_seconds: float = Field(default=120, gt=0)
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
    # Single sign-on with OpenID Connect (docs/sso.md): on when the issuer and client id are set.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = Field(default=None, repr=False)
    # Okta releases groups with a "groups" scope; Keycloak and Entra ID through their settings.
    oidc_scopes: str = "openid email profile"
    # The ID token (or userinfo) claim that lists the user's groups.
    oidc_groups_claim: str = "groups"
    oidc_provider_name: str = "your identity provider"
    # Seconds to wait for the provider's discovery document, keys and token endpoint.
    oidc_timeout_seconds: float = Field(default=5.0, gt=0)
    # The address users reach Northstar at (for the redirect URI behind a proxy); unset, the
    # request's own base URL.
    public_url: str | None = None
    # false: only break-glass admins (`northstar users create --break-glass`) sign in with a
    # password; everyone else signs in through the identity provider.
    password_login: bool = True
    templates_dir: Path = PROJECT_ROOT / "templates"
    static_dir: Path = PROJECT_ROOT / "static"

    @property
    def db_capacity(self) -> int:
        """The most connections a worker's pool holds, hence its concurrent requests."""
        return self.db_pool_size + self.db_max_overflow

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def oidc_form_origins(self) -> tuple[str, ...]:
        """The provider's origin, where the sign-in and sign-out forms are redirected."""
        if not self.oidc_enabled:
            return ()
        parts = urlsplit(self.oidc_issuer or "")
        return (f"{parts.scheme}://{parts.netloc}",) if parts.scheme and parts.netloc else ()

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
