"""The OpenID Connect client: the provider's discovery document and keys, the authorization
URL (PKCE S256, state, nonce), the code exchange and the ID token's validation, with Authlib.

No database here: `app/auth/sso_service.py` decides what a validated sign-in gives.
"""

import logging
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client.errors import OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from app.config import Settings

with warnings.catch_warnings():
    # Authlib 1.9 suggests the httpx2 fork at import; httpx 0.28 is the client this project pins.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

log = logging.getLogger("northstar.sso")

# A good discovery document is kept this long; a failure is retried after FAILURE_TTL, so that
# the login page does not wait for a dead provider on every view.
METADATA_TTL = 3600.0
FAILURE_TTL = 30.0
# Clock difference tolerated between Northstar and the provider when checking exp and iat.
LEEWAY_SECONDS = 60
REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


class SsoUnavailable(Exception):
    """The provider cannot be used now (unreachable, wrong issuer, broken discovery)."""


class SsoRefused(Exception):
    """A sign-in that must not succeed. `message` is for the user, `reason` for the log."""

    def __init__(self, message: str, reason: str, *, status_code: int = 403) -> None:
        super().__init__(reason)
        self.message = message
        self.reason = reason
        self.status_code = status_code


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    signing_algorithms: tuple[str, ...]


def parse_metadata(document: Any, expected_issuer: str) -> ProviderMetadata:
    """The discovery document's fields; its issuer must be exactly the configured one
    (OpenID Connect Discovery 1.0, section 4.3)."""
    if not isinstance(document, dict):
        raise SsoUnavailable("the discovery document is not a JSON object")
    missing = [name for name in REQUIRED_METADATA if not isinstance(document.get(name), str)]
    if missing:
        raise SsoUnavailable(f"the discovery document lacks {', '.join(missing)}")
    if document["issuer"] != expected_issuer:
        raise SsoUnavailable(f"the discovery document names issuer {document['issuer']!r}, "
                             f"not the configured {expected_issuer!r}")
    algorithms = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    # "none" would accept an unsigned token.
    algorithms = tuple(a for a in algorithms if isinstance(a, str) and a != "none")
    return ProviderMetadata(
        issuer=document["issuer"],
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        userinfo_endpoint=document.get("userinfo_endpoint"),
        end_session_endpoint=document.get("end_session_endpoint"),
        signing_algorithms=algorithms or ("RS256",),
    )


