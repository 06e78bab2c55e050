"""Pinned requests: resolved once, every address checked, the connection to a checked address.

The resolver and the transport are stubs: nothing here sends a packet.
"""

import asyncio
import ipaddress
import socket
import threading
from collections.abc import Sequence
from functools import partial
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.security.addresses import IPAddress, TargetPolicy, TargetRefused
from app.security.egress import (
    PinnedTransport,
    Resolver,
    checked_client,
    parse_fixed_names,
    resolver_for,
    system_resolver,
)
from app.workflows import monitor
from tests.unit.fakes import FakeActivityContext

STRICT = TargetPolicy()
PUBLIC, METADATA = ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("169.254.169.254")


class Answers:
    """A resolver that gives each lookup the next answer, as a rebinding DNS server would."""

    def __init__(self, *answers: Sequence[IPAddress]) -> None:
        self.answers, self.lookups = list(answers), 0
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        self.lookups += 1
        self.asked.append(host)
        return self.answers.pop(0)


class Recorder(httpx.AsyncBaseTransport):
    """Stands in for the network: records what would have been sent, answers 200."""

    def __init__(self, refuse: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.sent: list[httpx.Request] = []
        self.refuse = refuse

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host in self.refuse:
            raise httpx.ConnectError("refused", request=request)
        self.sent.append(request)
        return httpx.Response(200)


def get(url: str, resolver: Answers, policy: TargetPolicy = STRICT) -> Recorder:
    recorder = Recorder()

    async def go() -> None:
        transport = PinnedTransport(policy, resolver, recorder)
        async with httpx.AsyncClient(transport=transport) as client:
            await client.get(url)

    asyncio.run(go())
    return recorder


def test_request_goes_to_the_checked_address_with_the_name_as_host_and_sni() -> None:
    sent = get("https://status.example.com:8443/health", Answers([PUBLIC])).sent[0]
    assert (sent.url.host, sent.url.port, sent.url.path) == (str(PUBLIC), 8443, "/health")
    assert sent.headers["host"] == "status.example.com:8443"
    assert sent.extensions["sni_hostname"] == "status.example.com"


def test_an_internationalised_name_is_checked_resolved_and_verified_in_its_ascii_form() -> None:
    # Decoded, "ß.example" would be resolved and TLS-checked as "ss.example", another name.
    answers = Answers([PUBLIC])
    allowed = TargetPolicy(allowed_hosts=frozenset({"xn--zca.example"}))
    sent = get("https://ß.example/", answers, allowed).sent[0]
    assert answers.asked == ["xn--zca.example"]
    assert sent.headers["host"] == sent.extensions["sni_hostname"] == "xn--zca.example"


def test_a_lookup_that_never_answers_holds_no_thread_of_the_event_loops_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The workflow worker reads its work items through the loop's default pool.
    answer = threading.Event()

    def never_answers(*_: Any, **__: Any) -> Any:
        answer.wait(10)
        raise socket.gaierror("no answer")

    monkeypatch.setattr(socket, "getaddrinfo", never_answers)

    async def scenario() -> None:
        checks = [asyncio.wait_for(system_resolver(f"h{n}.example", 80), 0.2) for n in range(20)]
        assert all(
            isinstance(r, TimeoutError)
            for r in await asyncio.gather(*checks, return_exceptions=True)
        )
        await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, int), 2.0)

    try:
        asyncio.run(scenario())
    finally:
        answer.set()


def test_name_resolving_to_metadata_is_refused_before_any_connection() -> None:
    with pytest.raises(TargetRefused, match="metadata"):
        get("http://rebind.example.com/", Answers([METADATA]))


def test_one_forbidden_address_among_several_refuses_the_name() -> None:
    with pytest.raises(TargetRefused):
        get("http://mixed.example.com/", Answers([PUBLIC, METADATA]))


def test_dns_rebinding_cannot_swap_the_address_after_the_check() -> None:
    # First lookup public, every later one metadata: the request uses the one checked lookup,
    # and the next check resolves again and is refused.
    resolver = Answers([PUBLIC], [METADATA], [METADATA])
    assert get("http://rebind.example.com/", resolver).sent[0].url.host == str(PUBLIC)
    assert resolver.lookups == 1
    with pytest.raises(TargetRefused):
        get("http://rebind.example.com/", resolver)


