"""The disk layout every Transom edge image shares: partitions, their ids, what lives where.

    partition 1  esp             FAT32, mounted at /boot/efi: systemd-boot, one kernel+initrd
                                 per boot generation, loader entries, and `transom/enrolment.conf`
    partition 2  transom-root-a  ext4, the running system (slot a)
    partition 3  transom-root-b  ext4, the other slot: made on first boot, written by updates
    partition 4  transom-data    ext4, /var/lib/transom: node id, keys, replica, outbox, etcd,
                                 Redis, the journal; made on first boot from the rest of the disk

The image file holds partitions 1 and 2 only, so it stays small; the first boot appends 3
and 4 (`image.device.disk`). Partition ids are fixed, so the kernel command line and the
updater name a slot by its PARTUUID on every device flashed from any build.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024

# GPT type GUIDs (UAPI discoverable partitions specification).
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
ROOT_X86_64_TYPE = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
LINUX_DATA_TYPE = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"

DISK_GUID = "6A1C3F0E-1C52-4C0B-9D2B-5452414E534F"


@dataclass(frozen=True)
class Partition:
    """One partition: its number, GPT label, type and fixed PARTUUID."""

    number: int
    label: str
    type_guid: str
    uuid: str


ESP = Partition(1, "esp", ESP_TYPE, "1E5B1A7E-0001-4E77-A5D8-5452414E534F")
ROOT_A = Partition(2, "transom-root-a", ROOT_X86_64_TYPE, "1E5B1A7E-0002-4E77-A5D8-5452414E534F")
ROOT_B = Partition(3, "transom-root-b", ROOT_X86_64_TYPE, "1E5B1A7E-0003-4E77-A5D8-5452414E534F")
DATA = Partition(4, "transom-data", LINUX_DATA_TYPE, "1E5B1A7E-0004-4E77-A5D8-5452414E534F")
SLOTS = {"a": ROOT_A, "b": ROOT_B}

# 128 MiB holds systemd-boot and two generations of kernel + initrd (about 35 MiB each) with room.
ESP_SIZE = 128 * MIB
# Partitions start on 1 MiB boundaries (what every partitioning tool does for SSDs).
ALIGN = MIB
# The data partition the first boot makes is at least this big (else the disk is too small).
MIN_DATA_SIZE = 256 * MIB

# Where the node keeps everything it must not lose (the data partition's mount point).
DATA_MOUNT = "/var/lib/transom"
# The enrolment file, relative to the ESP's root: readable and editable on any PC.
ENROLMENT_FILE = "transom/enrolment.conf"
ESP_MOUNT = "/boot/efi"
# Where the venv with Transom lives on the root file system.
VENV = "/opt/transom"

# rw: there is no fstab line for / (it differs per slot), so nothing would remount it writable.
KERNEL_ARGS = "rw console=tty0 console=ttyS0,115200 systemd.show_status=auto"


def kernel_cmdline(slot: str) -> str:
    """The kernel command line booting root slot `slot` ('a' or 'b')."""
    return f"root=PARTUUID={SLOTS[slot].uuid.lower()} {KERNEL_ARGS}"
