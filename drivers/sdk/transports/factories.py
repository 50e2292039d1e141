"""Build each kind of transport from a module's ModuleConfig, for the runtime's registry.

Module settings each kind reads (all optional):

    tls, websocket (wss), http (https)
        tls_verify: bool        check the device's certificate (default False: devices
                                ship self-signed ones; turn it on per module)
    websocket   headers: {name: value}; websocket_text: bool (send text frames)
    http        headers: {name: value}; basic_auth: {username, password}
    ssh         ssh: {username, password, keys: [private key paths], known_hosts: path,
                      pty: bool (default true)}
    snmp        snmp: {version: "2c"|"3", community, write_community, user, auth_key,
                       priv_key, auth_protocol, priv_protocol, timeout, retries}

The asyncssh- and pysnmp-backed kinds are imported only when a module of that kind is
built, so loading the SDK stays light.
"""

from __future__ import annotations

from typing import Any

from drivers.sdk.config import ModuleConfig
from drivers.sdk.transports.http import HTTPClient
from drivers.sdk.transports.tcp import TCPTransport
from drivers.sdk.transports.tls import client_ssl_context
from drivers.sdk.transports.udp import UDPTransport
from drivers.sdk.transports.websocket import WebSocketTransport

SNMP_PORT = 161
SSH_PORT = 22


def tcp(config: ModuleConfig) -> TCPTransport:
    return TCPTransport(config.ip, _port(config))


def tls(config: ModuleConfig) -> TCPTransport:
    context = client_ssl_context(verify=bool(config.settings.get("tls_verify", False)))
    return TCPTransport(config.ip, _port(config), ssl_context=context)


def udp(config: ModuleConfig) -> UDPTransport:
    return UDPTransport(config.ip, _port(config))


def websocket(config: ModuleConfig) -> WebSocketTransport:
    uri = config.uri or f"{'wss' if config.tls else 'ws'}://{config.ip}:{_port(config)}/"
    context = None
    if uri.startswith("wss:"):
        context = client_ssl_context(verify=bool(config.settings.get("tls_verify", False)))
    return WebSocketTransport(
        uri,
        headers=config.settings.get("headers"),
        ssl_context=context,
        send_text=bool(config.settings.get("websocket_text", False)),
    )


def http(config: ModuleConfig) -> HTTPClient:
    base = config.uri or f"{'https' if config.tls else 'http'}://{config.ip}:{_port(config)}/"
    basic = config.settings.get("basic_auth") or {}
    auth = (str(basic["username"]), str(basic.get("password", ""))) if basic.get("username") else None
    return HTTPClient(
        base,
        headers=config.settings.get("headers"),
        auth=auth,
        verify=bool(config.settings.get("tls_verify", False)),
    )


def ssh(config: ModuleConfig) -> Any:
    from drivers.sdk.transports.ssh import SSHShellTransport

    options = config.settings.get("ssh") or {}
    return SSHShellTransport(
        config.ip,
        config.port or SSH_PORT,
        str(options.get("username", "")),
        password=options.get("password"),
        client_keys=options.get("keys"),
        known_hosts=options.get("known_hosts"),
        request_pty=bool(options.get("pty", True)),
    )


def snmp(config: ModuleConfig) -> Any:
    from drivers.sdk.transports.snmp import SNMPClient

    options: dict[str, Any] = dict(config.settings.get("snmp") or {})
    options["version"] = str(options.get("version", "2c"))
    return SNMPClient(config.ip, config.port or SNMP_PORT, **options)


def _port(config: ModuleConfig) -> int:
    if config.port is None:
        raise ValueError(f"module {config.id!r} has no port and its driver no default_port")
    return config.port


FACTORIES = {
    "tcp": tcp,
    "tls": tls,
    "udp": udp,
    "websocket": websocket,
    "http": http,
    "ssh": ssh,
    "snmp": snmp,
}
