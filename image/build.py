"""`transom image build`: the stages from a cached Debian base to a flashable disk image.

    base        debootstrap minbase + packages, cached (see image.base); reused when unchanged
    copy        the cached system copied into the build's work folder
    transom     wheel from this checkout + locked dependencies into /opt/transom (image.payload)
    configure   units, data partition wiring, etcd/Redis on it (image.system)
    root fs     ext4 made from the tree (mkfs.ext4 -d)
    esp         FAT32 with systemd-boot, kernel, initrd, loader entry, enrolment file
    disk        GPT (sfdisk) + file systems placed in it: OUT/transom-edge.raw
    compress    OUT/transom-edge.raw.zst, and the update bundle OUT/transom-update.tar

What needs root: debootstrap, chroot and the bind mounts of /proc, /sys, /dev and the uv
cache (the base and the transom/configure stages). No stage uses a loop device: file systems
are made in files and written into the image at their offsets.
For qemu's direct boot the output also has `vmlinuz` and `initrd.img` (kernel command line
from image.layout.kernel_cmdline).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from image import base, disk, payload, system
from image.chroot import mounted, run
from image.errors import ImageBuildFailed

IMAGE_NAME = "transom-edge.raw"
BUNDLE_NAME = "transom-update.tar"
STAGES = ("base", "copy", "transom", "configure", "root fs", "esp", "disk", "compress")


@dataclass
class BuildOptions:
    """What `transom image build` is given."""

    out: Path
    arch: str = "amd64"
    cloud: str = ""
    enrolment_token: str = ""
    pin: str = ""
    allow_http: bool = False
    cache: Path = field(default_factory=lambda: default_cache())
    compress: bool = True


@dataclass
class BuildResult:
    """Where the outputs are and how long each stage took (seconds)."""

    image: Path
    compressed: Path | None
    bundle: Path
    kernel: Path
    initrd: Path
    build_id: str
    timings: dict[str, float]


def default_cache() -> Path:
    """$XDG_CACHE_HOME/transom/image (or ~/.cache/transom/image)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "transom" / "image"


def enrolment_text(options: BuildOptions) -> str | None:
    """The enrolment file for the ESP when a cloud or token was given, else None (the template)."""
    if not options.cloud and not options.enrolment_token:
        return None
    if not options.cloud or not options.enrolment_token:
        raise ImageBuildFailed("--cloud and --enrolment-token go together: give both or neither")
    lines = ["[enrolment]", f"cloud = {options.cloud}", f"token = {options.enrolment_token}"]
    if options.pin:
        lines.append(f"pin = {options.pin}")
    if options.allow_http:
        lines.append("allow_http = true")
    return "\n".join(lines) + "\n"


def check_host(options: BuildOptions) -> None:
    """Raises ImageBuildFailed when the build cannot run here (not root, wrong arch, tools missing)."""
    if options.arch != "amd64":
        raise ImageBuildFailed(f"--arch {options.arch!r} is not built yet: amd64 only (arm64 is next)")
    if os.geteuid() != 0:
        raise ImageBuildFailed("the build needs root (debootstrap, chroot and bind mounts); run it with sudo")
    disk.check_tools()


Progress = Callable[[str], None]


@contextmanager
def _stage(name: str, timings: dict[str, float], progress: Progress) -> Iterator[None]:
    progress(name)
    started = time.monotonic()
    yield
    timings[name] = time.monotonic() - started


def build(options: BuildOptions, progress: Progress = lambda _stage: None) -> BuildResult:
    """Build the image into `options.out`, calling `progress(stage)` as each stage starts.

    Raises:
        ImageBuildFailed: a stage failed; the message names the log (OUT/build.log).
    """
    check_host(options)
    enrolment = enrolment_text(options)
    out = options.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    log = out / "build.log"
    log.write_text("")
    work = out / "work"
    timings: dict[str, float] = {}
    build_id = time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)
    version = _version()
    with _stage("base", timings, progress):
        cached = base.system(options.cache, options.arch, log)
    root = work / "rootfs"
    with _stage("copy", timings, progress):
        if work.exists():
            run(["rm", "-rf", str(work)], log=log)
        work.mkdir(parents=True)
        run(["cp", "-a", "--reflink=auto", str(cached), str(root)], log=log)
    with _stage("transom", timings, progress):
        wheel = payload.build_wheel(work, log)
        requirements = payload.export_requirements(work, log)
        with mounted(root, log=log):
            payload.install(root, wheel, requirements, log)
    with _stage("configure", timings, progress), mounted(root, log=log):
        system.configure(root, build_id=build_id, version=version, log=log)
    kernel, initrd = _boot_files(root)
    shutil.copy2(kernel, out / "vmlinuz")
    shutil.copy2(initrd, out / "initrd.img")
    initrd.unlink()  # it boots from the ESP; a second copy in the root would only take space
    boot = disk.BootFiles(out / "vmlinuz", out / "initrd.img", _systemd_boot(root))
    root_fs = work / "root.ext4"
    with _stage("root fs", timings, progress):
        disk.make_root_fs(root, root_fs, log)
    esp = work / "esp.fat"
    with _stage("esp", timings, progress):
        disk.make_esp(boot, esp, enrolment, log)
    image = out / IMAGE_NAME
    with _stage("disk", timings, progress):
        disk.assemble(esp, root_fs, image, log)
    compressed: Path | None = None
    bundle = out / BUNDLE_NAME
    with _stage("compress", timings, progress):
        if options.compress:
            compressed = out / (IMAGE_NAME + ".zst")
            disk.compress(image, compressed, log)
        _bundle(bundle, work, root_fs, boot, build_id, version, log)
    run(["rm", "-rf", str(work)], log=log)
    return BuildResult(image, compressed, bundle, out / "vmlinuz", out / "initrd.img", build_id, timings)


def _version() -> str:
    from cli import __version__

    return __version__


def _boot_files(root: Path) -> tuple[Path, Path]:
    kernels = sorted((root / "boot").glob("vmlinuz-*"))
    initrds = sorted((root / "boot").glob("initrd.img-*"))
    if not kernels or not initrds:
        raise ImageBuildFailed("the base system has no kernel or initrd in /boot")
    return kernels[-1], initrds[-1]


def _systemd_boot(root: Path) -> Path:
    found = root / "usr/lib/systemd/boot/efi/systemd-bootx64.efi"
    if not found.is_file():
        raise ImageBuildFailed("systemd-bootx64.efi is missing from the base system (systemd-boot-efi)")
    return found


def _bundle(
    target: Path, work: Path, root_fs: Path, boot: disk.BootFiles, build_id: str, version: str, log: Path
) -> None:
    """The update bundle: manifest, kernel, initrd and the zstd root file system, in one tar."""
    packed = work / "root.ext4.zst"
    run(["zstd", "-q", "-f", "-T0", "-6", str(root_fs), "-o", str(packed)], log=log)
    manifest = work / "manifest.json"
    manifest.write_text(
        json.dumps({"build_id": build_id, "version": version, "root_size": root_fs.stat().st_size}) + "\n"
    )
    with tarfile.open(target, "w") as tar:
        tar.add(manifest, "manifest.json")
        tar.add(boot.kernel, "vmlinuz")
        tar.add(boot.initrd, "initrd.img")
        tar.add(packed, "root.ext4.zst")
