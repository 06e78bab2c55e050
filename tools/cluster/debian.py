"""Debian bookworm root filesystems for the stand-in images: debootstrap from the mirror apt
already uses, cached by package list; what version of a package one holds; a system user moved to
the id an official image gives it."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from tools.cluster import build
from tools.cluster.progress import StageFailed, say

ROOTFS = build.CACHE / "rootfs"


def _mirror() -> str:
    """The Debian mirror apt already uses on this machine."""
    for source in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]:
        text = source.read_text() if source.is_file() else ""
        for uri in re.findall(r"(?:URIs:\s*|^deb\s+(?:\[[^]]*\]\s+)?)(\S+)", text, re.M):
            if uri.rstrip("/").endswith("/debian"):
                return str(uri)
    raise StageFailed("no Debian mirror in /etc/apt/sources.list*; debootstrap needs one")


def rootfs(name: str, packages: tuple[str, ...], log: Path) -> Path:
    """A minimal bookworm root filesystem with `packages`, built once (cached by package list)."""
    key = hashlib.sha256(",".join(packages).encode()).hexdigest()[:10]
    target = ROOTFS / f"{name}-bookworm-{key}"
    if (target / "etc" / "os-release").exists():
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    (ROOTFS / "debs").mkdir(parents=True, exist_ok=True)
    say(f"      debootstrap bookworm + {', '.join(packages)} (log {log})")
    with log.open("a") as sink:
        subprocess.run(["nice", "-n", "10", "debootstrap", "--variant=minbase",
                        f"--include={','.join(packages)}", f"--cache-dir={ROOTFS / 'debs'}",
                        "bookworm", str(partial), _mirror()],
                       stdout=sink, stderr=subprocess.STDOUT, check=True)
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc",
                 "usr/share/man", "usr/share/locale"):
        shutil.rmtree(partial / junk, ignore_errors=True)
        (partial / junk).mkdir(parents=True, exist_ok=True)
    partial.rename(target)
    return target


def package_version(tree: Path, package: str) -> str:
    """The version of `package` installed in the root filesystem `tree`."""
    for stanza in (tree / "var/lib/dpkg/status").read_text().split("\n\n"):
        fields = dict(re.findall(r"^(\S+): (.*)$", stanza, re.M))
        if fields.get("Package") == package:
            return str(fields["Version"])
    raise StageFailed(f"{package} is not installed in {tree}")


def move_user(tree: Path, name: str, uid: int) -> None:
    """User and group `name` get the id `uid` (both), and so do the files they owned."""
    passwd, group = tree / "etc/passwd", tree / "etc/group"
    users = [line.split(":") for line in passwd.read_text().splitlines()]
    groups = [line.split(":") for line in group.read_text().splitlines()]
    [user] = [u for u in users if u[0] == name]
    [own] = [g for g in groups if g[0] == name]
    old_uid, old_gid = int(user[2]), int(own[2])
    if (old_uid, old_gid) == (uid, uid):
        return
    taken = [u[0] for u in users if u[2] == str(uid)] + [g[0] for g in groups if g[2] == str(uid)]
    if taken:
        raise StageFailed(f"id {uid} is taken in {tree} by {', '.join(taken)}")
    user[2] = user[3] = own[2] = str(uid)
    passwd.write_text("".join(":".join(u) + "\n" for u in users))
    group.write_text("".join(":".join(g) + "\n" for g in groups))
    for path in [tree, *tree.rglob("*")]:
        stat = path.lstat()
        if stat.st_uid == old_uid or stat.st_gid == old_gid:
            os.lchown(path, uid if stat.st_uid == old_uid else -1,
                      uid if stat.st_gid == old_gid else -1)
