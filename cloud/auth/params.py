"""OAuth request parameters, from the query string, a form body or a JSON body.

PlaceOS's client sends token requests with every parameter in the query string and
an empty form body; other clients send a form (RFC 6749) or JSON. All are merged,
the body winning over the query string. Client credentials may also come in an
HTTP Basic header (RFC 6749 2.3.1).
"""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import unquote

from fastapi import Request

from cloud.auth.errors import OAuthError
from sync.request_body import AUTH_BODY_LIMIT

# Bodies larger than this are not OAuth requests (BodyLimit refuses them before reading).
MAX_BODY_BYTES = AUTH_BODY_LIMIT


async def oauth_params(request: Request) -> dict[str, str]:
    """The request's parameters as strings (repeated ones: the last wins).

    Raises:
        OAuthError: invalid_request for a body that is too large, not a form or JSON
            object, or holds a non-string value.
    """
    params: dict[str, str] = dict(request.query_params.items())
    body = await request.body()
    if not body:
        return params
    if len(body) > MAX_BODY_BYTES:
        raise OAuthError("invalid_request", f"the request body is larger than {MAX_BODY_BYTES} bytes")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise OAuthError("invalid_request", "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise OAuthError("invalid_request", "the JSON body must be an object")
        for key, value in data.items():
            if isinstance(value, list):
                value = " ".join(str(item) for item in value)  # scope as a list
            if not isinstance(value, str | int):
                raise OAuthError("invalid_request", f"parameter {key!r} must be a string")
            params[key] = str(value)
        return params
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        for key, value in form.multi_items():
            if not isinstance(value, str):
                raise OAuthError("invalid_request", f"parameter {key!r} must be text, not a file")
            params[key] = value
        return params
    raise OAuthError(
        "invalid_request",
        f"send parameters as a form, JSON or in the query string, not {kind or 'untyped'!r}",
    )


def basic_client(request: Request) -> tuple[str, str] | None:
    """(client_id, client_secret) from an `Authorization: Basic` header, or None."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "the Basic authorization header is malformed") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError("invalid_client", "the Basic authorization header lacks a ':'")
    return unquote(client_id), unquote(secret)
