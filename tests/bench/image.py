"""`transom bench image`: edge image size (raw, zstd), warm-cache build time, boot-to-ready under qemu.

Targets (issue #16): raw image under 1 GB (1024 MiB), compressed under 400 MB, boot to a
local API that answers under 60 s with KVM. Without usable KVM the boot is timed under
software emulation (TCG) with no target; with KVM both are reported. The build runs once
untimed if the base-system cache is cold, then is timed (median of 3; 1 with --quick).
Boots: median of 3 first boots of a fresh copy of the image (1 with --quick). Needs root.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from cli.bench import Figure
from image.base import system_key
from image.build import default_cache
from image.qemu import Machine, kvm_usable

DESCRIPTION = "edge image: size raw and compressed, warm-cache build time, boot-to-ready under qemu"
MIB = 1024 * 1024
# A boot under software emulation on a loaded machine can take many minutes; past this it failed.
BOOT_DEADLINE = 1800.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _build(out: Path) -> float:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "cli", "image", "build", "--out", str(out)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"image build failed: {done.stderr[-2000:]}")
    return time.monotonic() - started


def _boot(image: Path, workdir: Path, kvm: bool) -> float:
    port = _free_port()
    vm = Machine(image, workdir, api_port=port, kvm=kvm)
    started = time.monotonic()
    vm.start()
    try:
        while time.monotonic() - started < BOOT_DEADLINE:
            try:
                url = f"http://127.0.0.1:{port}/api/engine/v2/edge/health"
                with urllib.request.urlopen(url, timeout=10) as answer:
                    if answer.status == 200:
                        return time.monotonic() - started
            except OSError:
                time.sleep(1)
        raise RuntimeError(f"the node's local API did not answer within {BOOT_DEADLINE:g} s")
    finally:
        vm.kill()


def run(quick: bool) -> list[Figure]:
    if os.geteuid() != 0:
        raise RuntimeError("bench image builds an image: it needs root")
    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="transom-bench-image-") as folder:
        root = Path(folder)
        if not (default_cache() / f"system-{system_key('amd64')}" / "rootfs").is_dir():
            _build(root / "warm-up")  # fills the base-system cache; not timed
        builds = [_build(root / f"build-{n}") for n in range(rounds)]
        out = root / f"build-{rounds - 1}"
        raw = (out / "transom-edge.raw").stat().st_size
        compressed = (out / "transom-edge.raw.zst").stat().st_size
        tcg = [_boot(out / "transom-edge.raw", root / f"tcg-{n}", False) for n in range(rounds)]
        figures = [
            Figure("image size, raw", round(raw / MIB, 1), "MiB", 1024, "lower"),
            Figure("image size, zstd", round(compressed / MIB, 1), "MiB", 400, "lower"),
            Figure("build, warm cache", round(statistics.median(builds), 1), "s", None, "lower"),
            Figure("boot to ready, TCG (no KVM)", round(statistics.median(tcg), 1), "s", None, "lower"),
        ]
        if kvm_usable():
            kvm = [_boot(out / "transom-edge.raw", root / f"kvm-{n}", True) for n in range(rounds)]
            figures.append(Figure("boot to ready, KVM", round(statistics.median(kvm), 1), "s", 60, "lower"))
        return figures
