"""The Hue bridge driver in a real driver host process against the Hue simulator."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from drivers.sdk import CommandTimeoutError, DeviceError, NotConnectedError, TransportError
from drivers.simulators import hue
from edge.hosts.client import HostProcess
from tests.drivers.pjlink.hosted import MODULE_ID, hosted_module

# The simulator tests' subclass: short timeouts and a quick poll.
DRIVER = "tests.drivers.hue.test_hue_bridge_simulator:Bridge"
# Bounds waiting for the module to reconnect: the host's backoff starts at 1 s and doubles.
RECONNECT_WAIT = 10.0


async def answered(host: HostProcess, method: str, *args: Any) -> Any:
    """Call `method` until it gets past "not connected" (the module is reconnecting)."""
    with trio.fail_after(RECONNECT_WAIT):
        while True:
            try:
                return await host.execute(MODULE_ID, method, list(args))
            except NotConnectedError:
                await trio.sleep(0.05)


async def test_through_a_host_process() -> None:
    sim = hue.HueBridge(lights=2)
    async with hosted_module(DRIVER, sim, settings={"username": sim.add_user()}) as (host, status):
        await status.wait("authenticated", True)
        assert set(status.status["lights"]) == {"1", "2"}
        # normal replies
        assert await host.execute(MODULE_ID, "brightness", ["1", 50]) is None
        assert sim.lights["1"].state.on and sim.lights["1"].state.bri == 127
        await status.wait("power", True)
        assert await host.execute(MODULE_ID, "lighting_level", ["1"]) == 50.0
        # device error replies, with the bridge's description
        with pytest.raises(DeviceError, match="resource, /lights/9/state, not available"):
            await host.execute(MODULE_ID, "light_power", ["9", True])
        # a timeout
        sim.faults.set("silent")
        with pytest.raises(CommandTimeoutError):
            await host.execute(MODULE_ID, "lights")
        sim.faults.clear()
        # garbage bytes in place of the HTTP response
        sim.faults.set("garbage")
        with pytest.raises((TransportError, DeviceError, CommandTimeoutError)):
            await host.execute(MODULE_ID, "lights")
        sim.faults.clear()
        assert await answered(host, "lights")  # once the module has reconnected (if it dropped)
        # disconnect and reconnect
        connections = sim.connections
        sim.faults.set("drop")
        with pytest.raises(TransportError):
            await host.execute(MODULE_ID, "lights")
        sim.faults.clear()
        # the module drops its connection and reconnects after the backoff (1 s)
        assert await answered(host, "lights")
        assert sim.connections > connections
        sim.lights["2"].state.on = True
        await host.execute(MODULE_ID, "power", [False])
        assert not any(light.state.on for light in sim.lights.values())
        await status.wait("power", False)
        assert host.alive
