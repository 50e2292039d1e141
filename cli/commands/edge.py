"""`transom edge ...`: run an edge node."""

from __future__ import annotations

from functools import partial
from typing import Any

import trio
import typer
from rich.markup import escape

from cli.console import err, out
from cli.logs import LogOptionInvalid, configure_logging

app = typer.Typer(help="Run an edge node.", no_args_is_help=True)


@app.command(name="run", context_settings={"help_option_names": ["-h", "--help"]})
def run(
    data_dir: str = typer.Option(..., "--data-dir", help="Directory for the node's id and state."),
    config: str = typer.Option(
        "", "--config", help="Site configuration file (YAML or JSON: drivers, systems, modules, ...)."
    ),
    node_id: str = typer.Option("", "--node-id", help="This node's id (default: kept in --data-dir)."),
    site: str = typer.Option("default", "--site", help="The site this node belongs to."),
    etcd: str = typer.Option("", "--etcd", help="etcd URL[,URL...] for a multi-node site."),
    lease_ttl: float = typer.Option(
        3.0,
        "--lease-ttl",
        help="Seconds of this node's etcd lease: a dead node's modules move after about this.",
    ),
    peer_key: str = typer.Option(
        "",
        "--peer-key",
        envvar="TRANSOM_PEER_KEY",
        show_envvar=True,
        help="An API key of the site this node forwards exec with to the node running the module.",
    ),
    redis: str = typer.Option("", "--redis", help="Redis URL for the state bus (default: in-process)."),
    listen: str = typer.Option("127.0.0.1:8081", "--listen", help="HOST:PORT of the local API."),
    trap_port: int | None = typer.Option(
        None,
        "--trap-port",
        min=0,
        max=65535,
        help="UDP port for SNMP traps, on the --listen host, routed to the module owning each "
        "sender (162 needs root; e.g. 1162). Default: no trap receiver.",
    ),
    cloud: str = typer.Option(
        "", "--cloud", help="The cloud's URL: sync with it (configuration down, status and events up)."
    ),
    edge_key: str = typer.Option(
        "",
        "--edge-key",
        envvar="TRANSOM_EDGE_KEY",
        show_envvar=True,
        help="This edge's key for --cloud (from `transom cloud edge-key EDGE`).",
    ),
    tls_cert: str = typer.Option(
        "", "--tls-cert", help="PEM certificate chain: the local API serves HTTPS/WSS."
    ),
    tls_key: str = typer.Option("", "--tls-key", help="PEM private key of --tls-cert."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    log_format: str = typer.Option("text", "--log-format", help="text, or json (one object per line)."),
) -> None:
    """Run an edge node: its modules in driver host processes, and the local API, until Ctrl-C or SIGTERM.

    With --cloud and --edge-key the configuration comes from the cloud and is kept in
    DATA_DIR/replica.db, so the node also starts and runs with the cloud unreachable; what it
    observes waits in DATA_DIR/outbox.db until the cloud has it.

    Dispatch listens on the --listen host: SNMP traps on --trap-port, and the UDP/TCP ports
    drivers declare, each sender's data going to the module whose ip (or `dispatch_sources`
    setting) it is.

    Example:

        transom edge run --data-dir ./node --config site.yaml --listen 0.0.0.0:8081 --trap-port 1162

        transom edge run --data-dir ./node --cloud https://cloud.example --edge-key KEY

        transom edge run --data-dir ./n1 --config site.yaml --node-id n1 --listen 10.0.0.7:8081 \\
            --etcd http://10.0.0.2:2379,http://10.0.0.3:2379 --redis redis://10.0.0.2:6379/0
    """
    from edge.config.errors import SiteConfigInvalid
    from edge.node import NodeOptions, serve_node
    from sync.listen import ListenAddressInvalid

    try:
        configure_logging(log_level, log_format)
    except LogOptionInvalid as invalid:
        err.print(f"[red]error:[/] {escape(str(invalid))}", highlight=False)
        raise typer.Exit(2) from None
    options = NodeOptions(
        data_dir=data_dir,
        config=config or None,
        node_id=node_id,
        site=site,
        etcd=[url.strip() for url in etcd.split(",") if url.strip()],
        lease_ttl=lease_ttl,
        peer_key=peer_key,
        redis=redis,
        listen=listen,
        cloud=cloud,
        edge_key=edge_key,
        trap_port=trap_port,
        tls_cert=tls_cert,
        tls_key=tls_key,
    )
    try:
        trio.run(partial(serve_node, options, task_status=_Announce()))
    except BaseException as raised:
        exc = _single(raised)
        if isinstance(exc, KeyboardInterrupt):
            out.print("stopped")
            return
        if isinstance(exc, SiteConfigInvalid | ListenAddressInvalid | ValueError | OSError):
            err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(2) from None
        raise
    out.print("stopped")


class _Announce:
    """The task status of serve_node: prints where the local API listens once it does."""

    def started(self, value: dict[str, Any] | None = None) -> None:
        info = value or {}
        out.print(
            f"Transom edge node {info.get('node_id')} on {info.get('api')}/api/engine/v2 (Ctrl-C stops it)"
        )


def _single(exc: BaseException) -> BaseException:
    """The one error inside nested one-member exception groups (trio's nurseries wrap errors)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc
