"""`transom demo`: the whole product on embedded defaults (SQLite, in-process bus, one node)."""

from __future__ import annotations

import typer


def demo() -> None:
    """Run the cloud, one edge node and simulated devices for a demo site.

    Example:

        transom demo --port 8080
    """
    typer.echo("transom demo: the cloud API, edge node and simulators are not built yet; "
               "today only the config store and benchmarks exist (try `transom bench`).")
