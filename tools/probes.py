"""Health probes: is a started process ready to serve?"""

import socket
import subprocess
from collections.abc import Callable

import httpx

Probe = Callable[[], bool]


def http_ok(url: str) -> Probe:
    """Ready when the URL answers 2xx."""

    def check() -> bool:
        try:
            return httpx.get(url, timeout=2.0).status_code < 300
        except httpx.HTTPError:
            return False

    return check


def redis_ping(host: str, port: int) -> Probe:
    """Ready when Redis answers PING with PONG."""

    def check() -> bool:
        try:
            with socket.create_connection((host, port), timeout=1.0) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    return check


def command_ok(argv: list[str]) -> Probe:
    """Ready when the command exits 0 (pg_isready)."""

    def check() -> bool:
        try:
            return subprocess.run(argv, capture_output=True, timeout=5).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    return check
