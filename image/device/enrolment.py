"""The node's side of enrolment: read the ESP's file, make the key pair, exchange the token, keep the result.

    /boot/efi/transom/enrolment.conf     [enrolment] cloud, token, pin (SHA-256 of the cloud's
                                         certificate), allow_http (tests: plain HTTP off loopback)
    /var/lib/transom/node/identity.json  node id (made once: node-<8 hex>)
    /var/lib/transom/node/node-key.pem   the node's Ed25519 private key (0600)
    /var/lib/transom/node/enrolled.json  cloud URL, edge id and name, the node's edge key (0600)

HTTPS is checked against the system's CAs, or, with `pin`, the certificate must have that
SHA-256 fingerprint (a self-signed cloud). Plain HTTP is refused unless the cloud is on
loopback or the file says `allow_http = true`. Once enrolled, the token is removed from the
file (it is spent), so the ESP holds nothing secret.
"""

from __future__ import annotations

import configparser
import hashlib
import ipaddress
import json
import os
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from image.layout import DATA_MOUNT, ENROLMENT_FILE, ESP_MOUNT
from sync.enrolment import ENROL_PATH, EnrolRequest, EnrolResponse, Refusal, b64, signed_message

NODE_DIR = Path(DATA_MOUNT) / "node"
# Seconds one enrolment request may take (a slow WAN link, a busy cloud).
REQUEST_TIMEOUT = 30.0


class EnrolmentRefused(Exception):
    """Raised when the cloud refuses the token (used, expired, revoked, unknown): retrying is useless."""


class EnrolmentUnreachable(Exception):
    """Raised when the cloud cannot be reached or answered unexpectedly: retry later."""


class EnrolmentFileInvalid(Exception):
    """Raised when the enrolment file cannot be read or names an insecure or malformed cloud URL."""


@dataclass(frozen=True)
class EnrolmentFile:
    """The ESP's enrolment file, read."""

    cloud: str
    token: str
    pin: str
    allow_http: bool


def read_file(path: Path | None = None) -> EnrolmentFile | None:
    """The enrolment file, or None when it is missing or has no token.

    Raises:
        EnrolmentFileInvalid: unreadable, or a token without a cloud URL.
    """
    path = path or Path(ESP_MOUNT) / ENROLMENT_FILE
    if not path.exists():
        return None
    parser = configparser.ConfigParser()
    try:
        if path.stat().st_size > 16384:
            raise EnrolmentFileInvalid(f"{path} is larger than 16 KiB")
        parser.read_string(path.read_text(errors="replace"))
    except (configparser.Error, OSError) as exc:
        raise EnrolmentFileInvalid(f"{path}: {exc}") from None
    section = parser["enrolment"] if parser.has_section("enrolment") else {}
    token = section.get("token", "").strip()
    if not token:
        return None
    cloud = section.get("cloud", "").strip().rstrip("/")
    if not cloud:
        raise EnrolmentFileInvalid(f"{path} has a token but no `cloud =` URL")
    allow = section.get("allow_http", "").strip().lower() in ("1", "true", "yes")
    return EnrolmentFile(cloud, token, section.get("pin", "").strip(), allow)


def spend_token(path: Path | None = None) -> None:
    """Remove the token from the enrolment file (it has been used)."""
    path = path or Path(ESP_MOUNT) / ENROLMENT_FILE
    try:
        lines = path.read_text().splitlines()
        kept = [line if not line.strip().startswith("token") else "token =" for line in lines]
        path.write_text("\n".join(kept) + "\n")
    except OSError:
        pass  # a read-only ESP: the token is spent at the cloud anyway


def node_id() -> str:
    """This node's id: made once (`node-<8 hex>`) and kept on the data partition."""
    path = NODE_DIR / "identity.json"
    if path.exists():
        return str(json.loads(path.read_text())["node_id"])
    made = f"node-{secrets.token_hex(4)}"
    _write_private(path, json.dumps({"node_id": made}) + "\n")
    return made


def node_key() -> Ed25519PrivateKey:
    """The node's Ed25519 key pair: made on first use and kept (0600) on the data partition."""
    path = NODE_DIR / "node-key.pem"
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(key, Ed25519PrivateKey):
            return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(path, pem.decode())
    return key


def enrolled() -> dict[str, str] | None:
    """What a past enrolment gave this node (cloud, edge_id, edge_name, edge_key), or None."""
    path = NODE_DIR / "enrolled.json"
    if not path.exists():
        return None
    found: dict[str, str] = json.loads(path.read_text())
    return found


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(path)


def check_url(file: EnrolmentFile) -> None:
    """Raises EnrolmentFileInvalid for a URL that is not http(s), or plain HTTP where it is not allowed."""
    parts = urlsplit(file.cloud)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EnrolmentFileInvalid(f"cloud URL {file.cloud!r} is not an http(s) URL")
    if parts.scheme == "http" and not file.allow_http and not _loopback(parts.hostname):
        raise EnrolmentFileInvalid(
            f"cloud URL {file.cloud!r} is plain HTTP: use https (or `allow_http = true` for a test cloud)"
        )


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _verify(file: EnrolmentFile) -> ssl.SSLContext | bool:
    if not file.pin:
        return True
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the fingerprint check below replaces CA verification
    return context


def _check_pin(response: httpx.Response, pin: str) -> None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    wanted = pin.lower().removeprefix("sha256:").replace(":", "")
    if der is None or hashlib.sha256(der).hexdigest() != wanted:
        raise EnrolmentRefused("the cloud's certificate does not match the pinned fingerprint")


def enrol(file: EnrolmentFile, *, esp_file: Path | None = None) -> dict[str, str]:
    """Exchange the token for this node's edge credentials and keep them.

    Raises:
        EnrolmentRefused: the cloud refused (the message says why); do not retry.
        EnrolmentUnreachable: no answer, or an unexpected one; retry later.
        EnrolmentFileInvalid: the URL is not acceptable.
    """
    check_url(file)
    ident = node_id()
    key = node_key()
    public = b64(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    request = EnrolRequest(
        token=file.token,
        node_id=ident,
        public_key=public,
        signature=b64(key.sign(signed_message(file.token, ident, public))),
    )
    try:
        with (
            httpx.Client(verify=_verify(file), timeout=REQUEST_TIMEOUT) as client,
            client.stream("POST", file.cloud + ENROL_PATH, json=request.model_dump()) as response,
        ):
            if file.pin and file.cloud.startswith("https"):
                _check_pin(response, file.pin)
            response.read()
    except httpx.HTTPError as exc:
        raise EnrolmentUnreachable(f"cannot reach {file.cloud}: {exc}") from None
    if response.status_code != 200:
        raise _refusal(response)
    try:
        answer = EnrolResponse.model_validate_json(response.content)
    except ValueError:
        raise EnrolmentUnreachable(f"{file.cloud} answered something that is not an enrolment") from None
    record = {"cloud": file.cloud, **answer.model_dump()}
    _write_private(NODE_DIR / "enrolled.json", json.dumps(record) + "\n")
    spend_token(esp_file)
    return record


def _refusal(response: httpx.Response) -> Exception:
    try:
        body = response.json()
    except ValueError:
        body = {}
    reason = Refusal.named(str(body.get("error", ""))) if isinstance(body, dict) else None
    if reason is not None:
        return EnrolmentRefused(reason.message)
    if response.status_code in (400, 403, 404, 409, 422):
        return EnrolmentRefused(
            f"the cloud refused enrolment (HTTP {response.status_code}): {response.text[:200]}"
        )
    return EnrolmentUnreachable(f"the cloud answered HTTP {response.status_code}")
