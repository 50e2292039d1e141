"""The PJLink driver in a real driver host process against the PJLink simulator."""

from __future__ import annotations

import pytest

from drivers.sdk import CommandTimeoutError, DeviceError, TransportError
from drivers.simulators import pjlink
from tests.drivers.pjlink.hosted import MODULE_ID, hosted_module
from tests.drivers.simulators.wire import wait_for

# The simulator tests' subclass: short timeouts and a quick poll.
DRIVER = "tests.drivers.pjlink.test_projector_simulator:Projector"


async def test_through_a_host_process() -> None:
    sim = pjlink.PJLinkProjector(password="secret", warmup_seconds=0)
    async with hosted_module(DRIVER, sim, settings={"password": "secret"}) as (host, status):
        await status.wait("lamp_hours", 1200)
        assert status.status["authentication"] == "required" and status.status["name"] == "Transom PJLink"
        # normal replies
        assert await host.execute(MODULE_ID, "power", [True]) is None
        await status.wait("power", True)
        assert await host.execute(MODULE_ID, "query_input") == "rgb1"
        # a device error reply
        with pytest.raises(DeviceError, match="ERR2"):
            await host.execute(MODULE_ID, "switch_to", ["video9"])
        # a timeout
        sim.faults.set("silent")
        with pytest.raises(CommandTimeoutError):
            await host.execute(MODULE_ID, "query_power")
        sim.faults.clear()
        # garbage bytes
        sim.faults.set("garbage")
        with pytest.raises((CommandTimeoutError, DeviceError)):
            await host.execute(MODULE_ID, "query_power")
        sim.faults.clear()
        assert await host.execute(MODULE_ID, "query_power") == "on"
        # disconnect and reconnect
        sim.drop_next()
        with pytest.raises(TransportError):
            await host.execute(MODULE_ID, "query_power")
        await wait_for(lambda: sim.connections == 2)
        await status.wait("connected", True)  # status batches coalesce: False may never show
        sim.set_power(False)
        await status.wait("power", False)  # the poll on the new connection
        assert await host.execute(MODULE_ID, "query_power") == "off"
        assert sim.connections == 2 and host.alive
