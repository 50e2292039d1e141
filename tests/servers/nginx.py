"""Fixture `reverse_proxy`: Debian's nginx in front of a server, on a free loopback port.

What an integrator puts in front of the cloud: it passes HTTP and WebSocket upgrades to the
upstream and tells it the browser's scheme and host in X-Forwarded-Proto/Host/For, but
sends the upstream's own address as Host (so only a cloud that trusts the proxy sees the
browser's origin). One process (`master_process off`), logs and temp files in the test's
directory; `reverse_proxy(upstream_port)` starts one and it is stopped after the test.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.servers.ports import free_port
from tests.servers.process import (
    ProcessControls,
    ServerProcess,
    port_accepts,
    require_binary,
    start_on_free_ports,
)

CONFIG = """
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 8m;
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 300s;
            proxy_buffering off;
        }}
    }}
}}
"""


class ReverseProxy(ProcessControls):
    """A running nginx proxying `url` to the upstream port."""

    def __init__(self, binary: str, base_dir: Path, upstream: int) -> None:
        self.port = free_port()
        self.dir = base_dir
        config = base_dir / "nginx.conf"
        config.write_text(CONFIG.format(dir=base_dir, port=self.port, upstream=upstream))
        argv = [binary, "-p", str(base_dir), "-e", str(base_dir / "error.log"), "-c", str(config)]
        self.process = ServerProcess(
            "nginx", argv, log_path=base_dir / "nginx.log", ready=functools.partial(port_accepts, self.port)
        )

    def __repr__(self) -> str:
        return f"<ReverseProxy {self.url}>"

    @property
    def url(self) -> str:
        """The origin browsers use, e.g. http://127.0.0.1:8443."""
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def reverse_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[int], ReverseProxy]]:
    """Start nginx in front of a loopback port: `reverse_proxy(upstream_port)`; stopped after the test."""
    binary = require_binary("/usr/sbin/nginx", package="nginx")
    started: list[ReverseProxy] = []

    def start(upstream: int) -> ReverseProxy:
        proxy = start_on_free_ports(
            lambda: ReverseProxy(binary, tmp_path_factory.mktemp("nginx"), upstream),
            lambda proxy: proxy.process.start(),
            lambda proxy: [proxy.process],
        )
        started.append(proxy)
        return proxy

    try:
        yield start
    finally:
        for proxy in started:
            proxy.stop()
