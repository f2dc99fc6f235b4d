"""Security headers on every response (pure ASGI middleware, no per-request allocation games)."""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Plotly injects one empty <style> element; its hash is allowed, nothing else inline.
PLOTLY_EMPTY_STYLE = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    f"style-src 'self' {PLOTLY_EMPTY_STYLE}",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# Swagger UI sets inline style attributes; scripts stay 'self' only.
DOCS_CSP = CSP.replace(f"style-src 'self' {PLOTLY_EMPTY_STYLE}", "style-src 'self' 'unsafe-inline'")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool, form_origins: tuple[str, ...] = ()) -> None:
        """`form_origins`: other origins a form post may be redirected to (the identity
        provider's, for single sign-on and its logout); Chromium applies form-action to the
        redirects that follow a post."""
        self.app = app
        self.hsts = hsts
        self.csp, self.docs_csp = CSP, DOCS_CSP
        if form_origins:
            extra = " ".join(form_origins)
            self.csp = CSP.replace("form-action 'self'", f"form-action 'self' {extra}")
            self.docs_csp = DOCS_CSP.replace("form-action 'self'", f"form-action 'self' {extra}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"] == "/docs"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = self.docs_csp if docs else self.csp
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                headers["X-Frame-Options"] = "DENY"
                if self.hsts:
                    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
            await send(message)

        await self.app(scope, receive, send_with_headers)
