"""The raw disk image, assembled from files with no loop devices: mkfs.ext4 -d, mkfs.vfat + mtools, sfdisk.

Each file system is made in its own file (`mkfs.ext4 -d` fills ext4 from a directory;
mtools copies into a FAT image), then sfdisk writes a GPT into the image file and dd
puts each file system at its partition's offset. None of this needs root or a loop device.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from image.chroot import run
from image.errors import ImageBuildFailed
from image.layout import ALIGN, DISK_GUID, ESP, ESP_SIZE, MIB, ROOT_A, kernel_cmdline

TOOLS = ("mkfs.ext4", "mkfs.vfat", "mcopy", "mmd", "sfdisk", "zstd")


@dataclass(frozen=True)
class BootFiles:
    """What the ESP holds for one generation: kernel, initrd, and the loader entry."""

    kernel: Path
    initrd: Path
    systemd_boot: Path


def check_tools() -> None:
    """Raises ImageBuildFailed naming any host tool the assembly needs and lacks."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise ImageBuildFailed(f"missing host tools {missing}: `make image-debs` installs them")


def _round_up(size: int, step: int = ALIGN) -> int:
    return (size + step - 1) // step * step


def tree_size(root: Path) -> int:
    """Bytes the files under `root` take (du's apparent-size-free count, in 1 KiB blocks)."""
    out = subprocess.run(["du", "-s", "-k", "-x", str(root)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0]) * 1024


def make_root_fs(root: Path, target: Path, log: Path) -> int:
    """An ext4 file system holding `root`, sized to it with 10% room (+64 MiB); its size.

    An update replaces the whole file system, so the slot needs room for logs and caches, not growth.
    """
    size = _round_up(int(tree_size(root) * 1.10) + 64 * MIB)
    target.unlink(missing_ok=True)
    run(
        [
            "mkfs.ext4",
            "-q",
            "-F",
            "-L",
            "transom-root",
            "-m",
            "0",
            "-E",
            "root_owner=0:0",
            "-d",
            str(root),
            str(target),
            str(size // 1024) + "k",
        ],
        log=log,
    )
    return size


def entry_text(generation: int, slot: str) -> str:
    """The systemd-boot entry booting `generation` (its kernel and initrd in /transom/<gen>/) from `slot`."""
    return (
        f"title Transom edge\nversion {generation:04d}\nsort-key transom\n"
        f"linux /transom/{generation:04d}/vmlinuz\ninitrd /transom/{generation:04d}/initrd.img\n"
        f"options {kernel_cmdline(slot)}\n"
    )


def make_esp(boot: BootFiles, target: Path, enrolment: str | None, log: Path) -> None:
    """A FAT32 ESP: systemd-boot as the removable-media loader, generation 1 on slot a, the enrolment file."""
    target.unlink(missing_ok=True)
    run(["mkfs.vfat", "-F", "32", "-n", "TRANSOM", "-C", str(target), str(ESP_SIZE // 1024)], log=log)
    image = ["-i", str(target)]
    run(
        [
            "mmd",
            *image,
            "::/EFI",
            "::/EFI/BOOT",
            "::/EFI/systemd",
            "::/loader",
            "::/loader/entries",
            "::/transom",
            "::/transom/0001",
        ],
        log=log,
    )
    run(["mcopy", *image, str(boot.systemd_boot), "::/EFI/BOOT/BOOTX64.EFI"], log=log)
    run(["mcopy", *image, str(boot.systemd_boot), "::/EFI/systemd/systemd-bootx64.efi"], log=log)
    run(["mcopy", *image, str(boot.kernel), "::/transom/0001/vmlinuz"], log=log)
    run(["mcopy", *image, str(boot.initrd), "::/transom/0001/initrd.img"], log=log)
    staging = target.parent / "esp-files"
    staging.mkdir(exist_ok=True)
    (staging / "loader.conf").write_text("timeout 0\neditor no\nauto-entries no\nauto-firmware no\n")
    (staging / "transom-0001.conf").write_text(entry_text(1, "a"))
    run(["mcopy", *image, str(staging / "loader.conf"), "::/loader/loader.conf"], log=log)
    run(["mcopy", *image, str(staging / "transom-0001.conf"), "::/loader/entries/transom-0001.conf"], log=log)
    (staging / "enrolment.conf").write_text(enrolment or ENROLMENT_TEMPLATE)
    run(["mcopy", *image, str(staging / "enrolment.conf"), "::/transom/enrolment.conf"], log=log)


ENROLMENT_TEMPLATE = """\
# Transom edge enrolment. Fill in both lines (from `transom cloud enrol-token`) before
# the first boot; without a token the node runs as a stand-alone site.
[enrolment]
cloud =
token =
# The SHA-256 fingerprint of the cloud's certificate, to pin it (else it is checked against the CAs).
pin =
"""


def assemble(esp: Path, root_fs: Path, target: Path, log: Path) -> None:
    """GPT disk image: ESP, then root slot a; slot b and the data partition come at first boot."""
    esp_size, root_size = esp.stat().st_size, root_fs.stat().st_size
    start = ALIGN
    root_start = start + esp_size
    total = root_start + root_size + ALIGN  # the backup GPT needs the last 33 sectors
    target.unlink(missing_ok=True)
    with target.open("wb") as out:
        out.truncate(total)
    table = (
        f"label: gpt\nlabel-id: {DISK_GUID}\nunit: sectors\nfirst-lba: 2048\n"
        f"start={start // 512}, size={esp_size // 512}, type={ESP.type_guid}, uuid={ESP.uuid}, "
        f"name={ESP.label}\n"
        f"start={root_start // 512}, size={root_size // 512}, type={ROOT_A.type_guid}, uuid={ROOT_A.uuid}, "
        f"name={ROOT_A.label}\n"
    )
    with log.open("ab") as out:
        result = subprocess.run(
            ["sfdisk", "--no-reread", "--no-tell-kernel", "--wipe", "always", str(target)],
            input=table.encode(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != 0:
        raise ImageBuildFailed(f"sfdisk failed; see {log}")
    for source, offset in ((esp, start), (root_fs, root_start)):
        run(
            [
                "dd",
                f"if={source}",
                f"of={target}",
                "bs=1M",
                f"seek={offset // MIB}",
                "conv=notrunc,sparse",
                "status=none",
            ],
            log=log,
        )


def compress(source: Path, target: Path, log: Path) -> None:
    """zstd of `source` (multi-threaded, level 10: a fair size for the time)."""
    run(["zstd", "-q", "-f", "-T0", "-10", str(source), "-o", str(target)], log=log)


def make_update_media(bundle: Path, target: Path, log: Path) -> None:
    """An ext4 file system labelled TRANSOM-UPD holding `bundle`: write it to a USB stick (or attach it).

    A node applies the bundle it finds on such a stick at boot (image.device.update).
    """
    staging = target.parent / "update-media"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copy2(bundle, staging / bundle.name)
    size = _round_up(int(bundle.stat().st_size * 1.1) + 16 * MIB)
    target.unlink(missing_ok=True)
    run(
        ["mkfs.ext4", "-q", "-F", "-L", "TRANSOM-UPD", "-d", str(staging), str(target), f"{size // 1024}k"],
        log=log,
    )
    shutil.rmtree(staging, ignore_errors=True)
