"""The edge image as a site meets it: build, boot under qemu, enrol, run a device, reboot offline, update.

One long test (phases in order, each needing the last), because every boot under software
emulation costs minutes. From the host, through qemu's port forward on 127.0.0.1:

    build     `transom image build --cloud http://10.0.2.2:PORT --enrolment-token T --allow-http`
              (and later a second build: the update)
    boot 1    first boot makes slot b and the data partition, enrols (the cloud lists the
              node), syncs the site; the node's local API runs the PJLink module against the
              simulator on the host (10.0.2.2 is qemu's way to the host's loopback)
    token     the spent token is refused with its message
    boot 2    cloud stopped: the node comes back with the same id and its replica, offline,
              and still drives the projector
    boot 3    a USB stick (TRANSOM-UPD) with the update bundle: the node writes slot b, reboots
              into it, and comes up with the same id and data (its banner says slot b)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from cli.demo.seed import PREFIX, CloudApi, driver_document, login
from image.disk import make_update_media
from image.qemu import Machine, kvm_usable
from sync.enrolment import ENROL_PATH
from tests.e2e.harness import ADMIN_PASSWORD, TRANSOM, Proc, free_port, start_cloud, wait_until

# Building and booting the image under qemu without KVM takes 20-35 minutes on 2 cores, more
# than the rest of the suite together, and it has failed once on a loaded machine (a driver
# host missed its start deadline): until it is made robust it runs when asked, not in CI.
RUN_IMAGE_TESTS = os.environ.get("TRANSOM_IMAGE_TESTS") == "1"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(5400),
    pytest.mark.skipif(
        not RUN_IMAGE_TESTS,
        reason="builds and boots the edge image under qemu (20-35 min without KVM); "
        "set TRANSOM_IMAGE_TESTS=1 to run it",
    ),
]

TOOLS = ("debootstrap", "qemu-system-x86_64", "mkfs.ext4", "mkfs.vfat", "mcopy", "sfdisk", "zstd")
PJLINK = "drivers.pjlink.projector:PJLinkProjector"
# Minutes a boot may take under software emulation on a loaded 2-core machine (KVM: far less).
BOOT_SECONDS = 1200.0


def _require_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None] + (
        [] if Path("/usr/share/OVMF/OVMF_CODE_4M.fd").exists() else ["ovmf"]
    )
    why = f"needs root and {missing or 'the image tools'} (`make image-debs`)"
    if os.geteuid() != 0 or missing:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


def _api(url: str) -> CloudApi:
    return CloudApi(url, {"Authorization": f"Bearer {login(url, 'admin', ADMIN_PASSWORD)}"})


def _seed(url: str, edge_id: str, sim_port: int) -> dict[str, str]:
    """A PJLink projector on the node's edge, at the host's simulator; an admin key for the local API."""
    api = _api(url)
    try:
        driver = api.call("POST", "/drivers", driver_document(PJLINK))
        module = api.call(
            "POST",
            "/modules",
            {
                "driver_id": driver["id"],
                "ip": "10.0.2.2",
                "port": sim_port,
                "edge_id": edge_id,
                "running": True,
            },
        )
        system = api.call("POST", "/systems", {"name": "Boardroom", "modules": [module["id"]]})
        admin = api.call("GET", "/users/current")
        key = api.call(
            "POST",
            "/api_keys",
            {"name": "local api", "user_id": admin["id"], "permissions": "admin", "scopes": ["public"]},
        )
        return {"system": system["id"], "module": module["id"], "key": key["x_api_key"]}
    finally:
        api.close()


async def _get(url: str, headers: dict[str, str] | None = None) -> httpx.Response | None:
    try:
        async with httpx.AsyncClient(timeout=20) as client:
            return await client.get(url, headers=headers)
    except httpx.HTTPError:
        return None


async def _health(node: str, key: str) -> dict[str, Any] | None:
    """The node's health report, once its local API answers and knows the key (synced from the cloud)."""
    found = await _get(f"{node}{PREFIX}/edge/health", {"X-API-Key": key})
    return found.json() if found is not None and found.status_code == 200 else None


async def _drive_projector(node: str, seeded: dict[str, str], power: bool) -> None:
    """Exec power(power) on the node's local API; wait until the projector (simulator) reports it."""
    headers = {"X-API-Key": seeded["key"]}
    base = f"{node}{PREFIX}/systems/{seeded['system']}/Display_1"

    async def answered() -> bool:
        try:
            async with httpx.AsyncClient(timeout=60) as client:
                done = await client.post(f"{base}/power", json=[power], headers=headers)
                return done.status_code == 200
        except httpx.HTTPError:
            return False

    await wait_until(answered, seconds=BOOT_SECONDS, what=f"exec power({power}) on the node")

    async def reported() -> bool:
        found = await _get(f"{base}/power", headers)
        return found is not None and found.status_code == 200 and found.json() is power

    await wait_until(reported, seconds=300, what=f"the projector reporting power={power}")