def test_literal_addresses_are_not_resolved() -> None:
    resolver = Answers()
    with pytest.raises(TargetRefused, match="metadata"):
        get("http://[::ffff:169.254.169.254]/", resolver)
    assert resolver.lookups == 0


def test_private_answer_refused_unless_allowed() -> None:
    private = [ipaddress.ip_address("10.1.2.3")]
    with pytest.raises(TargetRefused, match="APP_MONITOR_ALLOW_PRIVATE"):
        get("http://internal.example.com/", Answers(private))
    sent = get("http://internal.example.com/", Answers(private), TargetPolicy(allow_private=True))
    assert sent.sent[0].url.host == "10.1.2.3"


def test_next_checked_address_is_tried_when_one_does_not_connect() -> None:
    second = ipaddress.ip_address("93.184.215.15")
    recorder = Recorder(refuse={str(PUBLIC)})

    async def go() -> None:
        transport = PinnedTransport(STRICT, Answers([PUBLIC, second]), recorder)
        async with httpx.AsyncClient(transport=transport) as client:
            await client.get("http://status.example.com/")

    asyncio.run(go())
    assert [r.url.host for r in recorder.sent] == [str(second)]


def test_a_name_that_does_not_resolve_is_a_connect_error_and_retried_as_one() -> None:
    async def nowhere(host: str, port: int) -> Sequence[IPAddress]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def slow(host: str, port: int) -> Sequence[IPAddress]:
        await asyncio.sleep(10)
        return [PUBLIC]

    for resolver, error in ((nowhere, httpx.ConnectError), (slow, httpx.ConnectTimeout)):

        async def go(resolver: Resolver = resolver) -> None:
            transport = PinnedTransport(STRICT, resolver, Recorder())
            async with httpx.AsyncClient(transport=transport, timeout=0.05) as client:
                await client.get("http://status.example.com/")

        with pytest.raises(error):
            asyncio.run(go())


def test_a_redirect_to_metadata_is_not_followed() -> None:
    sent: list[httpx.Request] = []

    def redirect(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/"})

    async def go() -> httpx.Response:
        inner = httpx.MockTransport(redirect)
        async with checked_client(Settings(), inner) as client:
            return await client.get(f"http://{PUBLIC}/")

    assert asyncio.run(go()).status_code == 302
    assert [r.url.host for r in sent] == [str(PUBLIC)]


def test_userinfo_cannot_disguise_the_host() -> None:
    # The host the policy checks is the one the request is sent to: one parse for both.
    with pytest.raises(TargetRefused, match="metadata"):
        get(f"http://{PUBLIC}@169.254.169.254/", Answers())


def test_fixed_names_only_under_dot_test() -> None:
    assert parse_fixed_names("meta.test=169.254.169.254") == {"meta.test": METADATA}
    with pytest.raises(ValueError, match=r"name\.test=address"):
        parse_fixed_names("metadata.example.com=169.254.169.254")


def test_fixed_names_answer_before_the_system_resolver() -> None:
    resolve = resolver_for(Settings(monitor_test_resolve="meta.test=169.254.169.254"))

    async def go() -> Sequence[IPAddress]:
        return await resolve("META.test.", 80)

    assert asyncio.run(go()) == [METADATA]


def test_cluster_api_server_address_comes_from_kubernetes_service_host() -> None:
    settings = Settings(
        monitor_allow_private=True,
        monitor_test_resolve="api.test=10.96.0.1",
        KUBERNETES_SERVICE_HOST="10.96.0.1",
    )
    recorder = Recorder()

    async def go() -> None:
        async with checked_client(settings, recorder) as client:
            await client.get("http://api.test/")

    with pytest.raises(TargetRefused, match="API server"):
        asyncio.run(go())
    assert recorder.sent == []


def test_monitor_check_reports_a_refused_target() -> None:
    recorder = Recorder()
    settings = Settings(
        monitor_allow_private=True, monitor_test_resolve="meta.test=169.254.169.254"
    )
    check = monitor.check_endpoint_activity(partial(checked_client, settings, inner=recorder), 5)
    ctx: Any = FakeActivityContext()
    result = asyncio.run(check(ctx, "http://meta.test/"))
    assert result.refused and not result.healthy and "metadata" in result.detail
    assert recorder.sent == []
