"""Configure the copied base system as a node: overlay files, units enabled, Redis on the data partition.

Runs on the build's own copy of the cached system (never on the cache).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from image.chroot import in_root
from image.layout import DATA_MOUNT, ESP_MOUNT

OVERLAY = Path(__file__).parent / "overlay"

ENABLE = (
    "systemd-networkd",
    "systemd-resolved",
    "systemd-timesyncd",
    "transom-data",
    "transom-edge",
    "transom-banner",
    "transom-health",
    "transom-update-media",
    "etcd",
    "redis-server",
)


def configure(root: Path, *, build_id: str, version: str, log: Path) -> None:
    """Copy the overlay into `root`, enable the node's units and record the build (call inside `mounted`)."""
    shutil.copytree(OVERLAY, root, dirs_exist_ok=True, symlinks=True)
    for path in (DATA_MOUNT, ESP_MOUNT):
        (root / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
    redis_conf = root / "etc/redis/redis.conf"
    if redis_conf.exists():
        text = redis_conf.read_text()
        text = text.replace("\ndir /var/lib/redis", f"\ndir {DATA_MOUNT}/redis")
        # Its log goes to the journal (stdout), which lives on the data partition.
        text = text.replace("\nlogfile /var/log/redis/redis-server.log", '\nlogfile ""')
        redis_conf.write_text(text)
    # A fresh machine id on every device's first boot (systemd makes one when the file is empty).
    (root / "etc/machine-id").write_text("")
    (root / "etc/transom-build.json").write_text(
        json.dumps({"build_id": build_id, "version": version}) + "\n"
    )
    in_root(root, ["systemctl", "enable", *ENABLE], log=log)
    # Nobody logs in with a password: the console shows the banner; root's password is locked.
    in_root(root, ["passwd", "-l", "root"], log=log)
    resolv = root / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)
    resolv.symlink_to("/run/systemd/resolve/stub-resolv.conf")
