"""`transom simulate KIND`: run a device simulator standalone."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import trio
import typer

from cli.console import err
from drivers.simulators import cisco_roomos, ups_snmpd
from drivers.simulators.base import FAULT_NAMES, Simulator, leaf_exceptions
from drivers.simulators.cisco_roomos import CiscoCodec
from drivers.simulators.extron_sis import ExtronMatrix
from drivers.simulators.hue import HueBridge
from drivers.simulators.pjlink import PJLinkProjector
from drivers.simulators.samsung_mdc import SamsungDisplay

# KIND -> (what it is, how to build it from --password). ups-snmpd is not a TCP simulator.
TCP_KINDS: dict[str, tuple[str, Callable[[str | None], Simulator]]] = {
    "pjlink": ("PJLink Class 1 projector", lambda pw: PJLinkProjector(password=pw)),
    "extron": ("Extron SIS matrix switcher", lambda pw: ExtronMatrix(password=pw)),
    "samsung-mdc": ("Samsung MDC display", lambda pw: SamsungDisplay()),
    "cisco-roomos": ("Cisco RoomOS xAPI shell (plain TCP lines)", lambda pw: CiscoCodec()),
    "hue": ("Philips Hue bridge, API v1 over HTTP", lambda pw: HueBridge()),
}
KINDS = (*TCP_KINDS, "ups-snmpd")
WITH_PASSWORD = ("pjlink", "extron")
DEFAULT_DELAY = 1.0  # seconds, for --fault delay without --delay


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(2)


def simulate(
    kind: str = typer.Argument(..., help=f"Which device: {', '.join(KINDS)}."),
    port: int | None = typer.Option(
        None, "--port", "-p", help="Port to listen on; 0 picks a free one. Default: the device's own port."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    fault: list[str] = typer.Option([], "--fault", help=f"Misbehave: {', '.join(FAULT_NAMES)} (repeatable)."),
    delay: float = typer.Option(0.0, "--delay", help="Seconds to wait before each reply."),
    password: str | None = typer.Option(None, "--password", help="Device password (pjlink, extron)."),
    shell: bool = typer.Option(False, "--shell", help="cisco-roomos: one session on stdin/stdout."),
    state: Path | None = typer.Option(None, "--state", help="cisco-roomos --shell: state JSON file."),
    directory: Path | None = typer.Option(None, "--dir", help="ups-snmpd: where to write snmpd.conf."),
) -> None:
    """Run a protocol-accurate device simulator until Ctrl-C.

    Example:

        transom simulate pjlink --port 4352 --password secret

        transom simulate extron --port 2323 --fault delay --delay 0.5

        transom simulate ups-snmpd --port 11161 --dir ./ups
    """
    if kind not in KINDS:
        raise _fail(f"no simulator named {kind!r}; known: {', '.join(KINDS)}")
    for name in fault:
        if name not in FAULT_NAMES:
            raise _fail(f"unknown --fault {name!r}; known: {', '.join(FAULT_NAMES)}")
    if port is not None and not 0 <= port <= 65535:
        raise _fail(f"--port {port} is not a port number (0-65535)")
    if delay < 0:
        raise _fail(f"--delay {delay} must not be negative")
    if password is not None and kind not in WITH_PASSWORD:
        raise _fail(f"--password applies to {' and '.join(WITH_PASSWORD)}, not {kind}")
    if (shell or state is not None) and kind != "cisco-roomos":
        raise _fail("--shell and --state apply to cisco-roomos only")
    if directory is not None and kind != "ups-snmpd":
        raise _fail("--dir applies to ups-snmpd only")
    if kind == "cisco-roomos" and shell:
        _run_shell(state)
    elif kind == "ups-snmpd":
        if fault or delay:
            raise _fail("ups-snmpd runs the real snmpd: --fault and --delay do not apply")
        _run_snmpd(161 if port is None else port, directory)
    else:
        _run_tcp(kind, port, host, fault, delay, password)


def _run_tcp(
    kind: str, port: int | None, host: str, faults: list[str], delay: float, password: str | None
) -> None:
    title, build = TCP_KINDS[kind]
    sim = build(password)
    for name in faults:
        sim.faults.set(name, (delay or DEFAULT_DELAY) if name == "delay" else True)
    if delay:
        sim.faults.delay = delay
    port = sim.default_port if port is None else port

    async def serve() -> None:
        async with trio.open_nursery() as nursery:
            bound = await nursery.start(sim.serve, port, host)
            notes = [f"password {password!r}"] if password else []
            notes += [f"fault {name}" for name in faults]
            if sim.faults.delay:
                notes.append(f"delay {sim.faults.delay:g} s")
            extra = f" ({', '.join(notes)})" if notes else ""
            err.print(f"[green]{title}[/] listening on tcp {host}:{bound}{extra}; Ctrl-C to stop")

    try:
        trio.run(serve)
    except BaseException as exc:  # trio wraps what its nurseries raise in exception groups
        leaves = leaf_exceptions(exc)
        if all(isinstance(e, KeyboardInterrupt) for e in leaves):
            err.print(f"stopped; {sim.connections} connection(s), at most {sim.max_controllers} at once")
            return
        bind_error = next((e for e in leaves if isinstance(e, OSError)), None)
        if bind_error is None:
            raise
        err.print(f"[red]error:[/] cannot listen on {host}:{port}: {bind_error.strerror or bind_error}")
        raise typer.Exit(1) from None


def _run_shell(state: Path | None) -> None:
    from_env = os.environ.get(cisco_roomos.STATE_ENV)
    path = state or (Path(from_env) if from_env else None)
    if path is None:
        raise _fail(f"--shell needs --state FILE or {cisco_roomos.STATE_ENV} in the environment")
    cisco_roomos.run_stdio_shell(path)


def _run_snmpd(port: int, directory: Path | None) -> None:
    if not Path(ups_snmpd.SNMPD).exists():
        err.print(f"[red]error:[/] Net-SNMP snmpd is not installed at {ups_snmpd.SNMPD} (Debian: snmpd)")
        raise typer.Exit(1)
    with tempfile.TemporaryDirectory(prefix="transom-ups-") as scratch:
        config = ups_snmpd.write_config(directory or Path(scratch), port)
        err.print(f"[green]UPS (RFC 1628 UPS-MIB) via snmpd[/] on udp 127.0.0.1:{port}")
        err.print(
            f"  v2c community {config.community!r}; v3 user {config.v3_user!r} SHA "
            f"{config.auth_password!r} AES {config.priv_password!r}"
        )
        err.print(f"  state file (edit to change values): {config.state}")
        err.print("  Ctrl-C to stop")
        process = subprocess.Popen(ups_snmpd.snmpd_command(config))
        try:
            code = process.wait()
        except KeyboardInterrupt:
            process.terminate()
            process.wait()
            err.print("stopped")
            return
        if code != 0:
            err.print(f"[red]error:[/] snmpd exited with status {code}; is udp port {port} free and allowed?")
            raise typer.Exit(1)
