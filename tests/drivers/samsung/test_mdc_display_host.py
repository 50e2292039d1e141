"""The Samsung MDC driver in a real driver host process against the MDC simulator."""

from __future__ import annotations

import pytest

from drivers.sdk import CommandTimeoutError, DeviceError, TransportError
from drivers.simulators import samsung_mdc
from tests.drivers.pjlink.hosted import MODULE_ID, hosted_module
from tests.drivers.simulators.wire import wait_for

# The simulator tests' subclass: short timeouts and a quick poll.
DRIVER = "tests.drivers.samsung.test_mdc_display_simulator:Display"


async def test_through_a_host_process() -> None:
    sim = samsung_mdc.SamsungDisplay(display_id=1)
    async with hosted_module(DRIVER, sim, settings={"display_id": 1}) as (host, status):
        await status.wait("input", "hdmi1")
        # normal replies
        assert await host.execute(MODULE_ID, "volume", [55]) is None
        assert sim.volume == 55
        assert await host.execute(MODULE_ID, "query_status") == {
            "power": True, "volume": 55, "mute": False, "input": "hdmi1",
        }  # fmt: skip
        # a device error reply (NAK while off)
        await host.execute(MODULE_ID, "power", [False])
        with pytest.raises(DeviceError, match="NAK, error code 0x01"):
            await host.execute(MODULE_ID, "switch_to", ["hdmi2"])
        await host.execute(MODULE_ID, "power", [True])
        # a timeout
        sim.faults.set("silent")
        with pytest.raises(CommandTimeoutError):
            await host.execute(MODULE_ID, "query_volume")
        sim.faults.clear()
        # garbage bytes
        sim.faults.set("garbage")
        with pytest.raises((CommandTimeoutError, DeviceError)):
            await host.execute(MODULE_ID, "query_volume")
        sim.faults.clear()
        # disconnect and reconnect
        sim.drop_next()
        with pytest.raises(TransportError):
            await host.execute(MODULE_ID, "query_volume")
        await wait_for(lambda: sim.connections == 2)
        await status.wait("connected", True)  # status batches coalesce: False may never show
        sim.volume = 9  # changed at the display: the poll finds it
        await status.wait("volume", 9)
        await host.execute(MODULE_ID, "switch_to", ["hdmi2"])
        assert sim.input == 0x23 and host.alive
