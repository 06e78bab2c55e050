"""What every response tells a browser, and the cross-site requests the service refuses.

- Content-Security-Policy: scripts and styles only from the service itself (no inline script,
  no inline event handler, nothing from another origin), and no page of it inside a frame.
- A state-changing request (anything but GET, HEAD, OPTIONS) that a browser marks as coming from
  another site (Sec-Fetch-Site, or an Origin that is not the service's own) gets 403, so another
  site cannot make a visitor's browser start, approve or purge anything. Clients that are not
  browsers send neither header and are unaffected; the API key (a header, never a cookie) is what
  authenticates them.
- A request a browser sends (it carries Sec-Fetch-Site, Origin or a browser's User-Agent), read
  or write, must name the service by a host in APP_ALLOWED_HOSTS (by default localhost,
  127.0.0.1 and [::1], any port), else 403. A page of another site that rebinds its own name
  to this machine's address (DNS rebinding) is same-origin to the browser, but its requests
  still carry its own name in Host.
"""

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
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


def host_name(host: str) -> str:
    """The Host header's name without its port, lower-cased: 'Svc:8000' -> 'svc',
    '[::1]:8000' -> '[::1]'."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.partition(":")[0].rstrip(".")


def _from_browser(headers: Headers) -> bool:
    """Sec-Fetch-Site or Origin; or a browser's User-Agent, since a page that is not a secure
    context (plain http to a name other than localhost) sends neither on a same-origin GET."""
    if "sec-fetch-site" in headers or "origin" in headers:
        return True
    return headers.get("user-agent", "").startswith("Mozilla/")


def foreign_host(scope: Scope, allowed: frozenset[str] | None) -> str | None:
    """The Host a browser's request names when it is not an allowed one, else None."""
    if allowed is None:
        return None
    headers = Headers(scope=scope)
    if not _from_browser(headers):
        return None  # curl, probes, the sidecar
    host = headers.get("host", "")
    return None if host_name(host) in allowed else host


class BrowserGuard:
    """ASGI middleware: security headers on every response; cross-site state changes and browsers
    naming a host not allowed refused (``allowed_hosts`` None: any host)."""

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: frozenset[str] | None = None,
        redoc_path: str = "/redoc",
    ) -> None:
        self.app, self.allowed_hosts, self.redoc_path = app, allowed_hosts, redoc_path

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

        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope) -> JSONResponse | None:
        if scope["method"] not in SAFE_METHODS and cross_site(scope):
            return error_response(
                403, "cross_site_request", "A state-changing request from another site is refused"
            )
        host = foreign_host(scope, self.allowed_hosts)
        if host is not None:
            return error_response(
                403,
                "host_not_allowed",
                f"A browser reached this service as {host!r}, a name it does not answer to; "
                "add the name to APP_ALLOWED_HOSTS if it is this service's",
            )
        return None
