"""Which addresses an outgoing check may reach: decided on the address, never on the name alone.

Always refused, whatever the settings: link-local and cloud metadata addresses, unspecified,
multicast, broadcast and reserved addresses, and the cluster's own API server (by its names and
its address). Private, loopback and other non-global addresses only when the policy allows them.
IPv6 addresses that carry an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) are
judged by the IPv4 address too, and the strictest verdict wins.
"""

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The target is not one this service may reach; the message says which rule refused it."""


def _nets(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


UNSPECIFIED = _nets("0.0.0.0/8", "::/128")
# Metadata services answer on link-local addresses (AWS, GCP, Azure, OpenStack, ECS task
# credentials at 169.254.170.2) and, for a few clouds, on fixed addresses outside that range.
METADATA = _nets(
    "169.254.0.0/16",
    "fe80::/10",
    "fd00:ec2::/64",  # AWS over IPv6: instance metadata ::254, EKS Pod Identity credentials ::23
    "100.100.100.200/32",  # Alibaba Cloud
    "192.0.0.192/32",  # Oracle Cloud
    "168.63.129.16/32",  # Azure's host endpoint
)
NOT_UNICAST = _nets("224.0.0.0/4", "240.0.0.0/4", "ff00::/8")  # multicast, reserved, broadcast
NAT64 = _nets("64:ff9b::/96", "64:ff9b:1::/48")
# The API server's names inside a cluster; the cluster domain varies, hence the prefix.
CLUSTER_API_NAMES = ("kubernetes", "kubernetes.default", "kubernetes.default.svc")
METADATA_NAMES = frozenset(
    {"metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)


def normalize_name(host: str) -> str:
    """Lower case, no brackets, no trailing dots: the spelling every rule compares."""
    return host.strip().strip("[]").rstrip(".").lower()


def _ipv4_part(text: str) -> int | None:
    """One dotted part as inet_aton reads it: decimal, 0x hex or 0-prefixed octal."""
    try:
        if text[:2] in ("0x", "0X"):
            return int(text[2:] or "0", 16)
        if len(text) > 1 and text[0] == "0":
            return int(text[1:], 8)
        return int(text, 10) if text.isdigit() else None
    except ValueError:
        return None


def _numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """'2852039166', '0xA9FEA9FE', '0251.0376.0251.0376', '169.254.43518', '169.254.169.254.'."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(parts):
        return None
    values = [_ipv4_part(p) for p in parts]
    if any(v is None for v in values):
        return None
    *head, last = (v for v in values if v is not None)
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(parts)):
        return None
    number = last
    for index, value in enumerate(head):
        number += value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def parse_address(host: str) -> IPAddress | None:
    """The address a host spells literally (in any spelling a resolver accepts), or None."""
    name = normalize_name(host)
    if not name:
        return None
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return _numeric_ipv4(name) if ":" not in name else None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        address = ipaddress.IPv6Address(name.partition("%")[0])
    return address


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to: mapped, compatible, NAT64, 6to4, Teredo."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour, address.teredo and address.teredo[1]]
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if any(address in net for net in NAT64) or (int(address) >> 32 == 0 and int(address) > 1):
        found.append(low32)
    return [a for a in found if a]


@dataclass(frozen=True)
class TargetPolicy:
    allow_private: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    cluster_api_addresses: frozenset[IPAddress] = frozenset()
    cluster_api_names: frozenset[str] = frozenset()

    def check_name(self, host: str) -> None:
        """The rules a host name alone decides: the allow-list, the API server, metadata names."""
        name = normalize_name(host)
        if self.allowed_hosts and name not in {normalize_name(h) for h in self.allowed_hosts}:
            raise TargetRefused(f"{name!r} is not in APP_MONITOR_ALLOWED_HOSTS")
        if _cluster_api_name(name) or name in self.cluster_api_names:
            raise TargetRefused("the cluster's API server is never a target")
        if name in METADATA_NAMES:
            raise TargetRefused("cloud metadata services are never a target")
        if not self.allow_private and (name == "localhost" or name.endswith(".localhost")):
            raise TargetRefused(_private_refused())

    def check_address(self, address: IPAddress) -> None:
        """Refuse an address (or an address it embeds) that the rules forbid."""
        for candidate in (*embedded_ipv4(address), address):  # the strictest verdict first
            self._check_one(candidate)

    def check_host(self, host: str) -> IPAddress | None:
        """Every rule the host's spelling decides; its literal address, if it is one."""
        self.check_name(host)
        address = parse_address(host)
        if address is not None:
            self.check_address(address)
        return address

    def check_all(self, addresses: Iterable[IPAddress]) -> None:
        for address in addresses:
            self.check_address(address)

    def _check_one(self, address: IPAddress) -> None:
        if _within(address, UNSPECIFIED):
            raise TargetRefused("unspecified addresses are never a target")
        if _within(address, METADATA):
            raise TargetRefused("link-local and cloud metadata addresses are never a target")
        if _within(address, NOT_UNICAST) or address == ipaddress.IPv4Address("255.255.255.255"):
            raise TargetRefused("multicast, broadcast and reserved addresses are never a target")
        if address in self.cluster_api_addresses:
            raise TargetRefused("the cluster's API server is never a target")
        if not self.allow_private and not address.is_global:
            raise TargetRefused(_private_refused())


def _private_refused() -> str:
    return "private and loopback addresses are refused (APP_MONITOR_ALLOW_PRIVATE is off)"


def _within(
    address: IPAddress, nets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> bool:
    return any(address.version == net.version and address in net for net in nets)


def _cluster_api_name(name: str) -> bool:
    return name in CLUSTER_API_NAMES or name.startswith("kubernetes.default.svc.")
