"""The room logic driver in a real driver host process, reaching device modules through the node's directory.

The projector, display and switcher modules run here against their simulators (in a
LocalDirectory); the room module runs in `python -m edge.hosts.process`, and its
`self.system` calls and status subscriptions cross the host protocol to that directory.
"""

from __future__ import annotations

import pytest
import trio

from drivers.sdk import CommandTimeoutError, DeviceError, ModuleConfig
from drivers.simulators import pjlink
from edge.hosts.client import open_host_process
from tests.drivers.logic.test_meeting_room import SETTINGS, meeting_room
from tests.drivers.pjlink.hosted import MODULE_ID, StatusRecorder
from tests.drivers.simulators.wire import wait_for

DRIVER = "drivers.logic.meeting_room:MeetingRoom"


async def test_through_a_host_process() -> None:
    recorder = StatusRecorder()
    async with (
        meeting_room(room=False) as system,
        open_host_process(DRIVER, on_status=recorder.on_status, directory=system.directory) as host,
    ):
        config = ModuleConfig(id=MODULE_ID, system_id="sys-test", name="Room", settings=dict(SETTINGS))
        await host.start_module(config)
        await recorder.wait("devices", {"Projector_1": False, "Display_1": False})
        # normal replies: the room on, through the other modules
        assert await host.execute(MODULE_ID, "power", [True]) is None
        assert system.projector.power == pjlink.ON and system.display.power is True
        assert system.switcher.video == {1: 1, 2: 1} and system.display.volume == 40
        await recorder.wait("state", "on")
        # a bound status: the projector turns itself off
        system.projector.set_power(False)
        await recorder.wait("state", "partial")
        # a device error reply (the switcher has no input 99)
        with pytest.raises(DeviceError, match="E01"):
            await host.execute(MODULE_ID, "select_source", ["broken"])
        # a device that times out: the rest of the room is still driven
        system.projector.faults.set("silent")
        system.display.set_power(False)
        with pytest.raises(DeviceError, match="Projector_1: CommandTimeoutError"):
            await host.execute(MODULE_ID, "power", [True])
        assert system.display.power is True
        system.projector.faults.clear()
        # garbage from a device
        system.switcher.faults.set("garbage")
        with pytest.raises((CommandTimeoutError, DeviceError)):
            await host.execute(MODULE_ID, "select_source", ["pc"])
        system.switcher.faults.clear()
        # a device that disconnects and reconnects
        system.display.drop_next()
        with pytest.raises(DeviceError, match="Display_1"):
            await host.execute(MODULE_ID, "power", [False])
        await wait_for(lambda: system.display.connections == 2)
        with trio.fail_after(10):
            while True:
                try:
                    await host.execute(MODULE_ID, "power", [False])
                    break
                except DeviceError:
                    await trio.sleep(0.05)
        assert system.display.power is False and system.projector.power == pjlink.STANDBY
        await recorder.wait("state", "off")
        assert host.alive
