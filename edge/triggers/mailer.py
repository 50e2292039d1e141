"""Sending a trigger's e-mails through the SMTP server its system's settings name.

The server is the `smtp` setting of the system (merged over its zones, later zones win), so
one zone can configure every building below it; its password belongs in settings above
encryption level none, which are sealed at rest and on the way to the edge:

    smtp:
      host: mail.example.com
      port: 587                 # default: 465 for tls, 587 for starttls, 25 otherwise
      security: starttls        # starttls | tls | none
      username: alerts
      password: ...
      from: alerts@example.com  # default: the username, else transom@<host>
      ca_cert: "-----BEGIN CERTIFICATE-----..."   # extra trust, for a private CA
      timeout: 20

smtplib runs in a worker thread (it blocks); each firing opens one connection for all its
mailers, as PlaceOS does.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import trio

SECURITY = ("starttls", "tls", "none")
DEFAULT_PORTS = {"tls": 465, "starttls": 587, "none": 25}


class SmtpNotConfigured(Exception):
    """Raised when a trigger has mailers but its system has no usable `smtp` setting."""


@dataclass(frozen=True)
class SmtpConfig:
    """An SMTP server and how to log in to it."""

    host: str
    port: int
    security: str = "starttls"
    username: str = ""
    password: str = ""
    sender: str = ""
    ca_cert: str = ""
    timeout: float = 20.0

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> SmtpConfig:
        """Read the `smtp` setting.

        Raises:
            SmtpNotConfigured: it is missing or malformed (the message names the field).
        """
        raw = settings.get("smtp")
        if not isinstance(raw, Mapping) or not raw.get("host"):
            raise SmtpNotConfigured(
                "the system has no `smtp` setting with a host (set it on the system or a zone)"
            )
        security = str(raw.get("security", "starttls")).lower()
        if security not in SECURITY:
            raise SmtpNotConfigured(f"smtp.security: {security!r} is not one of {', '.join(SECURITY)}")
        try:
            port = int(raw.get("port") or DEFAULT_PORTS[security])
            timeout = float(raw.get("timeout") or 20.0)
        except (TypeError, ValueError) as exc:
            raise SmtpNotConfigured(f"smtp.port or smtp.timeout is not a number: {exc}") from None
        username = str(raw.get("username") or "")
        return cls(
            host=str(raw["host"]),
            port=port,
            security=security,
            username=username,
            password=str(raw.get("password") or ""),
            sender=str(raw.get("from") or username or f"transom@{raw['host']}"),
            ca_cert=str(raw.get("ca_cert") or ""),
            timeout=timeout,
        )

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.ca_cert:
            context.load_verify_locations(cadata=self.ca_cert)
        return context


@dataclass(frozen=True)
class Mail:
    """One message to send."""

    to: str
    subject: str
    body: str


async def send_mail(config: SmtpConfig, messages: Sequence[Mail]) -> None:
    """Send `messages` over one connection.

    Raises:
        OSError, smtplib.SMTPException, ssl.SSLError: the server refused or could not be reached.
    """
    await trio.to_thread.run_sync(_send_blocking, config, list(messages))


def _send_blocking(config: SmtpConfig, messages: list[Mail]) -> None:
    client: smtplib.SMTP
    if config.security == "tls":
        client = smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout, context=config.tls_context()
        )
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    with client:
        if config.security == "starttls":
            client.starttls(context=config.tls_context())
        if config.username:
            client.login(config.username, config.password)
        for mail in messages:
            message = EmailMessage()
            message["From"] = config.sender
            message["To"] = mail.to
            message["Subject"] = mail.subject
            message.set_content(mail.body)
            client.send_message(message)
