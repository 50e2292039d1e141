"""DriverHostSupervisor: keeps one driver host process alive and its modules loaded in it.

One supervisor per driver class on a node. `serve()` spawns the host (`open_host_process`),
starts every module it should run, then watches it: a ping every `health_interval`; a host
that does not answer within `health_timeout` is killed. When the host dies (kill -9, a
driver calling os._exit, a hung host killed by the health check) the supervisor waits out
an exponential backoff (0.2 s doubling to 30 s, back to 0.2 s after a stable run) and
starts it again with the same modules. Modules in other hosts never notice: each host is
its own process and its own supervisor.

A crash loop (`crash_loop_restarts` deaths within `crash_loop_window` seconds) is reported,
not hidden: the supervisor's state becomes `crash_loop` (every module of the host shows
it, with the last error) and it keeps retrying at the maximum backoff, logging each death.

With a `permit` (a clustered node), the host gets the node's current permit before any module
starts, and every renewal after (`edge.hosts.permit`): a host lets go of its devices by
itself when the permit lapses, even if this process is frozen.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import trio

from drivers.sdk import Level, ModuleConfig
from drivers.sdk.system import SystemDirectory
from edge.cluster.latest import Latest
from edge.errors import HostRestarting, ModuleNotRunning
from edge.hosts.client import HostProcess, LogLine, StatusBatch, open_host_process
from edge.hosts.errors import HostError, HostTimeoutError, ModuleStartError
from edge.hosts.permit import PermitGrant

log = logging.getLogger(__name__)

HostState = Literal["starting", "running", "restarting", "crash_loop", "stopped"]

# A hung host is found within health_interval + health_timeout: 15 s here, against
# PlaceOS's 80 s process check (core constants.cr); a ping is one cheap frame each way.
HEALTH_INTERVAL = 5.0
HEALTH_TIMEOUT = 10.0
# Bound on one exec through the host: the runtime cancels a function at 30 s, so this only
# catches a host that stopped answering altogether.
EXEC_TIMEOUT = 45.0


@dataclass(frozen=True)
class RestartPolicy:
    """How a dead host is restarted.

    Attributes:
        initial: the first delay after a death.
        maximum: the longest delay (and the delay while crash-looping).
        factor: each consecutive death multiplies the delay by this.
        stable_after: a host that ran this long resets the delay to `initial`.
        crash_loop_restarts: this many deaths within `crash_loop_window` seconds is a crash loop.
    """

    initial: float = 0.2
    maximum: float = 30.0
    factor: float = 2.0
    stable_after: float = 60.0
    crash_loop_restarts: int = 5
    crash_loop_window: float = 120.0


@dataclass
class ModuleEvent:
    """What the supervisor tells its owner about one module (see `ModuleManager`)."""

    module_id: str
    running: bool
    error: str | None = None


class DriverHostSupervisor:
    """Runs `driver`'s host process for the modules given with `start_module`.

    Args:
        driver: the driver class path.
        on_status: gets each status batch from the host (must not block).
        on_module: gets each change of a module's running state (must not block).
        on_log: gets each log line (must not block).
        directory: answers the modules' system lookups.
        policy: restart backoff and crash-loop thresholds.
        health_interval, health_timeout: the ping check.
        permit: the node's permit (a `PermitGrant`; None: unlimited), granted to the host and
            renewed as it changes; without one the host needs none.
    """

    def __init__(
        self,
        driver: str,
        *,
        on_status: Callable[[StatusBatch], None],
        on_module: Callable[[ModuleEvent], None],
        on_log: Callable[[LogLine], None] | None = None,
        directory: SystemDirectory | None = None,
        policy: RestartPolicy | None = None,
        health_interval: float = HEALTH_INTERVAL,
        health_timeout: float = HEALTH_TIMEOUT,
        permit: Latest[PermitGrant | None] | None = None,
    ) -> None:
        self.driver = driver
        self._permit = permit
        self.policy = policy or RestartPolicy()
        self.health_interval = health_interval
        self.health_timeout = health_timeout
        self._on_status = on_status
        self._on_module = on_module
        self._on_log = on_log
        self._directory = directory
        self.modules: dict[str, ModuleConfig] = {}
        self.running: set[str] = set()
        self.host: HostProcess | None = None
        self.state: HostState = "starting"
        self.restarts = 0
        self.last_error: str | None = None
        self._deaths: deque[float] = deque()
        self._up = trio.Event()
        self._lock = trio.Lock()  # a host's (re)load of its modules, one at a time
        # Start/stop/update in order per module; different modules go concurrently (a joiner's
        # share starts in one round trip to the host, not one per module).
        self._module_locks: dict[str, trio.Lock] = {}
        self._stopping = False

    def __repr__(self) -> str:
        return f"<DriverHostSupervisor {self.driver} {self.state} pid={self.pid}>"

    @property
    def pid(self) -> int | None:
        host = self.host
        return host.pid if host is not None and host.alive else None

    def describe(self) -> dict[str, Any]:
        """The host as the health route shows it."""
        return {
            "driver": self.driver,
            "state": self.state,
            "pid": self.pid,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "modules": sorted(self.modules),
        }

    # -- running ------------------------------------------------------------------------------

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep the host up until cancelled; started() once the first attempt has finished."""
        delay = self.policy.initial
        first = True
        while True:
            started = trio.current_time()
            try:
                async with open_host_process(
                    self.driver,
                    on_status=self._on_status,
                    on_log=self._on_log,
                    on_stopped=self._module_ended,
                    directory=self._directory,
                ) as host:
                    self.host = host
                    if self._permit is not None:  # before any module: the pipe keeps order
                        _grant(host, self._permit.value)
                    await self._load(host)
                    self.state = "running"
                    self._up.set()
                    if first:
                        first = False
                        task_status.started()
                    code = await self._watch(host)
                reason = f"the driver host (pid {host.pid}) exited with status {code}"
            except (HostError, OSError) as exc:
                reason = str(exc)
            finally:
                self._down()
            if self._stopping:
                self.state = "stopped"
                if first:
                    task_status.started()
                return
            if first:
                first = False
                task_status.started()
            ran = trio.current_time() - started
            delay = self._after_death(reason, ran, delay)
            await trio.sleep(delay)
            delay = min(delay * self.policy.factor, self.policy.maximum)

    async def _watch(self, host: HostProcess) -> int:
        """Wait for the host to exit, pinging it; a host that stops answering is killed."""
        async with trio.open_nursery() as nursery:

            async def check() -> None:
                while True:
                    await trio.sleep(self.health_interval)
                    try:
                        await host.ping(timeout=self.health_timeout)
                    except HostTimeoutError:
                        log.error(
                            "driver host %s (pid %d) stopped answering; killing it", self.driver, host.pid
                        )
                        host.kill()
                        return
                    except HostError:
                        return

            nursery.start_soon(check)
            if self._permit is not None:
                nursery.start_soon(self._grant_permits, host, self._permit)
            code = await host.wait()
            nursery.cancel_scope.cancel()
        return code

    @staticmethod
    async def _grant_permits(host: HostProcess, permit: Latest[PermitGrant | None]) -> None:
        async for grant in permit.follow():
            _grant(host, grant)

    def _locked(self, module_id: str) -> trio.Lock:
        return self._module_locks.setdefault(module_id, trio.Lock())

    async def _load(self, host: HostProcess) -> None:
        async with self._lock:
            loaded: set[str] = set()
            # Until none is left: a module given meanwhile (while the host was not up yet,
            # `start_module` only records it) is loaded here too, before the host counts as up.
            while pending := [module_id for module_id in self.modules if module_id not in loaded]:
                for module_id in pending:
                    loaded.add(module_id)
                    async with self._locked(module_id):
                        config = self.modules.get(module_id)  # the newest, unless stopped meanwhile
                        if config is not None and module_id not in self.running:
                            await self._start_in(host, config)

    async def _start_in(self, host: HostProcess, config: ModuleConfig) -> None:
        try:
            await host.start_module(config)
        except ModuleStartError as exc:
            self.running.discard(config.id)
            self._on_module(ModuleEvent(config.id, False, str(exc)))
            return
        self.running.add(config.id)
        self._on_module(ModuleEvent(config.id, True))

    def _down(self) -> None:
        self.host = None
        self._up = trio.Event()
        for module_id in sorted(self.running):
            self._on_module(ModuleEvent(module_id, False, self.last_error))
        self.running.clear()

    def _after_death(self, reason: str, ran: float, delay: float) -> float:
        """Record a death; return the delay before the next start."""
        policy = self.policy
        now = trio.current_time()
        if ran >= policy.stable_after:
            delay = policy.initial
            self._deaths.clear()
        self._deaths.append(now)
        while self._deaths and now - self._deaths[0] > policy.crash_loop_window:
            self._deaths.popleft()
        self.restarts += 1
        self.last_error = reason
        if len(self._deaths) >= policy.crash_loop_restarts:
            self.state = "crash_loop"
            delay = policy.maximum
            log.error(
                "driver host %s is crash-looping (%d deaths in %.0fs): %s; retrying every %.1fs",
                self.driver,
                len(self._deaths),
                policy.crash_loop_window,
                reason,
                delay,
            )
        else:
            self.state = "restarting"
            log.warning("driver host %s died: %s; restarting in %.1fs", self.driver, reason, delay)
        for module_id in sorted(self.modules):
            self._on_module(ModuleEvent(module_id, False, reason))
        return delay

    async def stop(self) -> None:
        """Shut the host down cleanly (its modules unload) and end `serve()`.

        Better than cancelling `serve()`: the host is asked to exit while its pipe is still
        being written, instead of being killed after the client's grace period.
        """
        self._stopping = True
        host = self.host
        if host is not None:
            await host.aclose()

    def _module_ended(self, module_id: str, error: str | None) -> None:
        self.running.discard(module_id)
        self._on_module(ModuleEvent(module_id, False, error or "the module stopped on its own"))

    # -- modules ------------------------------------------------------------------------------

    async def start_module(self, config: ModuleConfig) -> None:
        """Run a module in this host (now if it is up, else when it comes back)."""
        self.modules[config.id] = config
        async with self._locked(config.id):
            host = self.host
            if host is not None and self._up.is_set() and config.id not in self.running:
                # If the host dies meanwhile, serve() restarts it with this module.
                with contextlib.suppress(HostError):
                    await self._start_in(host, config)

    async def update_module(self, config: ModuleConfig) -> None:
        """New config for a running module: settings only go through `update`; anything else
        (ip, port, driver flags) restarts the module."""
        old = self.modules.get(config.id)
        self.modules[config.id] = config
        async with self._locked(config.id):
            host = self.host
            if host is None or config.id not in self.running or old is None:
                return
            try:
                if _same_but_settings(old, config):
                    await host.update_settings(config.id, config.settings)
                else:
                    await host.stop_module(config.id)
                    self.running.discard(config.id)
                    await self._start_in(host, config)
            except HostError:
                pass

    async def stop_module(self, module_id: str) -> None:
        """Stop a module and forget it."""
        self.modules.pop(module_id, None)
        async with self._locked(module_id):
            host = self.host
            if host is not None and module_id in self.running:
                self.running.discard(module_id)
                with contextlib.suppress(HostError):
                    await host.stop_module(module_id)
        self._on_module(ModuleEvent(module_id, False))

    async def execute(
        self,
        module_id: str,
        method: str,
        args: Sequence[Any] | Mapping[str, Any],
        *,
        level: Level,
        deadline: float | None = None,
    ) -> Any:
        """Run a function of one of this host's modules.

        Raises:
            ModuleNotRunning: the module is not (or no longer) started here.
            HostRestarting: the host is down; it is being restarted.
            HostDiedError: it died during the call.
        """
        if module_id not in self.modules:
            raise ModuleNotRunning(f"module {module_id!r} is not running on this node")
        host = self.host
        if host is None or not self._up.is_set():
            raise HostRestarting(
                f"the driver host of {module_id!r} is {self.state.replace('_', ' ')}"
                + (f" (last error: {self.last_error})" if self.last_error else "")
            )
        if module_id not in self.running:
            raise ModuleNotRunning(
                f"module {module_id!r} failed to start: {self.last_error or 'see its state'}"
            )
        return await host.execute(
            module_id, method, args, level=level, timeout=EXEC_TIMEOUT, deadline=deadline
        )

    async def status_snapshot(self) -> dict[str, dict[str, str]]:
        """The host's modules' status now ({} while it is down)."""
        host = self.host
        if host is None or not self._up.is_set():
            return {}
        try:
            return await host.status_snapshot()
        except HostError:
            return {}

    def set_debug(self, module_id: str, enabled: bool) -> None:
        host = self.host
        if host is not None and host.alive:
            host.set_debug(module_id, enabled)


def _grant(host: HostProcess, grant: PermitGrant | None) -> None:
    host.grant_permit(None if grant is None else grant.until, lease=0 if grant is None else grant.lease)


def _same_but_settings(old: ModuleConfig, new: ModuleConfig) -> bool:
    return (
        old.driver,
        old.ip,
        old.port,
        old.tls,
        old.udp,
        old.uri,
        old.makebreak,
        old.system_id,
        old.name,
    ) == (new.driver, new.ip, new.port, new.tls, new.udp, new.uri, new.makebreak, new.system_id, new.name)
