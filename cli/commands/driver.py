"""`transom driver ...`: inspect a driver's metadata or run one module against a device."""

from __future__ import annotations

import typer

app = typer.Typer(help="Inspect or run one driver.", no_args_is_help=True)