def _build(out: Path, options: list[str]) -> None:
    done = subprocess.run(
        [*TRANSOM, "image", "build", "--out", str(out), "--no-compress", *options],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    log = (out / "build.log").read_text()[-3000:] if (out / "build.log").exists() else ""
    assert done.returncode == 0, done.stdout + done.stderr + log


def _banner(vm: Machine) -> str:
    """The last banner the node printed on its serial console."""
    blocks = vm.console().split("TRANSOM-BANNER")
    return blocks[-1] if len(blocks) > 1 else ""


async def test_image_builds_boots_enrols_runs_offline_and_updates(tmp_path: Path) -> None:
    _require_tools()
    started = time.monotonic()
    cloud_port, sim_port, api_port = free_port(), free_port(), free_port()
    cloud_url = f"http://127.0.0.1:{cloud_port}"
    cloud = await start_cloud(tmp_path / "cloud", cloud_port, tmp_path)
    sim = await Proc.start(
        "pjlink simulator",
        [*TRANSOM, "simulate", "pjlink", "--port", str(sim_port), "--host", "127.0.0.1"],
        tmp_path / "sim.log",
    )
    api = await trio.to_thread.run_sync(_api, cloud_url)
    issued = await trio.to_thread.run_sync(
        lambda: api.call("POST", "/enrolment_tokens", {"site": "Test site", "expires": "2h", "uses": 1})
    )
    api.close()
    edge_id, token = issued["edge_id"], issued["token"]
    seeded = await trio.to_thread.run_sync(_seed, cloud_url, edge_id, sim_port)

    out = tmp_path / "out"
    await trio.to_thread.run_sync(
        _build, out, ["--allow-http", "--cloud", f"http://10.0.2.2:{cloud_port}", "--enrolment-token", token]
    )
    image = out / "transom-edge.raw"
    assert image.stat().st_size < 1024**3

    vm = Machine(image, tmp_path / "vm", api_port=api_port)
    node = f"http://127.0.0.1:{api_port}"
    try:
        # Boot 1: first boot, enrolment, sync, a device driven through the local API.
        vm.start()
        health = await wait_until(
            lambda: _health(node, seeded["key"]), seconds=BOOT_SECONDS, what="the node's local API"
        )
        node_id = health["node_id"]
        api = await trio.to_thread.run_sync(_api, cloud_url)
        listed = await trio.to_thread.run_sync(lambda: api.call("GET", f"/edges/{edge_id}/nodes"))
        assert [n["node_id"] for n in listed["nodes"]] == [node_id], listed
        assert listed["pending"] == []  # its one use is spent
        await _drive_projector(node, seeded, True)
        assert "enrolled" in _banner(vm) and node_id in _banner(vm)

        # The spent token is refused, saying why.
        async with httpx.AsyncClient() as client:
            again = await client.post(
                cloud_url + ENROL_PATH,
                json={"token": token, "node_id": "node-x", "public_key": "A" * 44, "signature": "A" * 88},
            )
        assert again.status_code in (400, 403) and again.json()["error"] in (
            "token_used",
            "signature_invalid",
        )

        # Boot 2: the cloud is gone; the node keeps its id, credentials and replica, and runs.
        assert vm.power_off(), "the guest did not shut down on the power button"
        await cloud.stop()
        vm.start()
        health = await wait_until(
            lambda: _health(node, seeded["key"]), seconds=BOOT_SECONDS, what="the local API after reboot"
        )
        assert health["node_id"] == node_id
        await _drive_projector(node, seeded, False)

        # Boot 3: a newer build, on a TRANSOM-UPD stick: slot b, same node, same data.
        cloud = await start_cloud(tmp_path / "cloud", cloud_port, tmp_path)
        assert vm.power_off()
        newer = tmp_path / "newer"
        await trio.to_thread.run_sync(_build, newer, [])
        media = tmp_path / "update-media.img"
        await trio.to_thread.run_sync(
            make_update_media, newer / "transom-update.tar", media, tmp_path / "media.log"
        )
        vm.start(extra_drive=media)
        await wait_until(
            lambda: re.search(r"slot b", _banner(vm)) and "update applied" in vm.console(),
            seconds=BOOT_SECONDS * 2,
            what="the node running the update from slot b",
        )
        health = await wait_until(
            lambda: _health(node, seeded["key"]), seconds=BOOT_SECONDS, what="the local API after the update"
        )
        assert health["node_id"] == node_id
        await _drive_projector(node, seeded, True)
    finally:
        vm.kill()
        await sim.stop()
        await cloud.stop()
    print(f"image boot test: {time.monotonic() - started:.0f} s wall, kvm={kvm_usable()}")
