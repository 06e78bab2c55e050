"""Which requests a browser marks as coming from another site (app/pages/security.py)."""

import pytest

from app.pages.security import CONTENT_SECURITY_POLICY, REDOC_POLICY, cross_site, host_name


def scope(**headers: str) -> dict[str, object]:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "scheme": "http", "headers": [(b"host", b"svc:8000"), *raw]}


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({}, False),  # curl, scripts, other services: no browser headers at all
        ({"sec_fetch_site": "same-origin", "origin": "http://svc:8000"}, False),
        ({"sec_fetch_site": "none"}, False),  # typed in the address bar
        ({"origin": "http://SVC:8000"}, False),
        ({"sec_fetch_site": "cross-site"}, True),
        ({"sec_fetch_site": "same-site"}, True),  # another port or subdomain is another origin
        ({"origin": "http://evil.example"}, True),
        ({"origin": "null"}, True),  # a sandboxed frame or a file:// page
        ({"origin": "https://svc:8000"}, True),
    ],
)
def test_cross_site_is_told_by_sec_fetch_site_or_origin(
    headers: dict[str, str], refused: bool
) -> None:
    assert cross_site(scope(**headers)) is refused


def test_no_policy_allows_inline_script_or_framing() -> None:
    for policy in (CONTENT_SECURITY_POLICY, REDOC_POLICY):
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert directives["object-src"] == "'none'"


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("localhost:8000", "localhost"),
        ("Svc.Example.", "svc.example"),
        ("[::1]:8000", "[::1]"),
        ("[::1]", "[::1]"),
        ("127.0.0.1", "127.0.0.1"),
    ],
)
def test_host_name_drops_the_port(host: str, name: str) -> None:
    assert host_name(host) == name
