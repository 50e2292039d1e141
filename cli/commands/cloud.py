"""`transom cloud ...`: run and administer the cloud tier."""

from __future__ import annotations

import typer

app = typer.Typer(help="Run and administer the cloud tier.", no_args_is_help=True)
