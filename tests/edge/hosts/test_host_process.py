"""A real host process: modules, exec results and errors, batched status, isolation, death."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
import trio

from drivers.sdk import (
    DeviceError,
    InvalidArgumentsError,
    Level,
    ModuleConfig,
    ModuleRef,
    UnknownFunctionError,
    UnknownModuleError,
)
from drivers.sdk.system import Args, StatusCallback, Unsubscribe
from edge.hosts.client import HostProcess, LogLine, StatusBatch, open_host_process
from edge.hosts.errors import (
    FunctionRaisedError,
    HostDiedError,
    HostStartError,
    HostTimeoutError,
    ModuleStartError,
)

WORKBENCH = "tests.edge.hosts.sample_drivers:Workbench"


class Recorder:
    """What the host sent up on its own: status batches, logs, settings."""

    def __init__(self) -> None:
        self.batches: list[StatusBatch] = []
        self.logs: list[LogLine] = []
        self.settings: list[tuple[str, str, Any]] = []
        self.status: dict[tuple[str, str], Any] = {}
        self._changed = trio.Event()

    def on_status(self, batch: StatusBatch) -> None:
        self.batches.append(batch)
        for module_id, keys in batch.items():
            for key, text in keys.items():
                self.status[(module_id, key)] = orjson.loads(text)
        self._changed.set()
        self._changed = trio.Event()

    def on_setting(self, module_id: str, key: str, value: Any) -> None:
        self.settings.append((module_id, key, value))

    def values(self, module_id: str, key: str) -> list[Any]:
        return [orjson.loads(b[module_id][key]) for b in self.batches if key in b.get(module_id, {})]

    async def wait_status(self, module_id: str, key: str, value: Any) -> None:
        while self.status.get((module_id, key)) != value:
            await self._changed.wait()


class HostDirectory:
    """A node's directory over one host: systems of the modules it started, in order."""

    def __init__(self, recorder: Recorder) -> None:
        self.host: HostProcess | None = None
        self.systems: dict[str, list[ModuleConfig]] = {}
        self._recorder = recorder

    async def modules(self, system_id: str) -> list[ModuleRef]:
        counts: dict[str, int] = {}
        refs = []
        for config in self.systems.get(system_id, []):
            counts[config.name] = counts.get(config.name, 0) + 1
            refs.append(ModuleRef(config.id, config.name, counts[config.name]))
        return refs

    async def execute(self, module_id: str, method: str, args: Args, *, level: Level) -> Any:
        assert self.host is not None
        return await self.host.execute(module_id, method, args, level=level)

    async def status(self, module_id: str, key: str) -> Any:
        return self._recorder.status.get((module_id, key))

    def subscribe(
        self, system_id: str, name: str, index: int, key: str, callback: StatusCallback
    ) -> Unsubscribe:
        return lambda: None


@asynccontextmanager
async def open_bench(*configs: ModuleConfig) -> AsyncIterator[tuple[HostProcess, Recorder, HostDirectory]]:
    recorder = Recorder()
    directory = HostDirectory(recorder)
    async with open_host_process(
        WORKBENCH,
        on_status=recorder.on_status,
        on_log=recorder.logs.append,
        on_setting=recorder.on_setting,
        directory=directory,
    ) as host:
        directory.host = host
        for config in configs:
            config.name = config.name or "Bench"
            directory.systems.setdefault(config.system_id, []).append(config)
            await host.start_module(config)
        yield host, recorder, directory


def bench(module_id: str, **settings: Any) -> ModuleConfig:
    return ModuleConfig(id=module_id, system_id="sys-1", settings=settings)


async def test_modules_start_and_exec_returns_results() -> None:
    with trio.fail_after(30):
        async with open_bench(bench("mod-a", label="A"), bench("mod-b", label="B")) as (host, recorder, _):
            assert host.alive and host.pid > 0
            assert host.metadata["generic_name"] == "Bench" and "echo" in host.metadata["functions"]
            assert await host.execute("mod-a", "echo", [{"nested": [1, 2]}]) == {"nested": [1, 2]}
            assert await host.execute("mod-b", "echo", {"value": "named"}) == "named"
            await recorder.wait_status("mod-b", "label", "B")
            await recorder.wait_status("mod-a", "connected", True)
            await host.ping()  # answers (the round trip's time is the driver-host bench's)


