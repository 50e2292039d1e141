"""`transom driver ...`: inspect a driver's metadata or run one module against a device."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path

import trio
import typer

from cli.console import err, out
from drivers.sdk import DriverDefinitionError, DriverError, ModuleConfig, load_driver, metadata_of
from drivers.sdk.settings import layer_problems

CONTEXT = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(help="Inspect or run one driver.", no_args_is_help=True, context_settings=CONTEXT)


@app.command(name="info", context_settings=CONTEXT)
def info(
    target: str = typer.Argument(
        ..., help="The driver: pkg.module:Class, pkg.module, or a .py file (optionally file.py:Class)."
    ),
) -> None:
    """Print a driver's metadata as JSON, without running it.

    The document has the driver's declarations (descriptive_name, generic_name,
    default_settings, transport, default_port/default_uri, makebreak), its functions with
    JSON schemas for their arguments (interface, functions), the security levels, the
    interfaces it implements and its settings schema.

    Example:

        transom driver info drivers.pjlink.projector:PJLinkProjector
    """
    try:
        document = metadata_of(load_driver(target)).as_json()
    except DriverDefinitionError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False, markup=True)
        raise typer.Exit(2) from None
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


@app.command(name="docs", context_settings=CONTEXT)
def docs(
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file, not stdout."),
) -> None:
    """Print the bundled drivers' reference (functions, levels, settings) as Markdown.

    Example:

        transom driver docs --output docs/drivers.md
    """
    from drivers.catalog import render_markdown

    text = render_markdown()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)


# Settings the SDK's transports and the node's dispatch read for any driver.
FRAMEWORK_SETTINGS = frozenset(
    {"basic_auth", "headers", "tls_verify", "websocket_text", "ssh", "snmp", "dispatch_sources"}
)


@app.command(name="run", context_settings=CONTEXT)
def run(
    target: str = typer.Argument(..., help="The driver: pkg.module:Class, pkg.module, or a .py file."),
    ip: str = typer.Option("", "--ip", help="The device's address."),
    port: int | None = typer.Option(None, "--port", help="The device's port (default: the driver's)."),
    uri: str = typer.Option("", "--uri", help="The device's URI (HTTP and WebSocket drivers)."),
    setting: list[str] = typer.Option(
        [], "--setting", "-s", help="A module setting as key=value (the value is JSON if it parses)."
    ),
    in_process: bool = typer.Option(False, "--in-process", help="Run in this process, not a host process."),
    module_id: str = typer.Option("mod-run", "--id", help="The module's id."),
) -> None:
    """Run one module against a real device or simulator: live status, and a prompt for calls.

    Status changes print as they happen. Each line you type calls a function as an admin:
    `power true`, `power(true)` or `{"method": "power", "args": [true]}`; `help` lists the
    functions. Ctrl-C (or Ctrl-D) stops the module and exits.

    Example:

        transom driver run drivers/pjlink/projector.py --ip 10.0.0.5 --setting password=\\"secret\\"
    """
    from cli.commands.driver_run import run_module

    settings: dict[str, object] = {}
    for item in setting:
        key, sep, value = item.partition("=")
        if not sep or not key:
            err.print(f"[red]error:[/] --setting wants key=value, not {item!r}", highlight=False)
            raise typer.Exit(2)
        try:
            settings[key] = json.loads(value)
        except ValueError:
            settings[key] = value
    where, colon, class_name = target.partition(":")
    if where.endswith(".py"):  # the host process may not share our working directory
        target = f"{Path(where).resolve()}{colon}{class_name}"
    try:
        declared = load_driver(target).declared_settings()
    except DriverDefinitionError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    # One module's own settings: a key the driver does not declare is a typo, not a shared layer.
    # A driver that declares no settings has no schema to judge keys by: any are passed on.
    unknown = sorted(set(settings) - set(declared) - FRAMEWORK_SETTINGS) if declared else []
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        err.print(f"[red]error:[/] unknown setting {', '.join(unknown)}; this driver's settings: {known}")
        raise typer.Exit(2)
    for key, why in layer_problems(declared, settings):
        err.print(f"[red]error:[/] --setting {key}: {why}", highlight=False)
        raise typer.Exit(2)
    config = ModuleConfig(id=module_id, ip=ip, port=port, uri=uri, settings=settings)
    try:
        trio.run(partial(run_module, target, config, in_process=in_process, console=out))
    except* KeyboardInterrupt:
        err.print("stopped")
    except* DriverError as group:
        err.print(f"[red]error:[/] {group.exceptions[0]}", highlight=False)
        raise typer.Exit(1) from None
