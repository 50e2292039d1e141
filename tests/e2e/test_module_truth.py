"""What the cloud shows of a site's modules is what the site reports (issue 13, findings 1-3).

Real processes: `transom cloud run` and `transom edge run --cloud`; devices are protocol
simulators in the test process. The cloud is given a driver package the edge is not (as when
a site was not given a package the cloud has): the cloud accepts the driver, the edge cannot
load it. Checked, in order:

1. the edge sets that driver and its module aside, and a valid module created afterwards still
   reaches the site; the module shows the error and `GET /edges/{id}` names both records;
2. a device whose simulator stops shows `connected: false`; a crash-looping module shows
   `has_runtime_error` with a short message; a module with no edge_id is flagged as run by
   nothing; once the edge goes offline its modules are not shown connected;
3. a device's refusal is a 409 with its reason; stop stops the module at the site (an exec
   then fails as PlaceOS's "not running"), start starts it again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from cli.demo.seed import PREFIX
from drivers.simulators.extron_sis import ExtronMatrix
from drivers.simulators.pjlink import ON, WARMING, PJLinkProjector
from drivers.simulators.samsung_mdc import SamsungDisplay
from tests.e2e.harness import free_port, seed, start_cloud, start_node, wait_until

pytestmark = pytest.mark.slow

CLOUD_ONLY_PACKAGE = '''"""A driver package installed beside the cloud only."""

from drivers.sdk import Driver


class AcmeDisplay(Driver):
    descriptive_name = "Acme display"
    generic_name = "Display"
    default_port = 4352

    async def power(self, state: bool) -> bool:
        return state
'''


async def _get(api: httpx.AsyncClient, path: str) -> Any:
    try:
        answer = await api.get(path)
    except httpx.HTTPError:
        return None
    return answer.json() if answer.status_code == 200 else None


async def _module(api: httpx.AsyncClient, module_id: str) -> dict[str, Any]:
    shown = await _get(api, f"/modules/{module_id}")
    assert isinstance(shown, dict), f"GET /modules/{module_id} failed"
    return shown


async def test_the_cloud_shows_the_sites_truth_and_start_stop_reach_the_site(tmp_path: Path) -> None:
    packages = tmp_path / "cloud-packages" / "acme_display_cloud_only"
    packages.mkdir(parents=True)
    (packages / "__init__.py").write_text(CLOUD_ONLY_PACKAGE)
    spare = PJLinkProjector(warmup_seconds=0.2, cooldown_seconds=0.2)
    simulators = {
        "room1-display": PJLinkProjector(warmup_seconds=0.2, cooldown_seconds=0.2),
        "room1-switcher": ExtronMatrix(),
        "room2-display": SamsungDisplay(),
    }
    async with trio.open_nursery() as nursery:
        ports = {key: await nursery.start(sim.serve, 0) for key, sim in simulators.items()}
        spare_scope = trio.CancelScope()

        async def serve_spare(task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
            with spare_scope:
                await spare.serve(0, task_status=task_status)

        spare_port = await nursery.start(serve_spare)
        port = free_port()
        cloud_url = f"http://127.0.0.1:{port}"
        cloud = await start_cloud(
            tmp_path / "cloud", port, tmp_path, env={"PYTHONPATH": str(packages.parent)}
        )
        site = await seed(cloud_url, ports)
        node, _ = await start_node(tmp_path / "node", cloud_url, site.edge_key, tmp_path / "node.log")
        api = httpx.AsyncClient(base_url=cloud_url + PREFIX, headers={"x-api-key": site.api_key}, timeout=30)
        async with api:
            pjlink_driver = (await _module(api, site.modules["room1-display"]))["driver_id"]
            room1 = site.systems["Demo Room 1"]

            # 1. A driver only the cloud has: accepted there, set aside at the site, alone.
            acme = await api.post(
                "/drivers", json={"name": "Acme", "file_name": "acme_display_cloud_only:AcmeDisplay"}
            )
            assert acme.status_code == 201, acme.text
            bad = await api.post(
                "/modules",
                json={
                    "driver_id": acme.json()["id"],
                    "ip": "127.0.0.1",
                    "port": 4352,
                    "edge_id": site.edge_id,
                },
            )
            assert bad.status_code == 201, bad.text
            bad_id = bad.json()["id"]
            later = await api.post(
                "/modules",
                json={
                    "driver_id": pjlink_driver,
                    "ip": "127.0.0.1",
                    "port": spare_port,
                    "edge_id": site.edge_id,
                },
            )
            assert later.status_code == 201, later.text
            later_id = later.json()["id"]
            assert later.json()["running"] is True  # a new module runs unless told otherwise

            async def later_connected() -> bool:
                return (await _module(api, later_id))["connected"] is True

            await wait_until(later_connected, seconds=60, what="the later module connected", proc=node)

            async def bad_flagged() -> dict[str, Any] | None:
                shown = await _module(api, bad_id)
                return shown if shown["has_runtime_error"] else None

            shown = await wait_until(bad_flagged, seconds=30, what="the bad module's error", proc=node)
            assert shown["connected"] is False
            assert shown["site_state"]["state"] == "rejected"
            assert "acme_display_cloud_only" in shown["runtime_error"]

            async def rejected_in_sync_health() -> dict[str, str] | None:
                edge = await _get(api, f"/edges/{site.edge_id}")
                reasons = {record["id"]: record["reason"] for record in edge["sync"]["rejected"]}
                return reasons if bad_id in reasons else None

            reasons = await wait_until(rejected_in_sync_health, seconds=30, what="sync health's rejected")
            assert "no importable module 'acme_display_cloud_only'" in reasons[acme.json()["id"]]
            assert "was rejected" in reasons[bad_id]

            # 2. connected follows the device; a crash loop is an error; no edge is flagged.
            spare_scope.cancel()

            async def later_disconnected() -> bool:
                return (await _module(api, later_id))["connected"] is False

            await wait_until(later_disconnected, seconds=60, what="connected false after the device went")
            disconnected = await _get(api, "/modules?connected=false")
            connected = await _get(api, "/modules?connected=true")
            assert later_id in {m["id"] for m in disconnected} and bad_id in {m["id"] for m in disconnected}
            assert site.modules["room2-display"] in {m["id"] for m in connected}
            assert later_id not in {m["id"] for m in connected}
            doomed_driver = await api.post(
                "/drivers", json={"name": "Doomed", "file_name": "tests.edge.sample_drivers:Doomed"}
            )
            assert doomed_driver.status_code == 201, doomed_driver.text
            doomed = await api.post(
                "/modules",
                json={
                    "driver_id": doomed_driver.json()["id"],
                    "control_system_id": room1,
                    "edge_id": site.edge_id,
                },
            )
            assert doomed.status_code == 201, doomed.text

            async def doomed_flagged() -> dict[str, Any] | None:
                shown = await _module(api, doomed.json()["id"])
                return shown if shown["has_runtime_error"] else None

            shown = await wait_until(doomed_flagged, seconds=60, what="the crash loop shown", proc=node)
            assert shown["connected"] is False
            assert shown["site_state"]["state"] in ("failed", "restarting", "crash_loop")
            assert "status 3" in shown["runtime_error"]  # the host exited with status 3
            assert "Traceback" not in shown["runtime_error"] and "\n" not in shown["runtime_error"]
            nowhere = await api.post(
                "/modules", json={"driver_id": pjlink_driver, "ip": "127.0.0.1", "port": 4352}
            )
            assert nowhere.status_code == 201, nowhere.text
            assert nowhere.json()["connected"] is False
            assert nowhere.json()["site_state"]["state"] == "unassigned"
            assert nowhere.json()["warnings"]

            # 3. stop and start reach the site.
            display = site.modules["room1-display"]

            async def display_connected() -> bool:
                return (await _module(api, display))["connected"] is True

            await wait_until(display_connected, seconds=60, what="Display_1 connected", proc=node)
            # A device's refusal is the device's answer, not the platform failing: a 4xx with its
            # one-line reason (PJLink answers ERR3 for the input while in standby).
            refused_by_device = await api.post(f"/systems/{room1}/Display_1/query_input", json=[])
            assert refused_by_device.status_code == 409, refused_by_device.text
            assert "ERR3" in refused_by_device.json()["message"]
            assert "Traceback" not in refused_by_device.text
            assert (await _module(api, display))["has_runtime_error"] is False
            power = f"/systems/{room1}/Display_1/power"
            assert (await api.post(power, json=[True])).status_code == 200
            stopped = await api.post(f"/modules/{display}/stop")
            assert stopped.status_code == 200, stopped.text
            assert stopped.json()["running"] is False

            async def site_running(wanted: bool) -> bool:
                return (await _module(api, display))["site_state"]["running"] is wanted

            # The answer waits (up to 10 s) for the site's report; a loaded machine may take longer.
            await wait_until(lambda: site_running(False), seconds=60, what="the site stopped it", proc=node)
            refused = await api.post(power, json=[False])
            assert refused.status_code == 503, refused.text
            assert "not running" in refused.json()["message"]
            projector = simulators["room1-display"]
            assert isinstance(projector, PJLinkProjector) and projector.power in (WARMING, ON)  # not run
            started = await api.post(f"/modules/{display}/start")
            assert started.status_code == 200, started.text
            await wait_until(lambda: site_running(True), seconds=60, what="the site started it", proc=node)
            await wait_until(display_connected, seconds=60, what="Display_1 connected again", proc=node)

            async def powered_off() -> bool:
                # A projector still warming up refuses (PJLink ERR3: 409, the device refused).
                reply = await api.post(power, json=[False])
                assert reply.status_code in (200, 409), reply.text
                return reply.status_code == 200

            await wait_until(powered_off, seconds=60, what="Display_1 to accept power off", proc=node)

            # The edge goes away: its modules are not shown connected any more.
            assert await node.stop() == 0

            async def display_unknown() -> dict[str, Any] | None:
                shown = await _module(api, display)
                return shown if shown["site_state"]["state"] == "unknown" else None

            shown = await wait_until(display_unknown, seconds=60, what="the module shown unknown")
            assert shown["connected"] is False
            state = await _get(api, f"/systems/{room1}/Display_1/connected")
            assert state in (False, "false")
        assert await cloud.stop() == 0
        nursery.cancel_scope.cancel()
