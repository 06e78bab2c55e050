"""The monitor's address policy: what is always refused, what only without private allowed."""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.security.addresses import TargetPolicy, TargetRefused, parse_address

STRICT = TargetPolicy()
LENIENT = TargetPolicy(allow_private=True)

METADATA_SPELLINGS = [
    "169.254.169.254",
    "169.254.169.254.",  # trailing dot
    "2852039166",  # decimal
    "0xA9FEA9FE",  # hex
    "0xa9.0xfe.0xa9.0xfe",
    "0251.0376.0251.0376",  # octal
    "169.254.43518",  # a.b.c form
    "[::ffff:169.254.169.254]",  # IPv4-mapped IPv6
    "::ffff:a9fe:a9fe",
    "::a9fe:a9fe",  # IPv4-compatible IPv6
    "64:ff9b::a9fe:a9fe",  # NAT64
    "2002:a9fe:a9fe::1",  # 6to4
    "fe80::1",
    "fe80::1%eth0",
    "fd00:ec2::254",  # AWS over IPv6
    "fd00:ec2::23",  # EKS Pod Identity credentials over IPv6
    "100.100.100.200",  # Alibaba Cloud
    "192.0.0.192",  # Oracle Cloud
    "168.63.129.16",  # Azure
    "169.254.170.2",  # ECS task credentials
]


@pytest.mark.parametrize("host", METADATA_SPELLINGS)
def test_metadata_and_link_local_refused_even_when_private_allowed(host: str) -> None:
    with pytest.raises(TargetRefused, match="metadata"):
        LENIENT.check_host(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "0", "::", "[::]", "0.0.0.0.", "::ffff:0.0.0.0"])
def test_unspecified_refused_even_when_private_allowed(host: str) -> None:
    with pytest.raises(TargetRefused, match="unspecified"):
        LENIENT.check_host(host)


@pytest.mark.parametrize("host", ["224.0.0.1", "255.255.255.255", "240.0.0.1", "ff02::1"])
def test_multicast_broadcast_reserved_refused(host: str) -> None:
    with pytest.raises(TargetRefused, match="multicast"):
        LENIENT.check_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "KUBERNETES.default.svc.",
        "kubernetes.default.svc.cluster.local",
        "kubernetes.default.svc.cluster.local.",
        "kubernetes.default.svc.corp.example",
    ],
)
def test_cluster_api_server_names_refused(host: str) -> None:
    with pytest.raises(TargetRefused, match="API server"):
        LENIENT.check_host(host)


def test_cluster_api_server_address_refused_in_every_spelling() -> None:
    policy = TargetPolicy(
        allow_private=True, cluster_api_addresses=frozenset({ipaddress.ip_address("10.96.0.1")})
    )
    for host in ("10.96.0.1", "10.96.0.1.", "0xA600001", "::ffff:10.96.0.1", "012.0140.0.01"):
        with pytest.raises(TargetRefused, match="API server"):
            policy.check_host(host)


@pytest.mark.parametrize("name", ["metadata.google.internal", "metadata.google.internal."])
def test_metadata_names_refused(name: str) -> None:
    with pytest.raises(TargetRefused, match="metadata"):
        LENIENT.check_host(name)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1",
        "2130706433",
        "::1",
        "::ffff:127.0.0.1",
        "localhost",
        "app.localhost.",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "100.64.0.1",
        "fd12::1",
        "::ffff:10.0.0.1",
    ],
)
def test_private_and_loopback_only_when_allowed(host: str) -> None:
    with pytest.raises(TargetRefused, match="APP_MONITOR_ALLOW_PRIVATE"):
        STRICT.check_host(host)
    LENIENT.check_host(host)


@pytest.mark.parametrize("host", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_pass(host: str) -> None:
    STRICT.check_host(host)


def test_names_pass_the_spelling_checks_and_wait_for_resolution() -> None:
    assert STRICT.check_host("status.example.com") is None


def test_allow_list_compares_names_without_case_or_trailing_dot() -> None:
    policy = TargetPolicy(allowed_hosts=frozenset({"status.example.com"}))
    policy.check_host("Status.Example.com.")
    with pytest.raises(TargetRefused, match="APP_MONITOR_ALLOWED_HOSTS"):
        policy.check_host("other.example.com")


def test_an_allow_listed_name_is_still_checked_by_address() -> None:
    policy = TargetPolicy(allowed_hosts=frozenset({"169.254.169.254"}))
    with pytest.raises(TargetRefused, match="metadata"):
        policy.check_host("169.254.169.254")


@pytest.mark.parametrize("text", ["example.com", "1.2.3.4.5", "256.1.1.1", "08.1.1.1", "1..2", ""])
def test_names_that_are_not_addresses(text: str) -> None:
    assert parse_address(text) is None


def _spell(value: int, style: str) -> str:
    octets = value.to_bytes(4, "big")
    if style == "decimal":
        return str(value)
    if style == "hex":
        return hex(value)
    if style == "octal":
        return ".".join(f"0{b:o}" for b in octets)
    if style == "mapped":
        return f"::ffff:{ipaddress.IPv4Address(value)}"
    return f"{ipaddress.IPv4Address(value)}."


@given(
    st.integers(0xA9FE0000, 0xA9FEFFFF),
    st.sampled_from(["decimal", "hex", "octal", "mapped", "dot"]),
)
def test_any_link_local_address_in_any_spelling_is_refused(value: int, style: str) -> None:
    with pytest.raises(TargetRefused):
        LENIENT.check_host(_spell(value, style))
