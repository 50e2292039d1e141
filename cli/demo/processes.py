"""ChildProcess: one `transom ...` subprocess of the demo, logging to a file, stopped in order.

Children run in their own session, so a Ctrl-C reaches only the demo, which then stops
them one by one (the edge node first, so it flushes its outbox while the cloud still runs).
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# Seconds a child gets to stop after SIGTERM before it is killed.
STOP_GRACE = 15.0
# Lines of a child's log shown when it fails.
TAIL_LINES = 15
# Seconds between looks while waiting for a child to be ready.
POLL = 0.1
# prctl(2) option: the signal a child gets when its parent dies.
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, get SIGTERM if the demo dies (even by kill -9)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the demo still stops its children on Ctrl-C and SIGTERM


class DemoError(Exception):
    """Raised when a piece of the demo cannot start or stops; the message says which and why."""


class ChildProcess:
    """A running `transom` subcommand; stdout and stderr go to `log_path`."""

    def __init__(self, name: str, args: Sequence[str], log_path: Path, *, env: dict[str, str] | None = None):
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        self._start = log_path.stat().st_size  # this run's output starts here
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", *args],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        """What this run of the child has written so far."""
        with self.log_path.open("rb") as log:
            log.seek(self._start)
            return log.read().decode(errors="replace")

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The last lines of its output, indented, for an error message."""
        kept = self.output().rstrip().splitlines()[-lines:]
        return "\n".join(f"    {line}" for line in kept) or "    (no output)"

    def failure(self, what: str) -> DemoError:
        """A DemoError naming this child, what went wrong, and its log's tail."""
        state = "" if self.alive() else f" (it exited with status {self.process.returncode})"
        return DemoError(f"{self.name}: {what}{state}. Its log ({self.log_path}) ends:\n{self.tail()}")

    def wait_for(self, ready: Callable[[], object], *, seconds: float, what: str) -> object:
        """Poll `ready()` until it returns something truthy; fail if the child exits or time runs out.

        Raises:
            DemoError: naming the child, `what` it was waiting for, and its log's tail.
        """
        deadline = time.monotonic() + seconds
        while True:
            if not self.alive():
                raise self.failure(f"stopped while waiting for {what}")
            value = ready()
            if value:
                return value
            if time.monotonic() > deadline:
                raise self.failure(f"no {what} within {seconds:g} s")
            time.sleep(POLL)

    def wait_for_output(self, pattern: str, *, seconds: float, what: str) -> re.Match[str]:
        """Wait for a line of output matching `pattern` (e.g. the port a simulator listens on)."""
        regex = re.compile(pattern)
        found = self.wait_for(lambda: regex.search(self.output()), seconds=seconds, what=what)
        assert isinstance(found, re.Match)
        return found

    def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGTERM, wait up to `grace` seconds, then SIGKILL; close the log."""
        try:
            if self.alive():
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            self._log.close()
