"""`transom driver ...`: inspect a driver's metadata or run one module against a device."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console

from drivers.sdk import DriverDefinitionError, load_driver, metadata_of

CONTEXT = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(help="Inspect or run one driver.", no_args_is_help=True, context_settings=CONTEXT)

err = Console(stderr=True)


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
