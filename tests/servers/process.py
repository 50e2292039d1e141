"""One real server process for a test: start, wait until ready, signal, stop, and show its log.

PYTEST_DONT_REWRITE: the fixture modules import this helper before tests/conftest.py loads it as
a plugin, too late for assertion rewriting; the marker stops pytest warning about that (it holds
no assertions to rewrite).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

# A server that is not ready in this long is broken, not slow: etcd, Redis and
# PostgreSQL all come up in well under a second on loopback.
START_TIMEOUT = 20.0
# How long a server gets to exit after its stop signal before it is killed.
STOP_TIMEOUT = 5.0
# Readiness is polled; 20 ms keeps the wait short without spinning.
POLL_INTERVAL = 0.02
# Lines of the server's own log shown when it fails to start.
LOG_TAIL_LINES = 40

ReadyCheck = Callable[[], bool]

# Every process started and not yet reaped, so an interrupted run still cleans up (see _reap_all).
_live: set[ServerProcess] = set()


class ServerStartError(RuntimeError):
    """Raised when a server exits during startup or is not ready by its deadline.

    The message names the server and ends with the tail of its own log. It is not raised for a
    missing binary: that skips the test (or fails it under CI) through `require_binary`.
    """


def in_ci() -> bool:
    """Return True when the CI environment variable is set to something other than false."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_binary(path_or_name: str, *, package: str) -> str:
    """Return the absolute path of a server binary, or skip the test when it is missing.

    Under CI (the CI environment variable is set) a missing binary fails the test instead, because
    CI must install every Debian package the tests use (`make debs`).

    Args:
        path_or_name: an absolute path, or a name looked up on PATH.
        package: the Debian package that provides it, named in the skip reason.

    Returns:
        The binary's absolute path.
    """
    if os.path.isabs(path_or_name):
        found: str | None = path_or_name
    else:  # daemons live in sbin, which a non-root PATH often lacks
        found = shutil.which(path_or_name) or shutil.which(path_or_name, path="/usr/sbin:/sbin")
    if found and os.access(found, os.X_OK):
        return found
    reason = f"{path_or_name!r} not found: install the Debian package {package!r} (make debs)"
    if in_ci():
        pytest.fail(f"{reason}; CI must install every test server", pytrace=False)
    pytest.skip(reason)


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    """Return True when a TCP connection to host:port succeeds right now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def as_user(user: str | None) -> dict[str, Any]:
    """Return the subprocess keyword arguments that run a child as `user` (only when root).

    subprocess switches user in the child itself, before the pre-exec hook, so the server is our
    direct child and keeps its parent-death signal. `runuser -u USER --` would put a root process
    between us and the server: signals would reach the server only through it, and if pytest were
    killed the server would outlive it.
    """
    if user is None or os.geteuid() != 0:
        return {}
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


def _set_parent_death_signal() -> Callable[[], None] | None:
    """Return a pre-exec hook asking Linux to SIGKILL the child if the test run dies, if available.

    Without it a pytest killed by SIGTERM or SIGKILL (a CI timeout) would leave servers behind, as
    neither `finally` nor `atexit` runs then. Linux ties the signal to the forking *thread*, so it
    is used only when forking from the main thread; a server restarted from a worker thread (for
    example through trio.to_thread) would otherwise die when that thread is retired.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)

    return hook


