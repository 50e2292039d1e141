"""Running commands inside the image's root file system (chroot with /proc, /sys, /dev mounted).

This is the part of the build that needs root: chroot(2) and bind mounts. Nothing here uses
loop devices; the mounts are undone even when a command fails.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from image.errors import ImageBuildFailed

# Bind-mounted from the host so apt, dpkg and initramfs-tools work inside.
_MOUNTS = (("proc", "proc", ["-t", "proc"]), ("sys", "sys", ["-t", "sysfs"]), ("/dev", "dev", ["--bind"]))

ENV = {
    "DEBIAN_FRONTEND": "noninteractive",
    "LC_ALL": "C.UTF-8",
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
}


def run(
    command: Sequence[str], *, log: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> None:
    """Run a host command, its output appended to `log`.

    Raises:
        ImageBuildFailed: it exited non-zero (the message names the log).
    """
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(command)}\n".encode())
        out.flush()
        result = subprocess.run(
            list(command), stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env={**os.environ, **(env or {})}
        )
    if result.returncode != 0:
        raise ImageBuildFailed(f"`{' '.join(command)}` failed (exit {result.returncode}); see {log}")


@contextmanager
def mounted(root: Path, *, log: Path) -> Iterator[None]:
    """/proc, /sys and /dev mounted inside `root` for the block; unmounted after, whatever happens."""
    done: list[Path] = []
    try:
        for source, target, how in _MOUNTS:
            point = root / target
            point.mkdir(exist_ok=True)
            run(["mount", *how, source, str(point)], log=log)
            done.append(point)
        yield
    finally:
        for point in reversed(done):
            subprocess.run(["umount", "-l", str(point)], check=False)


def in_root(root: Path, command: Sequence[str], *, log: Path) -> None:
    """Run `command` chrooted into `root` (call inside `mounted`)."""
    run(["chroot", str(root), *command], log=log, env=ENV)