async def test_exec_errors_say_what_went_wrong() -> None:
    with trio.fail_after(30):
        async with open_bench(bench("mod-a")) as (host, _, _):
            with pytest.raises(FunctionRaisedError) as raised:
                await host.execute("mod-a", "fail", ["the projector is on fire"])
            assert raised.value.kind == "ValueError"
            assert str(raised.value) == "fail() raised ValueError: the projector is on fire"
            with pytest.raises(DeviceError, match="ERR3: unavailable time"):
                await host.execute("mod-a", "device_error")
            with pytest.raises(UnknownFunctionError, match="Workbench has no function 'warp'"):
                await host.execute("mod-a", "warp")
            with pytest.raises(InvalidArgumentsError, match="count"):
                await host.execute("mod-a", "burst", ["many"])
            with pytest.raises(UnknownModuleError, match="no module 'mod-zz'"):
                await host.execute("mod-zz", "echo", [1])
            assert await host.execute("mod-a", "echo", [1]) == 1  # the module is still fine


async def test_status_batches_are_coalesced_and_in_order_per_key() -> None:
    with trio.fail_after(30):
        async with open_bench(bench("mod-a"), bench("mod-b")) as (host, recorder, _):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(host.execute, "mod-a", "burst", [20_000])
                nursery.start_soon(host.execute, "mod-b", "burst", [20_000])
            await recorder.wait_status("mod-a", "count", 19_999)
            await recorder.wait_status("mod-b", "count", 19_999)
            for module_id in ("mod-a", "mod-b"):
                seen = recorder.values(module_id, "count")
                assert seen == sorted(seen) and len(set(seen)) == len(seen)
                assert len(seen) < 20_000  # the latest value per key in a batch wins


async def test_a_hanging_or_raising_module_does_not_stall_another() -> None:
    with trio.fail_after(30):
        modules = bench("mod-hang"), bench("mod-raise"), bench("mod-ok")
        async with open_bench(*modules) as (host, _, _), trio.open_nursery() as nursery:
            for _ in range(5):
                nursery.start_soon(host.execute, "mod-hang", "hang")
            nursery.start_soon(host.start_module, bench("mod-stuck-loading", hang_on_load=True))
            for _ in range(5):
                with pytest.raises(FunctionRaisedError):
                    await host.execute("mod-raise", "fail")
            # The hung calls never return, so a stall would last until the test's deadline.
            for n in range(50):
                assert await host.execute("mod-ok", "echo", [n]) == n
            nursery.cancel_scope.cancel()


async def test_a_call_the_host_does_not_answer_in_time_fails_alone_and_the_rest_go_on() -> None:
    with trio.fail_after(30):
        async with open_bench(bench("mod-a")) as (host, _, _), trio.open_nursery() as nursery:
            timed_out: list[float] = []

            async def hang(seconds: float) -> None:
                started = trio.current_time()
                with pytest.raises(HostTimeoutError, match=r"mod-a hang\(\): .* did not answer in"):
                    await host.execute("mod-a", "hang", timeout=seconds)
                timed_out.append(trio.current_time() - started)

            nursery.start_soon(hang, 1.5)
            nursery.start_soon(hang, 0.5)
            assert await host.execute("mod-a", "echo", ["still here"]) == "still here"
            await trio.sleep(2.0)
            assert sorted(round(t, 1) for t in timed_out) == [0.5, 1.5]
            assert await host.execute("mod-a", "echo", [2]) == 2  # the host still serves


async def test_thousands_of_concurrent_calls_each_get_their_own_result_or_error() -> None:
    with trio.fail_after(60):
        async with open_bench(bench("mod-a"), bench("mod-b")) as (host, _, _):
            results: dict[int, Any] = {}

            async def call(n: int) -> None:
                module_id = "mod-a" if n % 2 else "mod-b"
                if n % 7 == 0:
                    with pytest.raises(FunctionRaisedError, match=f"no {n}"):
                        await host.execute(module_id, "fail", [f"no {n}"])
                    results[n] = "failed"
                else:
                    results[n] = await host.execute(module_id, "echo", [{"n": n, "module": module_id}])

            async with trio.open_nursery() as nursery:
                for n in range(5_000):
                    nursery.start_soon(call, n)
            assert len(results) == 5_000
            for n, result in results.items():
                expected = "failed" if n % 7 == 0 else {"n": n, "module": "mod-a" if n % 2 else "mod-b"}
                assert result == expected


