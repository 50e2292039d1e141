"""Booting a built image under qemu-system-x86_64 with UEFI (OVMF): for the boot test and the benchmark.

    vm = Machine(disk, workdir, api_port=free)   # a copy of the image grown to `disk_size`
    vm.start(extra_drive=None)                   # OVMF -> systemd-boot -> the image
    vm.console()                                 # the serial console so far
    vm.power_off()                               # ACPI power button, then kill after a deadline

Networking is qemu's user mode: the guest is 10.0.2.15, the host's loopback is 10.0.2.2 from
inside, and the node's local API (guest port 8081) is forwarded to 127.0.0.1:`api_port`.
KVM is used when /dev/kvm works; a probe boots OVMF for a moment, because a /dev/kvm that
opens may still fail on the first instruction (nested virtualisation without full support).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from functools import cache
from pathlib import Path

OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
QEMU = "qemu-system-x86_64"
GUEST_API_PORT = 8081
# The disk a device would have: room for the second root slot and the data partition.
DISK_SIZE = 4 * 1024**3


@cache
def kvm_usable() -> bool:
    """Whether qemu can run a guest with KVM here (opens /dev/kvm and survives OVMF's first steps)."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK) or shutil.which(QEMU) is None:
        return False
    probe = subprocess.Popen(
        [
            QEMU,
            "-accel",
            "kvm",
            "-m",
            "128",
            "-display",
            "none",
            "-serial",
            "none",
            "-monitor",
            "none",
            "-drive",
            f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
            "-net",
            "none",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(3)
    alive = probe.poll() is None
    probe.kill()
    _, errors = probe.communicate()
    return alive and b"KVM internal error" not in errors and b"emulation failure" not in errors


class Machine:
    """One qemu guest booting a copy of a built image."""

    def __init__(self, image: Path, workdir: Path, *, api_port: int, kvm: bool | None = None) -> None:
        self.workdir = workdir
        self.disk = workdir / "disk.raw"
        self.vars = workdir / "ovmf-vars.fd"
        self.console_path = workdir / "console.log"
        self.monitor = workdir / "monitor.sock"
        self.api_port = api_port
        self.kvm = kvm_usable() if kvm is None else kvm
        self.process: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "--sparse=always", str(image), str(self.disk)], check=True)
        os.truncate(self.disk, max(DISK_SIZE, self.disk.stat().st_size))
        shutil.copy2(OVMF_VARS, self.vars)  # the firmware's variables persist across boots, as on a PC

    def start(self, *, extra_drive: Path | None = None, memory_mb: int = 1024) -> None:
        """Power the machine on (the console log is appended to across boots)."""
        command = [
            QEMU,
            "-accel",
            "kvm" if self.kvm else "tcg",
            "-m",
            str(memory_mb),
            "-smp",
            "2",
            "-display",
            "none",
            "-serial",
            f"file:{self.console_path}.part",
            "-monitor",
            f"unix:{self.monitor},server,nowait",
            "-drive",
            f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
            "-drive",
            f"if=pflash,format=raw,unit=1,file={self.vars}",
            "-drive",
            f"file={self.disk},format=raw,if=virtio",
            "-netdev",
            f"user,id=n0,hostfwd=tcp:127.0.0.1:{self.api_port}-:{GUEST_API_PORT}",
            "-device",
            "virtio-net-pci,netdev=n0",
        ]
        if extra_drive is not None:
            command += ["-drive", f"file={extra_drive},format=raw,if=virtio,readonly=on"]
        self._flush_console()
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=(self.workdir / "qemu.log").open("ab")
        )

    def _flush_console(self) -> None:
        part = Path(f"{self.console_path}.part")
        if part.exists():
            with self.console_path.open("ab") as out:
                out.write(part.read_bytes())
            part.unlink()

    def console(self) -> str:
        """Everything the serial console printed, over every boot so far."""
        text = self.console_path.read_bytes() if self.console_path.exists() else b""
        part = Path(f"{self.console_path}.part")
        if part.exists():
            text += part.read_bytes()
        return text.decode(errors="replace")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _monitor(self, command: str) -> None:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.monitor))
            sock.sendall(command.encode() + b"\n")
            time.sleep(0.5)

    def power_off(self, *, seconds: float = 300.0) -> bool:
        """Press the ACPI power button and wait for a clean shutdown; kill after `seconds`.

        Returns:
            True when the guest shut down by itself.
        """
        if not self.running():
            return True
        assert self.process is not None
        with contextlib.suppress(OSError):
            self._monitor("system_powerdown")
        try:
            self.process.wait(timeout=seconds)
            clean = True
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            clean = False
        self._flush_console()
        return clean

    def kill(self) -> None:
        """Pull the plug."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._flush_console()
