"""A/B updates: write a bundle into the other root slot and make it the next boot, with automatic rollback.

    apply_bundle(path)      bundle -> the slot not running; its kernel+initrd to the ESP as
                            generation N+1; loader entry `transom-<N+1>+3.conf` (3 tries)
    --from-media            at boot: a bundle on a USB stick labelled TRANSOM-UPD is applied
                            once (then reboot), for sites with no WAN

Rollback is systemd-boot's boot counting: the new entry sorts first (highest version) and
each boot of it spends a try; transom-health.service gates boot-complete.target, so only a
boot whose local API answered is blessed (systemd-bless-boot renames the entry to drop the
counter). A boot that never gets healthy reboots; with no tries left the entry sorts last
and the previous generation, untouched in its slot, boots again. The data partition is
never written by an update, so the node keeps its id, keys, replica, outbox, etcd and Redis.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from image.device.disk import partition_device
from image.device.slots import other_slot, running_slot
from image.layout import DATA_MOUNT, ESP_MOUNT, SLOTS, kernel_cmdline

ENTRIES = Path(ESP_MOUNT) / "loader/entries"
MEDIA_LABEL = "TRANSOM-UPD"
APPLIED = Path(DATA_MOUNT) / "node/update.json"
TRIES = 3
_ENTRY = re.compile(r"^transom-(\d{4})(?:\+\d+(?:-\d+)?)?\.conf$")
# A manifest is a few hundred bytes; refuse anything much bigger before reading it.
MAX_MANIFEST = 64 * 1024


class UpdateFailed(Exception):
    """Raised when a bundle cannot be applied; the running system and its entry are untouched."""


def read_manifest(bundle: Path) -> dict[str, object]:
    """The bundle's manifest.json (build_id, version, root_size).

    Raises:
        UpdateFailed: not a bundle.
    """
    try:
        with tarfile.open(bundle, "r:") as tar:
            member = tar.getmember("manifest.json")
            if member.size > MAX_MANIFEST:
                raise UpdateFailed(f"{bundle}: manifest.json is too large")
            stream = tar.extractfile(member)
            assert stream is not None
            found: dict[str, object] = json.loads(stream.read())
            return found
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise UpdateFailed(f"{bundle} is not a Transom update bundle: {exc}") from None


def generations() -> dict[int, Path]:
    """Loader entries of Transom generations on the ESP, by generation number."""
    found = {}
    for entry in ENTRIES.glob("transom-*.conf"):
        match = _ENTRY.match(entry.name)
        if match:
            found[int(match[1])] = entry
    return found


def apply_bundle(bundle: Path) -> int:
    """Write `bundle` to the other slot and add its boot entry; the new generation's number.

    Raises:
        UpdateFailed: the bundle is unreadable, too big for the slot, or the disk has no other slot.
    """
    manifest = read_manifest(bundle)
    slot = running_slot()
    if slot is None:
        raise UpdateFailed("the running system did not boot from a Transom root slot")
    target_slot = other_slot(slot)
    target = partition_device(SLOTS[target_slot].uuid)
    if target is None:
        raise UpdateFailed(f"root slot {target_slot} does not exist (the first boot makes it)")
    slot_bytes = int(Path(f"/sys/class/block/{target.name}/size").read_text()) * 512
    if int(str(manifest.get("root_size", 0))) > slot_bytes:
        raise UpdateFailed(
            f"the update's root ({manifest.get('root_size')} bytes) is bigger than slot {target_slot}"
        )
    print(f"writing build {manifest.get('build_id')} to slot {target_slot} ({target})", flush=True)
    existing = generations()
    for number, entry in existing.items():  # the slot being overwritten no longer boots
        if SLOTS[target_slot].uuid.lower() in entry.read_text().lower():
            entry.unlink()
            shutil.rmtree(Path(ESP_MOUNT) / f"transom/{number:04d}", ignore_errors=True)
    with tarfile.open(bundle, "r:") as tar:
        _write_root(tar, target)
        generation = max(existing, default=0) + 1
        folder = Path(ESP_MOUNT) / f"transom/{generation:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("vmlinuz", "initrd.img"):
            stream = tar.extractfile(name)
            if stream is None:
                raise UpdateFailed(f"{bundle} has no {name}")
            with (folder / name).open("wb") as out:
                shutil.copyfileobj(stream, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
    entry = ENTRIES / f"transom-{generation:04d}+{TRIES}.conf"
    entry.write_text(
        f"title Transom edge (build {manifest.get('build_id')})\nversion {generation:04d}\nsort-key transom\n"
        f"linux /transom/{generation:04d}/vmlinuz\ninitrd /transom/{generation:04d}/initrd.img\n"
        f"options {kernel_cmdline(target_slot)}\n"
    )
    subprocess.run(["sync"], check=False)
    APPLIED.parent.mkdir(parents=True, exist_ok=True)
    APPLIED.write_text(json.dumps({"build_id": manifest.get("build_id"), "generation": generation}) + "\n")
    return generation


def _write_root(tar: tarfile.TarFile, target: Path) -> None:
    stream = tar.extractfile("root.ext4.zst")
    if stream is None:
        raise UpdateFailed("the bundle has no root.ext4.zst")
    with target.open("wb") as out:
        unpack = subprocess.Popen(["zstd", "-d", "-c", "-q"], stdin=subprocess.PIPE, stdout=out)
        assert unpack.stdin is not None
        try:
            shutil.copyfileobj(stream, unpack.stdin, 1 << 20)
        finally:
            unpack.stdin.close()
        if unpack.wait() != 0:
            raise UpdateFailed("the bundle's root file system did not decompress")
        out.flush()
        os.fsync(out.fileno())


def from_media() -> int:
    """Apply a bundle from a TRANSOM-UPD stick once, then reboot; 0 when there is nothing to do."""
    device = Path("/dev/disk/by-label") / MEDIA_LABEL
    if not device.exists():
        return 0
    mount = Path("/run/transom/media")
    mount.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", "-o", "ro", str(device), str(mount)], check=False).returncode != 0:
        print(f"update media {device} could not be mounted", flush=True)
        return 1
    try:
        bundles = sorted(mount.glob("*.tar"))
        if not bundles:
            print(f"update media {device} holds no bundle (*.tar)", flush=True)
            return 0
        manifest = read_manifest(bundles[-1])
        done = json.loads(APPLIED.read_text()) if APPLIED.exists() else {}
        running = json.loads(Path("/etc/transom-build.json").read_text())
        if manifest.get("build_id") in (done.get("build_id"), running.get("build_id")):
            print(f"update {manifest.get('build_id')} already applied", flush=True)
            return 0
        generation = apply_bundle(bundles[-1])
    except UpdateFailed as exc:
        print(f"update failed: {exc}", flush=True)
        return 1
    finally:
        subprocess.run(["umount", str(mount)], check=False)
    print(f"update applied as generation {generation}: rebooting into it", flush=True)
    subprocess.run(["systemctl", "reboot"], check=False)
    return 0


def main() -> int:
    if sys.argv[1:] == ["--from-media"]:
        return from_media()
    print("usage: python -m image.device.update --from-media (or `transom image update BUNDLE`)")
    return 2


if __name__ == "__main__":
    sys.exit(main())
