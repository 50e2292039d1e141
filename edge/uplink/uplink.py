"""serve_uplink: keep one session to the cloud open, forever, redialling with jittered backoff.

A silent cloud (frozen: its TCP connection stays open) is noticed by pings within
`session.DEAD_AFTER` seconds; redials back off from 0.25 s to at most 2 s, jittered.
While the cloud is unreachable nothing else changes: the node keeps appending to the outbox
(which grows, bounded for events) and reading its configuration from the replica.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, HandshakeError, open_websocket_url

from edge.uplink.backoff import Backoff
from edge.uplink.link_state import LinkState
from edge.uplink.session import ConfigStatus, ExecHandler, LinkSilent, UplinkSession, WebhookHandler
from sync.outbox import Outbox
from sync.replica import Replica

PATH = "/api/engine/v2/edges/control"
# A session that lasted this long counts as a success: the next failure retries quickly.
HEALTHY_SESSION = 10.0
# Snapshots come in chunks of 500 documents; this leaves room for large ones.
MAX_MESSAGE = 64 * 1024 * 1024
# Seconds for the TCP + TLS + WebSocket handshake.
CONNECT_TIMEOUT = 10.0

log = logging.getLogger(__name__)


def control_url(cloud_url: str) -> str:
    """The link's URL from the cloud's base URL (http -> ws, https -> wss; path added if absent)."""
    parts = urlsplit(cloud_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss"):
        raise ValueError(f"the cloud URL must be http(s) or ws(s), not {cloud_url!r}")
    path = parts.path if parts.path not in ("", "/") else PATH
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


async def serve_uplink(
    cloud_url: str,
    edge_key: str,
    node_id: str,
    outbox: Outbox,
    replica: Replica,
    exec_handler: ExecHandler,
    *,
    backoff: Backoff | None = None,
    ssl_context: ssl.SSLContext | None = None,
    on_connected: Callable[[], Awaitable[None]] | None = None,
    config_status: ConfigStatus | None = None,
    webhook_handler: WebhookHandler | None = None,
    state: LinkState | None = None,
    facts: Callable[[], dict[str, Any]] | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Run the edge's end of the link until cancelled.

    Args:
        cloud_url: the cloud's base URL (`https://cloud.example`), or the link URL itself.
        edge_key: the edge's key (`transom cloud edge-key EDGE`), sent as `X-API-Key`.
        node_id: this node's id; sequence numbers are per node.
        outbox: drained in batches; items are deleted as the cloud acknowledges them.
        replica: kept in step with the site's configuration.
        exec_handler: runs calls from the cloud: `await handler(module_id, method, args, role)`.
        webhook_handler: takes trigger webhook calls: `handler(instance_id, method)`.
        backoff: redial delays (jittered exponential by default).
        on_connected: run (in the session) each time the cloud says hello_ok: the node appends
            its modules' status snapshots, so the cloud's view is replaced, not merged.
        config_status: the node's configuration status, sent up with health (`UplinkSession`).
        state: kept up to date with whether the link is up (for the room panel and health).
        facts: what to report about the node with the outbox's health (e.g. `fenced`).

    task_status.started() is called at once: the uplink works in the background and the
    node must not wait for the WAN.
    """
    url = control_url(cloud_url)
    delays = backoff or Backoff()
    state = state if state is not None else LinkState(cloud_url)
    task_status.started()
    while True:
        started = trio.current_time()
        reason = "the link closed"
        try:
            await _one_session(
                url,
                edge_key,
                node_id,
                outbox,
                replica,
                exec_handler,
                ssl_context,
                state,
                on_connected=on_connected,
                config_status=config_status,
                webhook_handler=webhook_handler,
                facts=facts,
            )
        except ConnectionRejected as exc:
            reason = f"the cloud refused the edge key (HTTP {exc.status_code})"
            log.error("the cloud refused the edge key (HTTP %s); retrying later", exc.status_code)
        except Exception as exc:
            down = _link_down(exc)
            if down is not None:
                reason = f"cloud unreachable: {down!r}"
                log.info("cloud link down: %r", down)
            else:
                reason = f"cloud link failed: {exc!r}"
                log.exception("cloud link session failed")
        state.down(reason)
        if trio.current_time() - started > HEALTHY_SESSION:
            delays.reset()
        await trio.sleep(delays.next_delay())


# What a network, a dead or frozen cloud, or a cloud restart does to a session: the link is down,
# which is news for the log, not a failure to trace.
_LINK_DOWN = (
    OSError,
    HandshakeError,
    ConnectionClosed,
    trio.BrokenResourceError,
    trio.TooSlowError,
    LinkSilent,
)


def _link_down(exc: BaseException) -> BaseException | None:
    """The link-down error `exc` is, or wholly consists of (a session's nursery groups what its
    tasks raised); None for anything else."""
    if isinstance(exc, _LINK_DOWN):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        matched, rest = exc.split(_LINK_DOWN)
        if matched is not None and rest is None:
            leaf: BaseException = matched
            while isinstance(leaf, BaseExceptionGroup):
                leaf = leaf.exceptions[0]
            return leaf
    return None


async def _one_session(
    url: str,
    edge_key: str,
    node_id: str,
    outbox: Outbox,
    replica: Replica,
    exec_handler: ExecHandler,
    ssl_context: ssl.SSLContext | None,
    state: LinkState,
    on_connected: Callable[[], Awaitable[None]] | None = None,
    config_status: ConfigStatus | None = None,
    webhook_handler: WebhookHandler | None = None,
    facts: Callable[[], dict[str, Any]] | None = None,
) -> None:
    async with open_websocket_url(
        url,
        ssl_context=ssl_context,
        extra_headers=[(b"x-api-key", edge_key.encode())],
        max_message_size=MAX_MESSAGE,
        connect_timeout=CONNECT_TIMEOUT,
        disconnect_timeout=1,
    ) as ws:
        state.up()
        session = UplinkSession(
            ws,
            node_id=node_id,
            outbox=outbox,
            replica=replica,
            exec_handler=exec_handler,
            on_connected=on_connected,
            config_status=config_status,
            webhook_handler=webhook_handler,
            facts=facts,
        )
        await session.run(hello_timeout=CONNECT_TIMEOUT)
