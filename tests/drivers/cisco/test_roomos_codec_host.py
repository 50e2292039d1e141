"""The RoomOS codec driver in a real driver host process against the asyncssh codec simulator."""

from __future__ import annotations

import pytest

from drivers.sdk import CommandTimeoutError, DeviceError, TransportError
from drivers.simulators.cisco_roomos_ssh import CiscoCodecSSH
from tests.drivers.cisco.test_roomos_codec_ssh import PASSWORD, ssh_settings
from tests.drivers.pjlink.hosted import MODULE_ID, hosted_module
from tests.drivers.simulators.wire import wait_for

# The harness tests' subclass: short timeouts, a quick poll, no heartbeat.
DRIVER = "tests.drivers.cisco.test_roomos_codec_ssh:QuietCodec"


async def test_through_a_host_process() -> None:
    sim = CiscoCodecSSH(password=PASSWORD)
    async with hosted_module(DRIVER, sim, settings=ssh_settings()) as (host, status):
        await status.wait("session", "ready")
        await status.wait("in_call", False)
        # normal replies
        assert await host.execute(MODULE_ID, "dial", ["alice@example.com"]) == {
            "call_id": 1,
            "conference_id": 1,
        }
        await status.wait("in_call", True)
        await host.execute(MODULE_ID, "volume", [35])
        assert sim.state.volume == 35
        # feedback pushed by the codec
        await sim.set_standby("Standby")
        await status.wait("standby", True)
        # a device error reply
        with pytest.raises(DeviceError, match="No active call"):
            await host.execute(MODULE_ID, "disconnect_call", [9])
        # a timeout
        sim.faults.set("silent")
        with pytest.raises(CommandTimeoutError):
            await host.execute(MODULE_ID, "query_volume")
        sim.faults.clear()
        # garbage bytes instead of a reply, then before one
        sim.faults.set("garbage")
        with pytest.raises(CommandTimeoutError):
            await host.execute(MODULE_ID, "query_volume")
        sim.faults.garbage_mode = "before"
        assert await host.execute(MODULE_ID, "query_volume") == 35
        sim.faults.clear()
        # disconnect and reconnect
        sim.drop_next()
        with pytest.raises(TransportError):
            await host.execute(MODULE_ID, "query_standby")
        await wait_for(lambda: sim.connections == 2)
        await status.wait("session", "ready")
        await sim.set_volume(12)
        await status.wait("volume", 12)  # feedback on the new session
        assert await host.execute(MODULE_ID, "query_volume") == 12 and host.alive
