"""`transom cloud ...`: run and administer the cloud tier."""

from __future__ import annotations

from functools import partial

import trio
import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(help="Run and administer the cloud tier.", no_args_is_help=True)

err = Console(stderr=True)
out = Console()


@app.command(name="run", context_settings={"help_option_names": ["-h", "--help"]})
def run(
    data_dir: str = typer.Option(..., "--data-dir", help="Directory for the store, auth secret and state."),
    listen: str = typer.Option("127.0.0.1:8080", "--listen", help="HOST:PORT to serve the API on."),
    store: str = typer.Option(
        "", "--store", help="Config store URL (default: the SQLite file store.db in --data-dir)."
    ),
    admin_password: str = typer.Option(
        "",
        "--admin-password",
        envvar="TRANSOM_ADMIN_PASSWORD",
        help="Password of the first admin user `admin`; needed only on a store with no users.",
        show_envvar=True,
    ),
) -> None:
    """Serve the cloud API (REST and WebSocket control) until Ctrl-C or SIGTERM.

    Example:

        TRANSOM_ADMIN_PASSWORD=changeme transom cloud run --data-dir ./cloud --listen 127.0.0.1:8080
    """
    from cloud.auth.errors import FirstAdminPasswordMissing
    from cloud.server import serve_cloud
    from cloud.store.errors import StoreError
    from sync.listen import ListenAddressInvalid

    serve = partial(
        serve_cloud,
        data_dir=data_dir,
        listen=listen,
        store_url=store or None,
        admin_password=admin_password or None,
        task_status=_Announce(),
    )
    try:
        trio.run(serve)
    except BaseException as raised:
        exc = _single(raised)
        if isinstance(exc, KeyboardInterrupt):
            out.print("stopped")
            return
        if isinstance(exc, FirstAdminPasswordMissing):
            err.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(2) from None
        if isinstance(exc, ListenAddressInvalid | StoreError | ValueError | OSError):
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from None
        raise
    out.print("stopped")


class _Announce:
    """The task status of serve_cloud: prints where the API listens once it does."""

    def started(self, binds: list[str] | None = None) -> None:
        out.print(f"Transom cloud API on {', '.join(binds or [])}/api/engine/v2 (Ctrl-C stops it)")


def _single(exc: BaseException) -> BaseException:
    """The one error inside nested one-member exception groups (trio's nurseries wrap errors)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


@app.command(name="reindex", context_settings={"help_option_names": ["-h", "--help"]})
def reindex(
    data_dir: str = typer.Option(..., "--data-dir", help="The cloud's data directory."),
    store: str = typer.Option("", "--store", help="Config store URL (default: store.db in --data-dir)."),
) -> None:
    """Rebuild the search index from the config store, showing progress (run it with the cloud stopped).

    Example:

        transom cloud reindex --data-dir ./cloud
    """
    from pathlib import Path

    from rich.progress import Progress

    from cloud.search.errors import SearchError
    from cloud.search.reindex import reindex_data_dir
    from cloud.store.errors import StoreError

    with Progress(console=out) as bar:
        task = bar.add_task("indexing", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            count = trio.run(reindex_data_dir, Path(data_dir), store or None, progress)
        except (StoreError, SearchError, ValueError, OSError) as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from None
    out.print(f"indexed {count:,} documents")


@app.command(name="edge-key", context_settings={"help_option_names": ["-h", "--help"]})
def edge_key(
    edge: str = typer.Argument(..., help="The edge's id, or its name (an edge of that name is created)."),
    data_dir: str = typer.Option(..., "--data-dir", help="The cloud's data directory."),
    store: str = typer.Option("", "--store", help="Config store URL (default: store.db in --data-dir)."),
) -> None:
    """Issue the key an edge's nodes connect with, print it once (it replaces the edge's old key).

    Runs beside the running cloud or without it. The key belongs to the first admin user.

    Example:

        transom cloud edge-key "Level 3 comms room" --data-dir ./cloud
    """
    from cloud.edges.edge_key_command import issue_from_data_dir

    try:
        issued = trio.run(issue_from_data_dir, data_dir, store or None, edge)
    except Exception as exc:
        from cloud.edges.edge_key_command import EXPECTED_ERRORS

        if not isinstance(exc, EXPECTED_ERRORS):
            raise
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    action = "created edge" if issued.created else "edge"
    err.print(f"{action} {issued.edge['name']!r} ({issued.edge['id']}); its new key (shown only once):")
    typer.echo(issued.key)
