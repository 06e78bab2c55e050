"""Outgoing requests that go to the address that was checked.

The host is resolved once, at request time, every address it resolves to is checked against the
policy, and the connection goes to a checked address: a name that answers differently the second
time (DNS rebinding) cannot steer the request elsewhere. The Host header and the TLS server name
(SNI, and so certificate verification) stay the URL's name.
"""

import asyncio
import concurrent.futures
import ipaddress
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence

import httpx

from app.config import Settings
from app.security.addresses import IPAddress, TargetPolicy, normalize_name, parse_address

log = logging.getLogger("app.security")
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
# Names of the reserved .test domain (RFC 6761) never resolve on a real network, so fixed
# addresses for them (APP_MONITOR_TEST_RESOLVE) cannot redirect a real name.
TEST_DOMAIN = ".test"


# Lookups run in threads of their own, never in the event loop's default pool, which the
# workflow worker reads its work items through. A thread cannot be stopped: a lookup whose DNS
# server never answers holds its thread after the check has ended, until the system resolver
# gives up. Here it holds one of LOOKUP_THREADS; a check that finds them all held waits for one
# within its own deadline.
LOOKUP_THREADS = 8
_lookups = concurrent.futures.ThreadPoolExecutor(LOOKUP_THREADS, thread_name_prefix="lookup")
_free_lookups = threading.BoundedSemaphore(LOOKUP_THREADS)


async def _getaddrinfo(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for host, as text."""
    while not _free_lookups.acquire(blocking=False):
        await asyncio.sleep(0.05)

    def lookup() -> list[str]:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            return [str(sockaddr[0]) for *_, sockaddr in infos]
        finally:
            _free_lookups.release()

    try:
        pending = asyncio.get_running_loop().run_in_executor(_lookups, lookup)
    except BaseException:
        _free_lookups.release()
        raise
    return await pending


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The operating system's resolver, without blocking the event loop or its thread pool."""
    found: list[IPAddress] = []
    for text in await _getaddrinfo(host, port):
        address = ipaddress.ip_address(text.partition("%")[0])
        if address not in found:
            found.append(address)
    return found


def with_fixed_names(fixed: Mapping[str, IPAddress], fallback: Resolver) -> Resolver:
    """A resolver that answers the fixed names itself and asks `fallback` for the rest."""

    async def resolve(host: str, port: int) -> Sequence[IPAddress]:
        name = normalize_name(host)
        return [fixed[name]] if name in fixed else await fallback(name, port)

    return resolve


def parse_fixed_names(text: str) -> dict[str, IPAddress]:
    """'name.test=192.0.2.1,...' (only names under .test) into a map."""
    fixed: dict[str, IPAddress] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = (p.strip() for p in entry.partition("="))
        address = parse_address(value)
        name = normalize_name(name)
        if not name.endswith(TEST_DOMAIN) or address is None:
            raise ValueError("APP_MONITOR_TEST_RESOLVE entries must be name.test=address")
        fixed[name] = address
    return fixed


def policy_for(settings: Settings) -> TargetPolicy:
    """The monitor's policy from the settings; the API server's address from the environment."""
    api_host = settings.kubernetes_service_host or ""
    api_address = parse_address(api_host)
    api_name = normalize_name(api_host) if api_address is None else ""
    return TargetPolicy(
        allow_private=settings.monitor_allow_private,
        allowed_hosts=settings.monitor_hosts(),
        cluster_api_addresses=frozenset({api_address} if api_address else ()),
        cluster_api_names=frozenset({api_name} if api_name else ()),
    )


def resolver_for(settings: Settings) -> Resolver:
    fixed = parse_fixed_names(settings.monitor_test_resolve)
    return with_fixed_names(fixed, system_resolver) if fixed else system_resolver


class PinnedTransport(httpx.AsyncBaseTransport):
    """Checks the host and every address it resolves to; connects to a checked address.

    Raises TargetRefused (from the policy) before any connection is attempted.
    """

    def __init__(
        self,
        policy: TargetPolicy,
        resolver: Resolver = system_resolver,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.policy, self.resolver = policy, resolver
        self.inner = inner or httpx.AsyncHTTPTransport(trust_env=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        # The name as the Host header carries it: an internationalised name in its ASCII form,
        # which the resolver and the TLS check then get too (not a decoded form they would
        # encode by older rules, to another name).
        name = normalize_name(url.raw_host.decode("ascii"))
        literal = self.policy.check_host(name)
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = [literal] if literal else await self._resolve(request, name, port)
        if not addresses:
            raise httpx.ConnectError(f"{name} resolves to no address", request=request)
        self.policy.check_all(addresses)
        if url.scheme == "https" and not literal:
            request.extensions = {**request.extensions, "sni_hostname": name}
        error: httpx.ConnectError | None = None
        for address in addresses:
            # The Host header was set from the URL's name when the request was built.
            request.url = url.copy_with(host=str(address))
            try:
                return await self.inner.handle_async_request(request)
            except httpx.ConnectError as failed:
                error = failed
        assert error is not None
        raise error

    async def _resolve(self, request: httpx.Request, name: str, port: int) -> list[IPAddress]:
        """The resolver's answer within the request's connect timeout, as httpx errors."""
        timeout = request.extensions.get("timeout", {}).get("connect")
        try:
            async with asyncio.timeout(timeout):
                return list(await self.resolver(name, port))
        except TimeoutError:
            raise httpx.ConnectTimeout(f"resolving {name} timed out", request=request) from None
        except OSError as error:
            raise httpx.ConnectError(f"cannot resolve {name}: {error}", request=request) from None

    async def aclose(self) -> None:
        await self.inner.aclose()


def checked_client(
    settings: Settings, inner: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """An HTTP client whose every request is checked and pinned; no proxies, no redirects.

    Its timeout bounds each step (resolve and connect, each read), not a whole request: a caller
    that must finish by a deadline streams the response and wraps it in ``asyncio.timeout``.
    """
    transport = PinnedTransport(policy_for(settings), resolver_for(settings), inner)
    return httpx.AsyncClient(
        transport=transport,
        timeout=settings.monitor_check_timeout_seconds,
        follow_redirects=False,
        trust_env=False,
    )
