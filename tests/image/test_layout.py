"""The pieces of the image that need no machine: slots from the kernel command line, boot entries, options."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

from image.build import BuildOptions, enrolment_text
from image.device.slots import other_slot, running_slot
from image.disk import entry_text
from image.errors import ImageBuildFailed
from image.layout import ROOT_A, ROOT_B, kernel_cmdline
from tests.e2e.harness import TRANSOM


def test_the_running_slot_comes_from_the_kernel_command_line() -> None:
    assert running_slot(kernel_cmdline("a")) == "a"
    assert running_slot(f"initrd=x root=PARTUUID={ROOT_B.uuid.upper()} rw") == "b"
    assert running_slot("root=/dev/sda1 rw") is None
    assert other_slot("a") == "b" and other_slot("b") == "a"


def test_a_boot_entry_names_its_generation_and_slot() -> None:
    entry = entry_text(7, "a")
    assert "version 0007" in entry and "/transom/0007/vmlinuz" in entry
    assert f"root=PARTUUID={ROOT_A.uuid.lower()}" in entry and " rw " in entry


def test_the_enrolment_file_needs_both_cloud_and_token(tmp_path: Path) -> None:
    assert enrolment_text(BuildOptions(out=tmp_path)) is None
    text = enrolment_text(BuildOptions(out=tmp_path, cloud="https://c.example", enrolment_token="enr-x.y"))
    assert text is not None and "cloud = https://c.example" in text and "token = enr-x.y" in text
    try:
        enrolment_text(BuildOptions(out=tmp_path, cloud="https://c.example"))
    except ImageBuildFailed as exc:
        assert "go together" in str(exc)
    else:
        raise AssertionError("a cloud without a token was accepted")


def test_build_refuses_an_architecture_it_cannot_make(tmp_path: Path) -> None:
    done = subprocess.run(
        [*TRANSOM, "image", "build", "--out", str(tmp_path / "out"), "--arch", "arm64"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "amd64 only" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_update_refuses_a_file_that_is_not_a_bundle_and_a_machine_that_is_not_a_node(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar file")
    done = subprocess.run(
        [*TRANSOM, "image", "update", str(junk)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "not a Transom update bundle" in done.stderr
    assert "Traceback" not in done.stderr

    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"build_id": "b1", "version": "0.1.0", "root_size": 1}')
    bundle = tmp_path / "bundle.tar"
    with tarfile.open(bundle, "w") as tar:
        tar.add(manifest, "manifest.json")
    done = subprocess.run(
        [*TRANSOM, "image", "update", str(bundle)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "did not boot from a Transom root slot" in done.stderr
