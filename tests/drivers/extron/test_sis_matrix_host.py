"""The Extron SIS matrix driver in a real driver host process against the Extron simulator."""

from __future__ import annotations

import pytest

from drivers.sdk import CommandTimeoutError, DeviceError, TransportError
from drivers.simulators import extron_sis
from tests.drivers.pjlink.hosted import MODULE_ID, hosted_module
from tests.drivers.simulators.wire import wait_for

# The simulator tests' subclass: short timeouts and a quick poll.
DRIVER = "tests.drivers.extron.test_sis_matrix_simulator:Matrix"


async def test_through_a_host_process() -> None:
    sim = extron_sis.ExtronMatrix(password="extron")
    async with hosted_module(DRIVER, sim, settings={"password": "extron"}) as (host, status):
        await status.wait("audio_output_8", 0)
        assert status.status["login"] == "Administrator" and status.status["verbose_mode"] == 3
        # normal replies
        assert await host.execute(MODULE_ID, "switch", [{"3": [2, 4]}]) is None
        assert sim.video[2] == sim.audio[4] == 3
        await status.wait("video_output_4", 3)
        assert await host.execute(MODULE_ID, "read_tie", [2, "audio"]) == 3
        # a device error reply
        with pytest.raises(DeviceError, match="E01"):
            await host.execute(MODULE_ID, "switch_to", [9, 1])
        # a tie made at the front panel
        await sim.front_panel_tie(6, 1)
        await status.wait("video_output_1", 6)
        # a timeout
        sim.faults.set("silent")
        with pytest.raises(CommandTimeoutError):
            await host.execute(MODULE_ID, "switch_to", [1, 1])
        sim.faults.clear()
        # garbage bytes
        sim.faults.set("garbage")
        with pytest.raises((CommandTimeoutError, DeviceError)):
            await host.execute(MODULE_ID, "read_tie", [1])
        sim.faults.clear()
        await host.execute(MODULE_ID, "switch_to", [7, 1])  # a tie reply is found even after junk
        assert await host.execute(MODULE_ID, "read_tie", [1]) == 7
        # disconnect and reconnect
        sim.drop_next()
        with pytest.raises(TransportError):
            await host.execute(MODULE_ID, "read_tie", [1])
        await wait_for(lambda: sim.connections == 2)
        await status.wait("connected", True)  # status batches coalesce: False may never show
        await status.wait("verbose_mode", 3)
        sim.video[5] = 8  # no notice: the poll on the new connection finds it
        await status.wait("video_output_5", 8)
        assert await host.execute(MODULE_ID, "switch_to", [2, 5]) is None
        assert sim.video[5] == 2 and host.alive
