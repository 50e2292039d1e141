"""`transom cloud ...`: run and administer the cloud tier."""

from __future__ import annotations

from functools import partial

import trio
import typer
from rich.markup import escape

from cli.commands import cloud_app
from cli.console import err, out
from cli.logs import LogOptionInvalid, configure_logging

app = typer.Typer(help="Run and administer the cloud tier.", no_args_is_help=True)
app.add_typer(cloud_app.app, name="app")


@app.command(name="run", context_settings={"help_option_names": ["-h", "--help"]})
def run(
    data_dir: str = typer.Option(..., "--data-dir", help="Directory for the store, auth secret and state."),
    listen: str = typer.Option("127.0.0.1:8080", "--listen", help="HOST:PORT to serve the API on."),
    store: str = typer.Option(
        "", "--store", help="Config store URL (default: the SQLite file store.db in --data-dir)."
    ),
    search: str = typer.Option(
        "", "--search", help="Search engine: fts5 (default), postgresql, or an Elasticsearch http(s):// URL."
    ),
    admin_password: str = typer.Option(
        "",
        "--admin-password",
        envvar="TRANSOM_ADMIN_PASSWORD",
        help="Password of the first admin user `admin`; needed only on a store with no users.",
        show_envvar=True,
    ),
    tls_cert: str = typer.Option("", "--tls-cert", help="PEM certificate chain: serve HTTPS and WSS."),
    tls_key: str = typer.Option("", "--tls-key", help="PEM private key of --tls-cert."),
    www: str = typer.Option(
        "",
        "--www",
        help="Directory of static front ends: each sub-folder (e.g. backoffice/) is served at /<folder>/.",
    ),
    public_url: list[str] = typer.Option(
        [],
        "--public-url",
        help="An origin browsers reach the cloud at, e.g. https://transom.example.com (repeatable; "
        "default: the listen address). Each --www front end's OAuth app is registered for each.",
    ),
    trust_proxy: list[str] = typer.Option(
        [],
        "--trust-proxy",
        help="An address or network (e.g. 127.0.0.1) whose X-Forwarded-Proto/Host/For are believed "
        "(repeatable; default: none).",
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    log_format: str = typer.Option("text", "--log-format", help="text, or json (one object per line)."),
) -> None:
    """Serve the cloud API (REST and WebSocket control) until Ctrl-C or SIGTERM.

    Example:

        TRANSOM_ADMIN_PASSWORD=changeme transom cloud run --data-dir ./cloud --listen 127.0.0.1:8080

    Serving PlaceOS's Backoffice (built into ./www/backoffice) behind a TLS proxy:

        transom cloud run --data-dir ./cloud --www ./www --public-url https://transom.example.com \\
            --trust-proxy 127.0.0.1
    """
    from cloud.auth.errors import FirstAdminPasswordMissing
    from cloud.forwarded import TrustedProxyInvalid
    from cloud.search.errors import SearchError
    from cloud.server import TlsOptionsInvalid, serve_cloud
    from cloud.store.errors import StoreError
    from cloud.www import WwwInvalid
    from sync.listen import ListenAddressInvalid

    try:
        configure_logging(log_level, log_format)
    except LogOptionInvalid as invalid:
        err.print(f"[red]error:[/] {escape(str(invalid))}", highlight=False)
        raise typer.Exit(2) from None
    serve = partial(
        serve_cloud,
        data_dir=data_dir,
        listen=listen,
        store_url=store or None,
        search_engine=search or None,
        admin_password=admin_password or None,
        tls_cert=tls_cert or None,
        tls_key=tls_key or None,
        www=www or None,
        public_urls=public_url,
        trust_proxies=trust_proxy,
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
        refused = (
            ListenAddressInvalid,
            TlsOptionsInvalid,
            WwwInvalid,
            TrustedProxyInvalid,
            StoreError,
            SearchError,
            ValueError,
            OSError,
        )
        if isinstance(exc, refused):
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from None
        raise
    out.print("stopped")


@app.command(name="backup", context_settings={"help_option_names": ["-h", "--help"]})
def backup_command(
    data_dir: str = typer.Option(..., "--data-dir", help="The cloud's data directory (it may be running)."),
    out_file: str = typer.Option(..., "--out", help="The archive to write, e.g. cloud-backup.tar.gz."),
) -> None:
    """Back up a cloud's data directory into one archive while it keeps serving.

    The archive holds the store, auth's and the edge hub's databases (consistent snapshots)
    and the auth secret: keep it as safe as the cloud itself.

    Example:

        transom cloud backup --data-dir ./cloud --out cloud-2026-12-07.tar.gz
    """
    from cloud.backup import BackupError, backup

    try:
        summary = backup(data_dir, out_file, progress=lambda step: err.print(step, highlight=False))
    except BackupError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    out.print(f"backed up revision {summary.head_revision} ({', '.join(summary.files)}) to {summary.path}")


@app.command(name="restore", context_settings={"help_option_names": ["-h", "--help"]})
def restore_command(
    archive: str = typer.Argument(..., help="An archive `transom cloud backup` wrote."),
    data_dir: str = typer.Option(..., "--data-dir", help="An empty (or new) data directory to restore into."),
) -> None:
    """Restore a backup into a fresh data directory (then `transom cloud run --data-dir` it).

    Example:

        transom cloud restore cloud-2026-12-07.tar.gz --data-dir ./cloud-restored
    """
    from cloud.backup import BackupError, restore

    try:
        summary = restore(archive, data_dir, progress=lambda step: err.print(step, highlight=False))
    except BackupError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    out.print(f"restored revision {summary.head_revision} into {summary.path}")


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
    search: str = typer.Option("", "--search", help="Search engine to rebuild (as `cloud run --search`)."),
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
            count = trio.run(reindex_data_dir, Path(data_dir), store or None, progress, search or None)
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


@app.command(name="enrol-token", context_settings={"help_option_names": ["-h", "--help"]})
def enrol_token(
    site: str = typer.Option(..., "--site", help="The site: an edge's id, or its name (created if new)."),
    data_dir: str = typer.Option(..., "--data-dir", help="The cloud's data directory."),
    expires: str = typer.Option("24h", "--expires", help="How long the token is good for: 30m, 24h, 7d."),
    uses: int = typer.Option(1, "--uses", min=1, max=1000, help="How many nodes may enrol with it."),
    store: str = typer.Option("", "--store", help="Config store URL (default: store.db in --data-dir)."),
) -> None:
    """Issue a one-time enrolment token for a site's edge nodes; print it once.

    Put it, with the cloud's URL, in the image's enrolment file (or `transom image build
    --enrolment-token`); the node exchanges it for its own credentials on first boot.

    Example:

        transom cloud enrol-token --site "Level 3 comms room" --expires 24h --uses 2 --data-dir ./cloud
    """
    from cloud.edges.enrolment_command import EXPECTED_ERRORS, issue_from_data_dir

    try:
        issued = trio.run(
            partial(issue_from_data_dir, data_dir, store or None, site, expires=expires, uses=uses)
        )
    except Exception as exc:
        if not isinstance(exc, EXPECTED_ERRORS):
            raise
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    record = issued.record
    err.print(
        f"enrolment token for edge {issued.edge['name']!r} ({issued.edge['id']}): "
        f"{record['uses']} use(s), expires in {expires} (shown only once):"
    )
    typer.echo(issued.token)
