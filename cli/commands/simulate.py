"""`transom simulate KIND`: run a device simulator standalone."""

from __future__ import annotations

import typer


def simulate(kind: str = typer.Argument(..., help="Which device to simulate.")) -> None:
    """Run a protocol-accurate device simulator.

    Example:

        transom simulate pjlink --port 4352
    """
    typer.echo(f"error: no simulator named {kind!r} yet", err=True)
    raise typer.Exit(2)
