"""A module record's site fields come from what its edge reports (cloud/edges/module_truth.py)."""

from __future__ import annotations

from typing import Any

from cloud.edges.module_truth import NO_EDGE, module_truth

DEVICE: dict[str, Any] = {"id": "mod-a", "role": "device", "edge_id": "edge-a", "running": True}
LOGIC: dict[str, Any] = {"id": "mod-l", "role": "logic", "edge_id": "edge-a", "running": True}


def test_no_edge_is_run_by_nothing() -> None:
    shown = module_truth({**DEVICE, "edge_id": None}, edge_online=False, runtime=None)
    assert shown["connected"] is False and shown["site_state"]["state"] == "unassigned"
    assert shown["warnings"] == [NO_EDGE]


def test_an_offline_edge_makes_its_modules_unknown_not_connected() -> None:
    last = {"state": "running", "running": True, "connected": True}
    shown = module_truth(DEVICE, edge_online=False, runtime=last)
    assert shown["connected"] is False and shown["site_state"]["state"] == "unknown"
    assert shown["site_state"]["last_reported"] == last


def test_connected_is_the_devices_and_a_crash_loop_is_an_error() -> None:
    down = {"state": "running", "running": True, "connected": False, "last_error": None}
    assert module_truth(DEVICE, edge_online=True, runtime=down)["connected"] is False
    looping = {
        "state": "crash_loop",
        "running": False,
        "connected": False,
        "last_error": "exited with status 3",
    }
    shown = module_truth(DEVICE, edge_online=True, runtime=looping)
    assert shown["has_runtime_error"] is True and shown["runtime_error"] == "exited with status 3"
    up = {"state": "running", "running": True, "connected": False}
    assert module_truth(LOGIC, edge_online=True, runtime=up)["connected"] is True  # connectionless


def test_a_stopped_or_unreported_module_is_not_connected() -> None:
    stopped = {"state": "stopped", "running": False, "connected": True}
    shown = module_truth({**DEVICE, "running": False}, edge_online=True, runtime=stopped)
    assert shown["connected"] is False and shown["site_state"]["running"] is False
    assert module_truth(DEVICE, edge_online=True, runtime=None)["site_state"]["state"] == "unknown"