class ServerProcess:
    """A server subprocess in its own process group, its output appended to `log_path`.

    Signals go to the whole group, so helpers the server forks (PostgreSQL backends) go with it.
    `start` may be called again after `stop` or `kill` (a restart); the log keeps growing across
    restarts. With `user`, a root test run starts the server as that user (see `as_user`).

    The methods block (`start` and `restart` until the server is ready). A trio test whose other
    tasks must keep running meanwhile calls them through `trio.to_thread.run_sync`.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        ready: ReadyCheck,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        user: str | None = None,
    ) -> None:
        self.name = name
        self.user = user
        self.argv = list(argv)
        self.log_path = log_path
        self.ready = ready
        self.env = env
        self.cwd = cwd
        self.stop_signal = stop_signal
        self.popen: subprocess.Popen[bytes] | None = None
        # Set once the group has been SIGKILLed and its leader reaped: its id may then be reused
        # by an unrelated process, so it must never be signalled again.
        self._group_gone = True

    def __repr__(self) -> str:
        return f"<ServerProcess {self.name} pid={self.pid}>"

    @property
    def pid(self) -> int | None:
        """The process id while running, else None."""
        return self.popen.pid if self.popen is not None and self.popen.poll() is None else None

    @property
    def running(self) -> bool:
        """True while the process has not exited (a paused process is running)."""
        return self.pid is not None

    def spawn(self) -> None:
        """Start the process without waiting for it to be ready (see `wait_ready`)."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"--- transom tests: starting {self.argv!r}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_set_parent_death_signal(),
                **as_user(self.user),
            )
        self._group_gone = False
        _live.add(self)

    def wait_ready(self, timeout: float = START_TIMEOUT, *, ready: ReadyCheck | None = None) -> None:
        """Poll the ready check (this server's own, unless `ready` is given) until it passes.

        Raises:
            ServerStartError: the process exited, or it is not ready within `timeout` seconds.
        """
        check = ready or self.ready
        deadline = time.monotonic() + timeout
        while True:
            if self.popen is None or self.popen.poll() is not None:
                code = None if self.popen is None else self.popen.returncode
                raise ServerStartError(self._failure(f"exited during startup with code {code}"))
            try:
                if check():
                    return
            except Exception:  # a check that errors just means "not yet"
                pass
            if time.monotonic() >= deadline:
                raise ServerStartError(self._failure(f"not ready after {timeout:.1f}s"))
            time.sleep(POLL_INTERVAL)

    def start(self, timeout: float = START_TIMEOUT, *, ready: ReadyCheck | None = None) -> None:
        """Spawn the process and wait until it is ready; kill it if it never gets there."""
        self.spawn()
        try:
            self.wait_ready(timeout, ready=ready)
        except BaseException:
            self.kill()
            raise

    def signal(self, sig: signal.Signals) -> None:
        """Send `sig` to the process group; a no-op once the process has exited."""
        if self.popen is None or self._group_gone:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def pause(self) -> None:
        """Freeze the server with SIGSTOP: its sockets stay open but nothing answers."""
        self.signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Thaw a paused server with SIGCONT."""
        self.signal(signal.SIGCONT)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """Ask the server to exit (its stop signal), then kill it after `timeout` seconds.

        Returns:
            The exit code, or None if it had not been started.
        """
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.signal(self.stop_signal)
            self.signal(signal.SIGCONT)  # a paused process acts on no signal but SIGKILL
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout)
        return self.kill()

    def kill(self) -> int | None:
        """SIGKILL the whole process group at once and reap the process.

        Returns:
            The exit code, or None if it had not been started.
        """
        if self.popen is None:
            return None
        self.signal(signal.SIGKILL)  # also catches children that outlived the leader
        self.popen.wait()
        self._group_gone = True
        _live.discard(self)
        return self.popen.returncode

    def restart(self, timeout: float = START_TIMEOUT, *, ready: ReadyCheck | None = None) -> None:
        """Stop the server if it runs, then start it again and wait until it is ready."""
        self.stop()
        self.start(timeout, ready=ready)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """Return the last `lines` lines of the server's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log written)"
        return "\n".join(text.splitlines()[-lines:])

    def _failure(self, what: str) -> str:
        return (
            f"{self.name} {what}\n  command: {' '.join(self.argv)}\n  log: {self.log_path}\n"
            f"--- last lines of its log ---\n{self.log_tail()}"
        )


def start_all(servers: Sequence[ServerProcess], timeout: float = START_TIMEOUT) -> None:
    """Start several servers in parallel (all spawned first, then all awaited).

    A cluster whose members wait for each other needs this. If any fails, all are killed.

    Raises:
        ServerStartError: from the first server that failed.
    """
    try:
        for server in servers:
            server.spawn()
        deadline = time.monotonic() + timeout
        for server in servers:
            server.wait_ready(max(0.0, deadline - time.monotonic()))
    except BaseException:
        for server in servers:
            server.kill()
        raise


def stop_all(servers: Sequence[ServerProcess]) -> None:
    """Stop every server, all signalled first so their shutdowns overlap; kill stragglers."""
    for server in servers:
        if server.running:
            server.signal(server.stop_signal)
            server.signal(signal.SIGCONT)
    deadline = time.monotonic() + STOP_TIMEOUT
    for server in servers:
        if server.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.popen.wait(max(0.0, deadline - time.monotonic()))
        server.kill()


def port_in_use(server: ServerProcess) -> bool:
    """Return True when the server's log says its port was taken (free_port's race was lost)."""
    tail = server.log_tail().lower()
    return "address already in use" in tail or "could not bind" in tail


# How often a fixture picks new free ports after another process took one first.
PORT_ATTEMPTS = 3

S = TypeVar("S")


def start_on_free_ports(
    build: Callable[[], S], start: Callable[[S], None], processes: Callable[[S], Sequence[ServerProcess]]
) -> S:
    """Build and start a server, building it again on new ports if free_port's race was lost.

    Raises:
        ServerStartError: the start failed for another reason, or on every attempt.
    """
    for attempt in range(1, PORT_ATTEMPTS + 1):
        server = build()
        try:
            start(server)
        except ServerStartError:
            if attempt < PORT_ATTEMPTS and any(port_in_use(p) for p in processes(server)):
                continue
            raise
        return server
    raise AssertionError("unreachable")


class ProcessControls:
    """What every server fixture offers, delegated to its `ServerProcess`."""

    process: ServerProcess

    @property
    def log_path(self) -> Path:
        """The server's own log (stdout and stderr, across restarts)."""
        return self.process.log_path

    @property
    def running(self) -> bool:
        """True while the process exists (also when paused)."""
        return self.process.running

    def stop(self) -> None:
        """Stop the server (its usual stop signal), killing it if it does not exit in time."""
        self.process.stop()

    def kill(self) -> None:
        """Kill the server with SIGKILL, as a crash or power cut would."""
        self.process.kill()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): its sockets stay open but nothing answers."""
        self.process.pause()

    def resume(self) -> None:
        """Thaw a paused server (SIGCONT)."""
        self.process.resume()

    def restart(self) -> None:
        """Stop the server if it runs and start it again on the same ports and data."""
        self.process.restart()


@atexit.register
def _reap_all() -> None:
    """Kill whatever a fixture could not stop (an interrupted run), so no server outlives pytest."""
    for server in list(_live):
        server.kill()
