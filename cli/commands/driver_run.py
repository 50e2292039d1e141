"""`transom driver run`: one module against a real device or simulator, with a prompt.

Status changes print as they happen; each line typed calls a function:

    power true                       words: JSON where they parse, else strings
    power(true)                      a call: the arguments are a JSON list
    {"method": "power", "args": [true]}
    help                             the functions and their arguments
"""

from __future__ import annotations

import logging
import re
import shlex
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import trio
from rich.console import Console
from rich.markup import escape

from drivers.sdk import DriverError, ModuleConfig, ModuleRuntime, StatusChange, load_driver
from edge.hosts.client import LogLine, StatusBatch, open_host_process
from edge.hosts.errors import FunctionRaisedError

Call = Callable[[str, Any], Awaitable[Any]]

_CALL = re.compile(r"^(?P<method>[A-Za-z_]\w*)\s*\((?P<args>.*)\)$", re.S)


class BadCallError(ValueError):
    """A typed line is not a function call in any of the accepted forms."""


def parse_call(line: str) -> tuple[str, Any]:
    """Read `power true`, `power(true)` or `{"method": ..., "args": ...}` as (method, args).

    Raises:
        BadCallError: the line is none of those.
    """
    text = line.strip()
    if text.startswith("{"):
        try:
            document = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise BadCallError(f"not JSON: {exc}") from None
        if not isinstance(document, dict) or not isinstance(document.get("method"), str):
            raise BadCallError('a JSON call needs {"method": "...", "args": [...] or {...}}')
        return document["method"], document.get("args", [])
    match = _CALL.match(text)
    if match:
        try:
            return match["method"], orjson.loads(f"[{match['args']}]")
        except orjson.JSONDecodeError:
            raise BadCallError(f"the arguments of {match['method']}() are not JSON values") from None
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise BadCallError(str(exc)) from None
    if not words or not re.match(r"^[A-Za-z_]\w*$", words[0]):
        raise BadCallError(f"not a function call: {text!r}")
    return words[0], [_word(w) for w in words[1:]]


def _word(word: str) -> Any:
    try:
        return orjson.loads(word)
    except orjson.JSONDecodeError:
        return word


class Screen:
    """Everything the session prints, flushed at once (the output may be a pipe)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def say(self, text: str) -> None:
        self.console.print(text, highlight=False, soft_wrap=True)
        self.console.file.flush()

    def status(self, module_id: str, key: str, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.say(f"[dim]{stamp}[/] [cyan]{escape(key)}[/] = {escape(text)}")

    def batch(self, batch: StatusBatch) -> None:
        for module_id, keys in batch.items():
            for key, text in keys.items():
                self.status(module_id, key, text)

    def change(self, change: StatusChange) -> None:
        self.status(change.module_id, change.key, change.json)

    def log(self, line: LogLine) -> None:
        dropped = f" ({line.dropped} lines dropped before)" if line.dropped else ""
        self.say(f"[dim]log {line.level}: {escape(line.message)}{dropped}[/]")


class _ScreenLogHandler(logging.Handler):
    def __init__(self, screen: Screen) -> None:
        super().__init__(logging.INFO)
        self.screen = screen

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().split("] ", 1)[-1]
        self.screen.log(LogLine("", record.levelname.lower(), message))


async def _prompt(screen: Screen, call: Call, functions: dict[str, Any]) -> None:
    """Read calls from stdin until EOF or `quit`; print each result or error."""
    while True:
        line = await trio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
        if not line:
            return
        text = line.strip()
        if not text:
            continue
        if text in ("quit", "exit"):
            return
        if text in ("help", "?"):
            for name, arguments in functions.items():
                screen.say(f"  {name}({', '.join(arguments)})")
            continue
        try:
            method, args = parse_call(text)
        except BadCallError as exc:
            screen.say(f"[red]error:[/] {escape(str(exc))}")
            continue
        try:
            result = await call(method, args)
        except FunctionRaisedError as exc:
            screen.say(f"[red]error:[/] {escape(str(exc))}")
        except DriverError as exc:
            screen.say(f"[red]error:[/] {type(exc).__name__}: {escape(str(exc))}")
        else:
            screen.say(f"[green]->[/] {escape(orjson.dumps(result).decode())}")


async def run_module(target: str, config: ModuleConfig, *, in_process: bool, console: Console) -> None:
    """Run one module (in a host process, or in this one) with a prompt, until EOF or cancelled."""
    screen = Screen(console)
    if in_process:
        await _run_in_process(target, config, screen)
        return
    async with open_host_process(target, on_status=screen.batch, on_log=screen.log) as host:
        functions = host.metadata.get("interface", {})
        await host.start_module(config)
        screen.say(f"[bold]{escape(config.id)}[/] running in host pid {host.pid}; type help, or a call")

        async def call(method: str, args: Any) -> Any:
            return await host.execute(config.id, method, args, level="admin")

        await _prompt(screen, call, functions)


async def _run_in_process(target: str, config: ModuleConfig, screen: Screen) -> None:
    runtime = ModuleRuntime(config, load_driver(target), status_sink=screen.change)
    root = logging.getLogger()
    root.handlers[:] = [_ScreenLogHandler(screen)]
    root.setLevel(logging.INFO)
    async with trio.open_nursery() as nursery:
        await nursery.start(runtime.serve)
        screen.say(f"[bold]{escape(config.id)}[/] running in this process; type help, or a call")

        async def call(method: str, args: Any) -> Any:
            try:
                return await runtime.execute(method, args, level="admin")
            except DriverError:
                raise
            except Exception as exc:
                raise FunctionRaisedError(
                    f"{method}() raised {type(exc).__name__}: {exc}", kind=type(exc).__name__
                ) from exc

        functions = {name: spec.interface() for name, spec in runtime.metadata.functions.items()}
        await _prompt(screen, call, functions)
        runtime.stop()
