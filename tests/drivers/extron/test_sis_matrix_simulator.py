"""Extron SIS matrix driver against the Extron simulator over loopback TCP, through the SDK harness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import pytest
import trio

from drivers.extron.sis_matrix import ExtronMatrix
from drivers.sdk import Backoff, CommandTimeoutError, DeviceError, TransportError
from drivers.sdk.testing import ModuleHarness, open_test_module
from drivers.simulators import extron_sis
from tests.drivers.simulators.wire import wait_for

FAST_BACKOFF = Backoff(initial=0.05, maximum=0.2)
WAIT = 5.0


class Matrix(ExtronMatrix):
    """Short timeouts and a quick poll, so fault tests take well under a second."""

    command_timeout: ClassVar[float] = 0.5
    command_retries: ClassVar[int] = 0
    poll_interval: ClassVar[float] = 0.2


@asynccontextmanager
async def matrix_module(
    sim: extron_sis.ExtronMatrix, *, settings: dict[str, Any] | None = None, settle: bool = True
) -> AsyncIterator[ModuleHarness]:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(sim.serve, 0)
        async with open_test_module(
            Matrix, ip="127.0.0.1", port=port, settings=settings, backoff=FAST_BACKOFF
        ) as module:
            if settle:
                with trio.fail_after(WAIT):
                    await module.wait_status(f"video_output_{sim.outputs}")  # the first poll ran
            yield module
        nursery.cancel_scope.cancel()


async def test_every_function() -> None:
    sim = extron_sis.ExtronMatrix()
    async with matrix_module(sim) as module:
        assert module.status["verbose_mode"] == 3 and module.status["model"] == "DXP 88 HDMI"
        assert await module.exec("query_info") == {
            "video_inputs": 8, "video_outputs": 8, "audio_inputs": 8, "audio_outputs": 8,
        }  # fmt: skip
        await module.exec("switch_to", 1, 3)
        assert sim.video[3] == 1 and sim.audio[3] == 1 and module.status["video_output_3"] == 1
        await module.exec("switch_to", 2)
        assert set(sim.video.values()) == {2} and module.status["audio_output_8"] == 2
        await module.exec("switch", {3: [1, 2], 4: [5]}, "video")
        assert sim.video[1] == sim.video[2] == 3 and sim.video[5] == 4 and sim.audio[1] == 2
        assert module.status["video_output_5"] == 4 and module.status["audio_output_5"] == 2
        await module.exec("switch", {6: [7]})
        assert sim.video[7] == sim.audio[7] == 6
        await module.exec("switch_video", 7, 8)
        await module.exec("switch_audio", 8, 8)
        assert sim.video[8] == 7 and sim.audio[8] == 8
        assert await module.exec("read_tie", 8) == 7
        assert await module.exec("read_tie", 8, "audio") == 8
        await module.exec("save_preset", 4)
        await module.exec("switch_to", 0)  # untie everything
        assert module.status["video_output_1"] == 0
        await module.exec("recall_preset", 4)
        assert sim.video[5] == 4 and module.status["video_output_5"] == 4
        ties = await module.exec("read_ties")
        assert ties["video_output_8"] == 7 and ties["audio_output_8"] == 8 and len(ties) == 16
        assert await module.exec("poll") is None


async def test_password_login_as_administrator_and_user() -> None:
    sim = extron_sis.ExtronMatrix(password="extron", user_password="guest")
    async with matrix_module(sim, settings={"password": "extron"}) as module:
        assert module.status["login"] == "Administrator"
        await module.exec("switch_to", 2, 2)
        assert sim.video[2] == 2
    async with matrix_module(sim, settings={"password": "guest"}) as module:
        assert module.status["login"] == "User"
        await module.exec("switch_to", 3, 2)
        assert sim.video[2] == 3


async def test_wrong_password_then_the_right_one() -> None:
    sim = extron_sis.ExtronMatrix(password="extron")
    async with matrix_module(sim, settings={"password": "wrong"}, settle=False) as module:
        with trio.fail_after(WAIT):
            await module.wait_status("login", "failed")
        with pytest.raises(DeviceError, match="password"):
            await module.exec("switch_to", 1, 1)
        await module.update_settings({"password": "extron"})
        with trio.fail_after(WAIT):
            await module.wait_status("login", "Administrator")
            await module.wait_status("verbose_mode", 3)
        await wait_for(lambda: b"8$" in sim.log)  # the poll after login
        await module.exec("switch_to", 1, 1)
        assert sim.video[1] == 1


async def test_error_codes() -> None:
    sim = extron_sis.ExtronMatrix(inputs=4, outputs=4)
    async with matrix_module(sim) as module:
        with pytest.raises(DeviceError, match="E01: invalid input number"):
            await module.exec("switch_to", 5, 1)
        with pytest.raises(DeviceError, match="E12: invalid output number"):
            await module.exec("switch_to", 1, 5)
        with pytest.raises(DeviceError, match="E11: invalid preset"):
            await module.exec("recall_preset", 3)  # never saved
        with pytest.raises(DeviceError, match="E12"):
            await module.exec("read_tie", 9)


async def test_video_only_matrix() -> None:
    sim = extron_sis.ExtronMatrix(audio=False, outputs=2)
    async with matrix_module(sim) as module:
        assert "audio_output_1" not in module.status
        with pytest.raises(DeviceError, match="E14: not valid for this configuration"):
            await module.exec("switch_audio", 1, 1)
        await module.exec("switch_to", 2, 1)
        assert sim.video[1] == 2


async def test_front_panel_and_other_controllers_are_heard() -> None:
    sim = extron_sis.ExtronMatrix()
    async with matrix_module(sim) as module:
        await sim.front_panel_tie(5, 2)
        with trio.fail_after(WAIT):
            await module.wait_status("video_output_2", 5)
        assert module.status["audio_output_2"] == 5
        await sim.front_panel_tie(6, 3, "$")
        with trio.fail_after(WAIT):
            await module.wait_status("audio_output_3", 6)
        assert module.status["video_output_3"] == 0


async def test_polling_sees_changes_without_notices() -> None:
    sim = extron_sis.ExtronMatrix()
    async with matrix_module(sim) as module:
        sim.video[4] = 7  # changed with no notice (as on a non-verbose serial port)
        with trio.fail_after(WAIT):
            await module.wait_status("video_output_4", 7)


async def test_silent_switcher_times_out_then_recovers() -> None:
    sim = extron_sis.ExtronMatrix()
    async with matrix_module(sim) as module:
        sim.faults.set("silent")
        with pytest.raises(CommandTimeoutError):
            await module.exec("switch_to", 1, 1)
        sim.faults.clear()
        await module.exec("switch_to", 2, 1)
        assert module.status["video_output_1"] == 2


async def test_disconnect_and_reconnect_sets_verbose_mode_again() -> None:
    sim = extron_sis.ExtronMatrix()
    async with matrix_module(sim) as module:
        before = len(module.changes)
        sim.drop_next()
        with pytest.raises(TransportError):
            await module.exec("switch_to", 1, 1)
        with trio.fail_after(WAIT):
            await module.wait_status("connected", True)
        await wait_for(lambda: sim.connections == 2 and len(sim.sessions) == 1)
        await wait_for(lambda: next(iter(sim.sessions)).context.verbose == 3)
        assert [c.value for c in module.changes[before:] if c.key == "connected"] == [False, True]
        await module.exec("switch_to", 3, 1)
        assert sim.video[1] == 3
        await sim.front_panel_tie(4, 6)  # the new session hears notices
        with trio.fail_after(WAIT):
            await module.wait_status("video_output_6", 4)


async def test_garbage_replies_do_not_break_the_module() -> None:
    sim = extron_sis.ExtronMatrix()
    async with matrix_module(sim) as module:
        sim.faults.set("garbage")
        for _ in range(2):
            with pytest.raises((CommandTimeoutError, DeviceError)):
                await module.exec("read_tie", 1)
        sim.faults.clear()
        await module.exec("switch_to", 2, 1)
        assert await module.exec("read_tie", 1) == 2
        assert module.status["connected"] is True


async def test_a_silent_switcher_is_not_connected_until_it_answers_again() -> None:
    sim = extron_sis.ExtronMatrix()
    async with matrix_module(sim) as module:
        assert module.status["connected"] is True
        sim.faults.set("silent")
        for _ in range(3):
            with pytest.raises(CommandTimeoutError):
                await module.exec("read_tie", 1)
        with trio.fail_after(WAIT):
            await module.wait_status("connected", False)
        assert len(sim.sessions) == 1  # the TCP session is up: the device just answers nothing
        sim.faults.clear()
        await module.exec("switch_to", 2, 1)
        with trio.fail_after(WAIT):  # answered: connected again
            await module.wait_status("connected", True)