class OidcClient:
    """One per app process; thread-safe caches of the discovery document and the keys."""

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None):
        assert settings.oidc_issuer and settings.oidc_client_id
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self.scopes = settings.oidc_scopes
        self.groups_claim = settings.oidc_groups_claim
        self.provider_name = settings.oidc_provider_name
        self.timeout = settings.oidc_timeout_seconds
        self._transport = transport
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._failure: tuple[str, float] | None = None
        self._keys: dict[str, Any] | None = None

    # --- the provider's documents -------------------------------------------------------------

    def _http(self) -> httpx.Client:
        return httpx.Client(timeout=self.timeout, transport=self._transport)

    def _get_json(self, url: str) -> Any:
        with self._http() as http:
            response = http.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        return response.json()

    def metadata(self) -> ProviderMetadata:
        """The discovery document, cached; raises SsoUnavailable with the reason."""
        now = time.monotonic()
        with self._lock:
            if self._metadata is not None and now - self._metadata_at < METADATA_TTL:
                return self._metadata
            if self._failure is not None and now - self._failure[1] < FAILURE_TTL:
                raise SsoUnavailable(self._failure[0])
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            metadata = parse_metadata(self._get_json(url), self.issuer)
        except SsoUnavailable as exc:
            reason = str(exc)
        except (httpx.HTTPError, ValueError) as exc:
            reason = f"cannot read {url}: {exc or type(exc).__name__}"
        else:
            with self._lock:
                self._metadata, self._metadata_at, self._failure = metadata, now, None
            return metadata
        log.warning("single sign-on unavailable: %s", reason)
        with self._lock:
            self._failure = (reason, now)
        raise SsoUnavailable(reason)

    def unavailable_reason(self) -> str | None:
        """None when the provider answers; else why not (for the log and the login page)."""
        try:
            self.metadata()
        except SsoUnavailable as exc:
            return str(exc)
        return None

    def _key_set(self, *, refresh: bool = False) -> KeySet:
        with self._lock:
            keys = None if refresh else self._keys
        if keys is None:
            try:
                keys = self._get_json(self.metadata().jwks_uri)
            except (httpx.HTTPError, ValueError) as exc:
                raise SsoUnavailable(f"cannot read the provider's keys: {exc}") from exc
            with self._lock:
                self._keys = keys
        return KeySet.import_key_set(keys)

    # --- the flow -----------------------------------------------------------------------------

    def _oauth(self, redirect_uri: str) -> OAuth2Client:
        return OAuth2Client(
            client_id=self.client_id, client_secret=self.client_secret, scope=self.scopes,
            redirect_uri=redirect_uri, code_challenge_method="S256", timeout=self.timeout,
            transport=self._transport,
        )

    def authorization_url(self, *, redirect_uri: str, state: str, nonce: str,
                          code_verifier: str) -> str:
        with self._oauth(redirect_uri) as oauth:
            url, _ = oauth.create_authorization_url(
                self.metadata().authorization_endpoint, state=state, nonce=nonce,
                code_verifier=code_verifier,
            )
        return url

    def exchange_code(self, *, redirect_uri: str, code: str, code_verifier: str) -> dict[str, Any]:
        """The token response for an authorization code (sent once; a replay is refused)."""
        endpoint = self.metadata().token_endpoint
        try:
            with self._oauth(redirect_uri) as oauth:
                token = oauth.fetch_token(endpoint, code=code, code_verifier=code_verifier,
                                          grant_type="authorization_code")
        except OAuthError as exc:
            raise SsoRefused(
                "The identity provider did not accept this sign-in (the link was already used "
                "or has expired). Please sign in again.",
                f"token endpoint refused the code: {exc.error}: {exc.description}",
            ) from exc
        except httpx.HTTPError as exc:
            raise SsoUnavailable(f"cannot reach the token endpoint: {exc}") from exc
        if not isinstance(token, dict) or not isinstance(token.get("id_token"), str):
            raise SsoRefused("The identity provider sent no ID token.",
                             "token response without an id_token")
        return dict(token)

    def validate_id_token(self, id_token: str, *, nonce: str,
                          access_token: str | None = None) -> dict[str, Any]:
        """The ID token's claims once its signature (the provider's JWKS) and its iss, aud, exp,
        iat, nonce, azp and at_hash claims are checked; SsoRefused otherwise."""
        metadata = self.metadata()
        registry = JWSRegistry(algorithms=list(metadata.signing_algorithms),
                               strict_check_header=False)
        try:
            try:
                decoded = jwt.decode(id_token, self._key_set(), registry=registry)
            except InvalidKeyIdError:
                # The provider rotated its keys since they were fetched.
                decoded = jwt.decode(id_token, self._key_set(refresh=True), registry=registry)
        except JoseError as exc:
            raise SsoRefused(
                "The identity provider's answer could not be verified, so you were not signed "
                "in.", f"ID token signature rejected: {exc.error}: {exc.description}",
            ) from exc
        except ValueError as exc:
            raise SsoRefused("The identity provider's answer could not be read.",
                             f"ID token malformed: {exc}") from exc
        options = {
            "iss": {"essential": True, "value": metadata.issuer},
            "aud": {"essential": True, "value": self.client_id},
            "sub": {"essential": True},
        }
        params = {"nonce": nonce, "client_id": self.client_id}
        if access_token:
            params["access_token"] = access_token
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)
        try:
            claims.validate(leeway=LEEWAY_SECONDS)
        except JoseError as exc:
            raise SsoRefused(
                "The identity provider's answer was not meant for this sign-in (wrong audience, "
                "expired or replayed), so you were not signed in.",
                f"ID token claim rejected: {exc.error}: {exc.description}",
            ) from exc
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise SsoRefused("The identity provider sent no user id.", "ID token without sub")
        return dict(claims)

    def userinfo(self, access_token: str) -> dict[str, Any]:
        endpoint = self.metadata().userinfo_endpoint
        if not endpoint:
            return {}
        try:
            with self._http() as http:
                response = http.get(endpoint, headers={"Authorization": f"Bearer {access_token}",
                                                       "Accept": "application/json"})
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SsoUnavailable(f"cannot read the userinfo endpoint: {exc}") from exc
        return data if isinstance(data, dict) else {}

    def end_session_url(self, *, post_logout_redirect_uri: str) -> str | None:
        """RP-initiated logout at the provider, when it advertises an end-session endpoint."""
        try:
            endpoint = self.metadata().end_session_endpoint
        except SsoUnavailable:
            return None
        if not endpoint:
            return None
        query = httpx.QueryParams({"client_id": self.client_id,
                                   "post_logout_redirect_uri": post_logout_redirect_uri})
        separator = "&" if "?" in endpoint else "?"
        return f"{endpoint}{separator}{query}"
