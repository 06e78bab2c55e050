"""What every response tells a browser, and the cross-site requests the service refuses.

- Content-Security-Policy: scripts and styles only from the service itself (no inline script,
  no inline event handler, nothing from another origin), and no page of it inside a frame.
- A state-changing request (anything but GET, HEAD, OPTIONS) that a browser marks as coming from
  another site (Sec-Fetch-Site, or an Origin that is not the service's own) gets 403, so another
  site cannot make a visitor's browser start, approve or purge anything. Clients that are not
  browsers send neither header and are unaffected; the API key (a header, never a cookie) is what
  authenticates them.
"""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_response

_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
CONTENT_SECURITY_POLICY = "; ".join(f"{k} {v}" for k, v in _POLICY.items())
# ReDoc styles itself with <style> elements it writes at run time and searches in a Web Worker
# made from a blob: URL; its page alone allows those. Scripts stay 'self' only.
REDOC_POLICY = "; ".join(
    f"{k} {v}"
    for k, v in {
        **_POLICY,
        "style-src": "'self' 'unsafe-inline'",
        "worker-src": "'self' blob:",
    }.items()
)
_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cross_site(scope: Scope) -> bool:
    """True when a browser says this request comes from a page of another origin."""
    headers = Headers(scope=scope)
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
    return origin.lower() != own.lower()


class BrowserGuard:
    """ASGI middleware: security headers on every response; cross-site state changes refused."""

    def __init__(self, app: ASGIApp, redoc_path: str = "/redoc") -> None:
        self.app, self.redoc_path = app, redoc_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = REDOC_POLICY if scope["path"] == self.redoc_path else CONTENT_SECURITY_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.append((b"content-security-policy", policy.encode()))
                headers.extend((k.encode(), v.encode()) for k, v in _HEADERS.items())
            await send(message)

        if scope["method"] not in SAFE_METHODS and cross_site(scope):
            response = error_response(
                403,
                "cross_site_request",
                "A state-changing request from another site is refused",
            )
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