async def test_killing_the_host_fails_every_pending_exec_at_once() -> None:
    with trio.fail_after(30):
        async with open_bench(bench("mod-a"), bench("mod-b")) as (host, _, _):
            failures: list[tuple[BaseException, float]] = []

            async def call(module_id: str) -> None:
                try:
                    await host.execute(module_id, "hang")
                except HostDiedError as exc:
                    failures.append((exc, trio.current_time()))

            async with trio.open_nursery() as nursery:
                for n in range(20):
                    nursery.start_soon(call, "mod-a" if n % 2 else "mod-b")
                await host.ping()
                await trio.sleep(0.1)
                killed = trio.current_time()
                host.kill()
            # The calls hang forever, so each of them failing at all is the kill's doing.
            assert len(failures) == 20
            assert min(at for _, at in failures) >= killed
            assert await host.wait() == -signal.SIGKILL
            assert failures[0][0].returncode == -signal.SIGKILL  # type: ignore[attr-defined]
            assert not host.alive
            with pytest.raises(HostDiedError, match="has gone"):
                await host.execute("mod-a", "echo", [1])


async def test_settings_updates_reach_on_update_and_defined_settings_reach_the_node() -> None:
    with trio.fail_after(30):
        async with open_bench(bench("mod-a", label="before")) as (host, recorder, _):
            await recorder.wait_status("mod-a", "label", "before")
            await host.update_settings("mod-a", {"label": "after"})
            await recorder.wait_status("mod-a", "label", "after")
            await host.execute("mod-a", "remember", ["volume", {"max": 80}])
            assert ("mod-a", "volume", {"max": 80}) in recorder.settings
            with pytest.raises(UnknownModuleError):
                await host.update_settings("mod-nope", {})


async def test_modules_reach_each_other_through_the_node() -> None:
    with trio.fail_after(30):
        async with open_bench(bench("mod-a", label="one"), bench("mod-b", label="two")) as (host, rec, _):
            await rec.wait_status("mod-b", "label", "two")
            assert await host.execute("mod-a", "peer_status", ["Bench_2", "label"]) == "two"
            assert await host.execute("mod-b", "peer_echo", ["Bench_1", [1, "x"]]) == [1, "x"]
            assert await host.execute("mod-a", "peers") == 2
            with pytest.raises(UnknownModuleError, match="Bench_3"):
                await host.execute("mod-a", "peer_status", ["Bench_3", "label"])


async def test_start_stop_and_duplicates() -> None:
    with trio.fail_after(30):
        async with open_bench(bench("mod-a")) as (host, _, _):
            with pytest.raises(ModuleStartError, match="already running"):
                await host.start_module(bench("mod-a"))
            await host.stop_module("mod-a")
            with pytest.raises(UnknownModuleError):
                await host.execute("mod-a", "echo", [1])
            await host.start_module(bench("mod-a"))
            assert await host.execute("mod-a", "echo", [2]) == 2


async def test_a_flooding_module_is_rate_limited_and_the_drops_are_counted() -> None:
    with trio.fail_after(30):
        async with open_bench(bench("mod-a"), bench("mod-b")) as (host, recorder, _):
            await host.execute("mod-a", "chatter", [5_000])
            await host.ping()
            await trio.sleep(0.2)
            await host.execute("mod-a", "chatter", [1])
            await host.execute("mod-b", "chatter", [3])
            await host.ping()
            await trio.sleep(0.05)
            lines = [line for line in recorder.logs if line.module_id == "mod-a"]
            assert 100 < len(lines) < 400
            assert sum(line.dropped for line in lines) > 4_000
            assert [line.message for line in recorder.logs if line.module_id == "mod-b"] == [
                "line 0",
                "line 1",
                "line 2",
            ]


async def test_a_driver_that_does_not_load_is_a_clear_start_error() -> None:
    with trio.fail_after(30), pytest.raises(HostStartError, match=r"cannot import 'no\.such\.driver'"):
        async with open_host_process("no.such.driver:Nothing"):
            pass
