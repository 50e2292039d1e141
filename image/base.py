"""The base system, built once and cached: Debian 12 minbase (debootstrap) plus the packages a node needs.

    <cache>/minbase-<suite>-<arch>/rootfs     debootstrap --variant=minbase
    <cache>/system-<key>/rootfs               + PACKAGES (apt, no recommends, no docs/locales)

Each level is made in a `.partial` directory and renamed when complete, so an interrupted
build is redone rather than trusted. `<key>` hashes what the level is made of (the package
list, the dpkg excludes), so changing either rebuilds it and nothing else. A build copies the
cached system and adds Transom to the copy; the cache itself is never changed.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from image.chroot import in_root, mounted, run
from image.errors import ImageBuildFailed

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"

# What a node runs, from Debian: systemd as init with networkd/resolved/timesyncd, the kernel
# and systemd-boot (with systemd-bless-boot for boot counting), Python for the venv, etcd and
# Redis, and the tools the first boot and the updater call (sfdisk, mkfs.ext4, zstd).
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "systemd-resolved",
    "systemd-timesyncd",
    "systemd-boot",
    "systemd-boot-efi",
    "udev",
    "dbus",
    "linux-image-amd64",
    "initramfs-tools",
    "zstd",
    "python3",
    "etcd-server",
    "redis-server",
    "iproute2",
    "fdisk",
    "e2fsprogs",
    "kmod",
)

# dpkg never unpacks these: documentation, translations, and kernel drivers a site PC does not
# need (graphics, sound, video capture, InfiniBand, radios). NICs, storage and USB stay.
DPKG_EXCLUDES = """\
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
path-exclude=/usr/share/lintian/*
path-exclude=/lib/modules/*/kernel/drivers/gpu/*
path-exclude=/lib/modules/*/kernel/sound/*
path-exclude=/lib/modules/*/kernel/drivers/media/*
path-exclude=/lib/modules/*/kernel/drivers/infiniband/*
path-exclude=/lib/modules/*/kernel/drivers/net/wireless/*
path-exclude=/lib/modules/*/kernel/net/wireless/*
path-exclude=/lib/modules/*/kernel/net/mac80211/*
path-exclude=/lib/modules/*/kernel/drivers/bluetooth/*
path-exclude=/lib/modules/*/kernel/net/bluetooth/*
path-exclude=/lib/modules/*/kernel/drivers/staging/*
path-exclude=/lib/modules/*/kernel/drivers/isdn/*
path-exclude=/lib/modules/*/kernel/drivers/iio/*
path-exclude=/lib/modules/*/kernel/drivers/hid/*
path-include=/lib/modules/*/kernel/drivers/hid/usbhid/*
path-include=/lib/modules/*/kernel/drivers/hid/hid.ko
path-include=/lib/modules/*/kernel/drivers/hid/hid-generic.ko
path-exclude=/lib/modules/*/kernel/fs/ocfs2/*
path-exclude=/lib/modules/*/kernel/fs/btrfs/*
path-exclude=/lib/modules/*/kernel/fs/xfs/*
path-exclude=/lib/modules/*/kernel/fs/nfs*
path-exclude=/usr/lib/firmware/*
"""

# initramfs-tools: zstd is quick to unpack; "most" modules so it boots on unknown PCs.
INITRAMFS_CONF = "MODULES=most\nBUSYBOX=auto\nCOMPRESS=zstd\n"


def system_key(arch: str) -> str:
    """A short hash of what the cached system is made of."""
    text = "\n".join((SUITE, arch, MIRROR, *PACKAGES, DPKG_EXCLUDES, INITRAMFS_CONF))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def minbase(cache: Path, arch: str, log: Path) -> Path:
    """The cached debootstrap minbase root (made now if missing)."""
    level = cache / f"minbase-{SUITE}-{arch}"
    done = level / "rootfs"
    if done.is_dir():
        return done
    if shutil.which("debootstrap") is None:
        raise ImageBuildFailed("debootstrap is not installed (`make image-debs` installs it)")
    partial = level / "rootfs.partial"
    shutil.rmtree(partial, ignore_errors=True)
    level.mkdir(parents=True, exist_ok=True)
    run(["debootstrap", "--variant=minbase", f"--arch={arch}", SUITE, str(partial), MIRROR], log=log)
    partial.rename(done)
    return done


def system(cache: Path, arch: str, log: Path) -> Path:
    """The cached base system with PACKAGES installed (made from minbase now if missing)."""
    level = cache / f"system-{system_key(arch)}"
    done = level / "rootfs"
    if done.is_dir():
        return done
    base = minbase(cache, arch, log)
    partial = level / "rootfs.partial"
    shutil.rmtree(partial, ignore_errors=True)
    level.mkdir(parents=True, exist_ok=True)
    run(["cp", "-a", "--reflink=auto", str(base), str(partial)], log=log)
    (partial / "etc/dpkg/dpkg.cfg.d/01-transom-excludes").write_text(DPKG_EXCLUDES)
    (partial / "etc/initramfs-tools/conf.d").mkdir(parents=True, exist_ok=True)
    (partial / "etc/initramfs-tools/conf.d/transom.conf").write_text(INITRAMFS_CONF)
    (partial / "etc/apt/sources.list").write_text(
        f"deb {MIRROR} {SUITE} main\ndeb {MIRROR} {SUITE}-updates main\n"
        f"deb http://deb.debian.org/debian-security {SUITE}-security main\n"
    )
    # The kernel's postinst must not try to run a boot loader installer inside the chroot.
    (partial / "etc/kernel-img.conf").write_text("do_symlinks = yes\ndo_bootloader = no\n")
    with mounted(partial, log=log):
        in_root(partial, ["apt-get", "update", "-q"], log=log)
        in_root(
            partial,
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES],
            log=log,
        )
        in_root(partial, ["apt-get", "clean"], log=log)
    for leftover in ("var/lib/apt/lists", "var/cache/apt"):
        for child in (partial / leftover).glob("*"):
            if child.is_file():
                child.unlink()
    partial.rename(done)
    return done
