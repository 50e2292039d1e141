"""`transom demo`: the whole product on embedded defaults (SQLite, in-process bus, one node)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from cli.console import err, out

DEFAULT_DATA_DIR = "data/demo"  # under /data/, which .gitignore leaves out


def demo(
    port: int = typer.Option(8080, "--port", help="Port of the cloud API (the edge's local API: the next)."),
    data_dir: str = typer.Option(
        DEFAULT_DATA_DIR, "--data-dir", help="Where the cloud, the edge node, logs and credentials live."
    ),
    admin_password: str = typer.Option(
        "",
        "--admin-password",
        help="Password of the admin user `admin` (default: the saved one, else a new one, printed at start).",
    ),
) -> None:
    """Run the cloud, one edge node and simulated devices for a demo site, until Ctrl-C.

    Starts `transom simulate` for each device, `transom cloud run`, seeds a building, a level
    and two rooms through the REST API, starts `transom edge run --cloud ...`, waits until the
    devices report through the cloud, then prints the URLs, credentials and a curl to try.
    Credentials are written to DATA_DIR/demo-credentials.json; a re-run reuses everything.

    Example:

        transom demo --port 8080 --data-dir data/demo
    """
    from cli.demo.processes import DemoError
    from cli.demo.run import DemoOptions, run_demo

    if not 1 <= port <= 65534:
        err.print(f"[red]error:[/] --port {port} must be 1..65534 (the edge node takes the next port)")
        raise typer.Exit(2)
    try:
        run_demo(DemoOptions(port=port, data_dir=Path(data_dir), admin_password=admin_password), out)
    except KeyboardInterrupt:
        out.print("stopped")
    except DemoError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
