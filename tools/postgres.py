"""The local PostgreSQL: Debian's server, its cluster in the stack's work dir, never as root.

The server refuses to run as root. As root, initdb and postgres run in a user namespace of their
own in which root is an ordinary user (uid 1000 there, `unshare --map-user`): the server sees
itself as that user and owner of its data directory, while on disk every file stays root's, so
the work dir may stay private (0700) and needs no chown or system user. As any other user they
run as that user. The server listens on one loopback port (password auth, for daprd) and on a
unix socket inside the work dir (trusted: only the work dir's owner can reach it; psql uses it).
"""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

from tools.supervise import stat_fields

USER = "dapr"  # the cluster's superuser, daprd's login
DATABASE = "postgres"


class PostgresUnavailable(RuntimeError):
    """Debian's PostgreSQL server is not installed."""


def bin_dir() -> Path:
    """$PG_BIN_DIR, or the newest /usr/lib/postgresql/<major>/bin with a server in it."""
    if given := os.environ.get("PG_BIN_DIR"):
        return Path(given)
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3])
    )
    if not found:
        raise PostgresUnavailable(
            "PostgreSQL is needed for --store postgres: sudo apt-get install postgresql "
            "(or set PG_BIN_DIR to a directory with initdb and postgres)"
        )
    return found[-1].parent


def unprivileged(argv: list[str]) -> list[str]:
    """argv as it must run: as root, in a user namespace where root is uid 1000.

    Changing credentials clears the parent-death signal, so setpriv sets it again inside.
    """
    if os.geteuid() != 0:
        return argv
    namespace = ["unshare", "--user", "--map-user=1000", "--map-group=1000", "--"]
    return [*namespace, "setpriv", "--pdeathsig", "KILL", "--", *argv]


class Cluster:
    """One PostgreSQL cluster: <data>/postgres, its password file and its socket directory."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir, self.port = workdir, port
        self.data = workdir / "data" / "postgres"
        self.password_file = workdir / "data" / "postgres.password"
        self.sockets = workdir / "sockets"

    def init(self, log: Path) -> None:
        """initdb once: a superuser with a generated password; later starts reuse the cluster."""
        if (self.data / "PG_VERSION").exists():
            return
        self.data.parent.mkdir(parents=True, exist_ok=True)
        if not self.password_file.exists():
            self.password_file.touch(mode=0o600)
            self.password_file.write_text(secrets.token_urlsafe(24))
        argv = [
            str(bin_dir() / "initdb"),
            *("-D", str(self.data), "-U", USER, "-E", "UTF8", "--no-instructions"),
            *(f"--pwfile={self.password_file}", "--auth-local=trust"),
            "--auth-host=scram-sha-256",
        ]
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            done = subprocess.run(unprivileged(argv), stdout=out, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed; log {log}:\n{log.read_text()[-3000:]}")

    def clear_stale_lock(self) -> None:
        """Remove the pid file of a postmaster that is dead but not yet reaped.

        A postmaster killed with its launcher (kill -9 of `make run`) becomes a zombie of init,
        which here may take seconds to reap it; PostgreSQL takes a zombie for a live server and
        refuses to start. A live postmaster's file is left alone.
        """
        lock = self.data / "postmaster.pid"
        try:
            fields = stat_fields(int(lock.read_text().split()[0]))
        except (OSError, ValueError, IndexError):
            return  # no file, or not a pid in it: PostgreSQL handles that itself
        if fields is not None and fields[0] == "Z":  # None: gone, which PostgreSQL handles too
            lock.unlink(missing_ok=True)

    def server_argv(self, listen: str) -> list[str]:
        self.sockets.mkdir(parents=True, exist_ok=True)
        options = [
            *("-D", str(self.data), "-p", str(self.port), "-k", str(self.sockets)),
            *("-c", f"listen_addresses={listen}"),
        ]
        return unprivileged([str(bin_dir() / "postgres"), *options])

    def ready_argv(self) -> list[str]:
        return [str(bin_dir() / "pg_isready"), "-q", "-h", str(self.sockets), "-p", str(self.port)]

    def connection_string(self, host: str) -> str:
        """What daprd's state.postgresql component connects with."""
        password = self.password_file.read_text().strip()
        return (
            f"host={host} port={self.port} user={USER} password={password} "
            f"dbname={DATABASE} sslmode=disable connect_timeout=5"
        )

    def sql(self, statement: str) -> str:
        """Run one statement over the unix socket; its rows, unaligned, one a line."""
        argv = [
            str(bin_dir() / "psql"),
            *("-h", str(self.sockets), "-p", str(self.port), "-U", USER, "-d", DATABASE),
            *("-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", statement),
        ]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
