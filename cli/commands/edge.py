"""`transom edge ...`: run an edge node."""

from __future__ import annotations

import typer

app = typer.Typer(help="Run an edge node.", no_args_is_help=True)
