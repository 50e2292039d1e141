"""A real SMTP server (aiosmtpd) in a process of its own, for the e-mail action tests.

    python -m tests.edge.triggers._smtp_server PORT CERT KEY tls|starttls INBOX

It takes the login alerts / pa55, writes each message it is given as one JSON line to INBOX,
and prints `ready` once it listens. A process of its own because trio-asyncio, once imported
by the code under test, takes over asyncio's loops in that process.
"""

from __future__ import annotations

import json
import ssl
import sys
import threading
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Inbox:
    def __init__(self, path: str) -> None:
        self.path = path

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with open(self.path, "a") as out:  # noqa: ASYNC230 -- aiosmtpd calls this; a line to a local file
            out.write(
                json.dumps([envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode()]) + "\n"
            )
        return "250 OK"


def login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    good = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"alerts",
        b"pa55",
    )
    return AuthResult(success=good)


def main() -> None:
    port, cert, key, mode, inbox = sys.argv[1:6]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    # aiosmtpd advertises AUTH over implicit TLS only when told TLS is not needed for it (it
    # tracks STARTTLS only; the whole connection is TLS here); over STARTTLS it insists on it.
    options: dict[str, Any] = (
        {"ssl_context": context, "auth_require_tls": False}
        if mode == "tls"
        else {"tls_context": context, "require_starttls": True, "auth_required": True}
    )
    controller = Controller(
        Inbox(inbox),
        hostname="127.0.0.1",
        port=int(port),
        authenticator=login,
        server_hostname="localhost",
        **options,
    )
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
