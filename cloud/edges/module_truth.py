"""What a module record shows of the site: connected, errors and state, from what its edge reports.

A module's document holds what people configured (`running` is the wish that start and stop
set, as in PlaceOS). What the site observes comes up the link as each module's runtime state
(`edge/module_state.py`: state, running, connected, last error) and is laid over the document
when it is shown, so `GET /modules` never says `connected: true` for a device nobody reaches:

    edge_id empty            connected false, site_state "unassigned": nothing runs it
    edge offline             connected false, site_state "unknown" (the last report kept beside)
    edge online, no report   connected false, site_state "stopped" or "unknown"
    edge online, reported    connected as reported (a logic module: while it runs, as PlaceOS
                             counts logic connectionless); has_runtime_error for a module that
                             failed, is restarting, crash-looping or was rejected by the site,
                             with runtime_error, a short message (never a traceback)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Reported states in which the module is not doing its job because something went wrong
# (edge/module_state.py ERROR_STATES; the cloud cannot import the edge, so named again here).
ERROR_STATES = frozenset({"failed", "restarting", "crash_loop", "rejected"})
NO_EDGE = "no edge runs this module: give it an edge_id"


def module_truth(
    module: Mapping[str, Any], *, edge_online: bool, runtime: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The fields to lay over a module document (see the module docstring).

    Args:
        module: the stored module document.
        edge_online: whether any node of its edge is linked now.
        runtime: the last runtime state its edge reported (with `reported_at`), or None.
    """
    if not module.get("edge_id"):
        return {
            "connected": False,
            "has_runtime_error": False,
            "runtime_error": None,
            "last_error": None,
            "site_state": {"state": "unassigned", "running": False, "message": NO_EDGE},
            "warnings": [NO_EDGE],
        }
    last = dict(runtime) if runtime else None
    if not edge_online:
        return {
            "connected": False,
            "has_runtime_error": bool(last and last.get("state") in ERROR_STATES),
            "runtime_error": _error(last),
            "last_error": (last or {}).get("last_error"),
            "site_state": {
                "state": "unknown",
                "running": None,
                "message": f"its edge {module['edge_id']!r} is offline",
                "last_reported": last,
            },
        }
    if last is None:
        state = "unknown" if module.get("running") else "stopped"
        return {
            "connected": False,
            "has_runtime_error": False,
            "runtime_error": None,
            "last_error": None,
            "site_state": {"state": state, "running": False},
        }
    state = str(last.get("state") or "unknown")
    running = bool(last.get("running"))
    if state in ("stopped", "rejected"):
        connected = False
    elif str(module.get("role")) == "logic":
        connected = running and state not in ERROR_STATES
    else:
        connected = bool(last.get("connected"))
    return {
        "connected": connected,
        "has_runtime_error": state in ERROR_STATES,
        "runtime_error": _error(last),
        "last_error": last.get("last_error"),
        "site_state": {
            "state": state,
            "running": running,
            "node_id": last.get("node_id"),
            "reported_at": last.get("reported_at"),
            "restarts": last.get("restarts", 0),
        },
    }


def _error(runtime: Mapping[str, Any] | None) -> str | None:
    if not runtime or runtime.get("state") not in ERROR_STATES:
        return None
    return str(runtime.get("last_error") or runtime.get("state"))
