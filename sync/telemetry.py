"""What the cloud's and the edge's HTTP apps say about themselves: access logs, health, readiness, metrics.

Both sides serve the same operational surface, so a load balancer, a log pipeline and a
Prometheus server treat a cloud worker and an edge node alike:

    GET /health    liveness: 200 while the process serves requests
    GET /ready     readiness: 200 when its dependencies answer (503 and which one otherwise)
    GET /metrics   Prometheus text: request latency by route and status, plus the side's own
                   gauges (edges online, modules by state, ...), read when scraped

Every HTTP request is logged once, when it ends, on the `transom.access` logger with its
request id (the caller's `X-Request-Id` when it sends a sane one, else a new one, echoed
back), method, route template, status, duration and the principal that made it.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("transom.access")

# A caller's request id is kept only if it is short and plain (it goes into logs as is).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Latency buckets in seconds: sub-millisecond exec on a LAN up to a slow list on a big cloud.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Gauges = Callable[[], Iterable[tuple[str, str, dict[str, str], float]]]


def control_gauges(sessions: int, bindings: int) -> Iterator[tuple[str, str, dict[str, str], float]]:
    """The control WebSocket's gauges, the same on both sides."""
    yield "transom_control_sessions", "Control WebSocket sessions open now.", {}, float(sessions)
    yield "transom_control_bindings", "Status bindings of the open control sessions.", {}, float(bindings)


"""Yields (metric name, help text, labels, value) when scraped."""
Readiness = Callable[[], Awaitable[dict[str, str]]]
"""Returns each dependency's state: "ok", or why it is not ready."""


class _GaugeCollector(Collector):
    def __init__(self, gauges: Gauges) -> None:
        self._gauges = gauges

    def collect(self) -> Iterable[GaugeMetricFamily]:
        families: dict[str, GaugeMetricFamily] = {}
        for name, documentation, labels, value in self._gauges():
            family = families.get(name)
            if family is None:
                family = GaugeMetricFamily(name, documentation, labels=sorted(labels))
                families[name] = family
            family.add_metric([labels[key] for key in sorted(labels)], value)
        return list(families.values())


class Telemetry:
    """One app's access log, metrics registry and health routes (see the module docstring).

    Args:
        side: "cloud" or "edge", a label on every log line.
        gauges: read at each scrape for the side's own figures.
        readiness: checks the side's dependencies for `/ready`.
    """

    def __init__(
        self, side: str, *, gauges: Gauges | None = None, readiness: Readiness | None = None
    ) -> None:
        self.side = side
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "transom_http_request_duration_seconds",
            "HTTP requests by method, route template and status, and how long they took.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        if gauges is not None:
            self.registry.register(_GaugeCollector(gauges))
        self.readiness = readiness

    def install(self, app: Starlette) -> None:
        """Add the access log middleware and the /health, /ready and /metrics routes to `app`."""
        app.add_middleware(AccessLog, telemetry=self)
        app.add_route("/health", self._health, methods=["GET"], include_in_schema=False)
        app.add_route("/ready", self._ready, methods=["GET"], include_in_schema=False)
        app.add_route("/metrics", self._metrics, methods=["GET"], include_in_schema=False)

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "side": self.side})

    async def _ready(self, request: Request) -> Response:
        try:
            checks = await self.readiness() if self.readiness is not None else {}
        except Exception as exc:  # a check that breaks means not ready, never a 500
            checks = {"readiness": f"check failed: {exc}"}
        ready = all(state == "ok" for state in checks.values())
        body = {"status": "ready" if ready else "not_ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def _metrics(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class AccessLog:
    """ASGI middleware: a request id on every HTTP request, and one log line and one sample when it ends."""

    def __init__(self, app: ASGIApp, *, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id)]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, request_id.decode(), status, time.perf_counter() - started)

    def _record(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        route = _route_template(scope)
        method = str(scope.get("method", ""))
        self.telemetry.requests.labels(method, route, str(status)).observe(seconds)
        if route in ("/health", "/metrics"):
            return  # probes every few seconds would drown the log
        principal = (scope.get("state") or {}).get("principal")
        fields: dict[str, Any] = {
            "side": self.telemetry.side,
            "request_id": request_id,
            "method": method,
            "path": scope.get("path", ""),
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "principal": getattr(principal, "user_id", None) or "-",
            "client": (scope.get("client") or ("-",))[0],
        }
        level = logging.WARNING if status >= 500 else logging.INFO
        text = " ".join(f"{key}={value}" for key, value in fields.items())
        access_log.log(level, text, extra={"fields": fields})


def _route_template(scope: Scope) -> str:
    """The request's path with each path parameter named, e.g. `/systems/{sys_id}` (bounded labels).

    Built from the path and its matched parameters, since an included router's route object
    knows only its own part of the path.
    """
    if scope.get("route") is None:
        return "unmatched"
    params = {str(v): k for k, v in (scope.get("path_params") or {}).items()}
    segments = str(scope.get("path", "")).split("/")
    return "/".join(f"{{{params[part]}}}" if part in params else part for part in segments)


def _request_id(scope: Scope) -> bytes:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _REQUEST_ID.fullmatch(text):
                return value
    return uuid.uuid4().hex[:16].encode()
