"""First boot's disk set-up, then every boot's data mount (transom-data.service).

On the disk holding the running root: move the backup GPT to the disk's real end (the image
was smaller than the disk), append root slot b (as big as slot a) and the data partition
(the rest), tell the kernel (partx), make ext4 on the data partition if it has no file
system, mount it at /var/lib/transom, and give etcd, Redis and the journal their folders
in it. Every step checks before acting, so a boot interrupted half-way redoes only what is
missing, and a data partition that has a file system is never formatted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from image.layout import ALIGN, DATA, DATA_MOUNT, MIN_DATA_SIZE, ROOT_B, SLOTS

JOURNAL = Path("/var/log/journal")
# (folder in the data partition, owner): the services that keep state there.
FOLDERS = (("node", "root"), ("etcd", "etcd"), ("redis", "redis"), ("journal", "root"))


def sh(*command: str, input: str | None = None) -> str:
    """Run a command; its stdout. Raises CalledProcessError with its stderr on failure."""
    done = subprocess.run(command, input=input, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, command, done.stdout, done.stderr)
    return done.stdout


def partition_device(uuid: str) -> Path | None:
    """/dev/<name> of the partition with this PARTUUID, if the kernel knows it."""
    link = Path("/dev/disk/by-partuuid") / uuid.lower()
    if link.exists():
        return link.resolve()
    for block in Path("/sys/class/block").iterdir():
        uevent = block / "uevent"
        if (block / "partition").exists() and f"PARTUUID={uuid.lower()}" in uevent.read_text().lower():
            return Path("/dev") / block.name
    return None


def root_disk() -> tuple[Path, Path]:
    """(the disk, the root partition) the running system booted from."""
    for slot in SLOTS.values():
        part = partition_device(slot.uuid)
        if part is not None and _mounted_as_root(part):
            parent = Path("/sys/class/block") / part.name / ".."
            return Path("/dev") / parent.resolve().name, part
    raise RuntimeError("the running root is on no Transom root partition (PARTUUID not found)")


def _mounted_as_root(part: Path) -> bool:
    try:
        return os.stat("/").st_dev == os.stat(part).st_rdev
    except OSError:
        return False


def ensure_partitions(disk: Path, root: Path) -> None:
    """Append slot b and the data partition if the table lacks them."""
    table = sh("sfdisk", "--dump", str(disk))
    if DATA.uuid.lower() in table.lower():
        return
    print(f"first boot: making the second root slot and the data partition on {disk}", flush=True)
    sh("sfdisk", "--relocate", "gpt-bak-std", str(disk))
    root_sectors = int(Path(f"/sys/class/block/{root.name}/size").read_text())
    disk_sectors = int(Path(f"/sys/class/block/{disk.name}/size").read_text())
    used_end = max(_partition_ends(disk))
    free = (disk_sectors - 34 - used_end) * 512 - 2 * ALIGN
    if free < root_sectors * 512 + MIN_DATA_SIZE:
        raise RuntimeError(
            f"{disk} is too small: it needs {(root_sectors * 512 + MIN_DATA_SIZE) // 2**20} MiB more "
            "for the second root slot and the data partition"
        )
    lines = (
        f"size={root_sectors}, type={ROOT_B.type_guid}, uuid={ROOT_B.uuid}, name={ROOT_B.label}\n"
        f"type={DATA.type_guid}, uuid={DATA.uuid}, name={DATA.label}\n"
    )
    sh("sfdisk", "--append", "--no-reread", "--no-tell-kernel", str(disk), input=lines)
    subprocess.run(["partx", "-a", str(disk)], capture_output=True, check=False)
    subprocess.run(["partx", "-u", str(disk)], capture_output=True, check=False)


def _partition_ends(disk: Path) -> list[int]:
    ends = []
    for child in Path(f"/sys/class/block/{disk.name}").iterdir():
        if (child / "partition").exists():
            ends.append(int((child / "start").read_text()) + int((child / "size").read_text()))
    return ends or [2048]


def wait_for(uuid: str, seconds: float = 30.0) -> Path:
    """The partition's device once the kernel (and udev) show it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = partition_device(uuid)
        if found is not None and found.exists():
            return found
        time.sleep(0.2)
    raise RuntimeError(f"partition {uuid} did not appear")


def mount_data(device: Path) -> None:
    """Make ext4 on it if blank, mount it at DATA_MOUNT, give each service its folder."""
    kind = subprocess.run(
        ["blkid", "-p", "-o", "value", "-s", "TYPE", str(device)], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not kind:
        print(f"first boot: formatting the data partition {device}", flush=True)
        sh("mkfs.ext4", "-q", "-L", DATA.label, str(device))
    mount = Path(DATA_MOUNT)
    mount.mkdir(parents=True, exist_ok=True)
    if not os.path.ismount(mount):
        sh("mount", "-o", "noatime", str(device), str(mount))
    for name, owner in FOLDERS:
        folder = mount / name
        folder.mkdir(exist_ok=True)
        if owner != "root" and shutil.which("chown"):
            subprocess.run(["chown", "-R", f"{owner}:{owner}", str(folder)], check=False)
    for private in ("node", "etcd"):
        (mount / private).chmod(0o700)
    JOURNAL.mkdir(parents=True, exist_ok=True)
    if not os.path.ismount(JOURNAL):
        sh("mount", "--bind", str(mount / "journal"), str(JOURNAL))
        subprocess.run(["journalctl", "--flush"], capture_output=True, check=False)


def main() -> int:
    try:
        disk, root = root_disk()
        ensure_partitions(disk, root)
        mount_data(wait_for(DATA.uuid))
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        print(f"transom data partition: {exc} {detail}".strip(), file=sys.stderr, flush=True)
        return 1
    print(f"data partition mounted at {DATA_MOUNT}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
