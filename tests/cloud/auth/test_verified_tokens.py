"""A remembered access token is still refused once it expires, and a bad one is never remembered."""

from __future__ import annotations

import time

import pytest

from cloud.auth import tokens
from cloud.auth.errors import AuthenticationFailed
from cloud.auth.keys import KeyRing
from cloud.auth.tokens import VerifiedAccessTokens, encode_access

KEYS = KeyRing.from_secret(b"k" * 32)
USER = {"id": "usr-1", "name": "Ada"}


def _token(ttl: int) -> str:
    token, _ = encode_access(KEYS, user=USER, scopes=["public"], issuer="POS", audience="d", ttl=ttl)
    return token


def test_a_remembered_token_is_refused_from_its_expiry_on(monkeypatch: pytest.MonkeyPatch) -> None:
    verified = VerifiedAccessTokens(KEYS, issuer="POS")
    token = _token(ttl=60)
    assert verified.decode(token)["sub"] == "usr-1"
    later = time.time() + 61
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    with pytest.raises(AuthenticationFailed) as caught:
        verified.decode(token)
    assert caught.value.error == "token_expired"


def test_a_token_that_fails_is_refused_every_time() -> None:
    verified = VerifiedAccessTokens(KEYS, issuer="POS")
    token = _token(ttl=60)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(AuthenticationFailed):
            verified.decode(tampered)
    wrong_issuer = VerifiedAccessTokens(KEYS, issuer="another")
    with pytest.raises(AuthenticationFailed):
        wrong_issuer.decode(token)


def test_only_the_newest_tokens_are_kept() -> None:
    verified = VerifiedAccessTokens(KEYS, issuer="POS", size=2)
    issued = [_token(ttl=60) for _ in range(3)]
    for token in issued:
        verified.decode(token)
    assert list(verified._claims) == issued[1:]
