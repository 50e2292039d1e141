"""PKCE (RFC 7636): does a code_verifier answer the code_challenge given at authorize time.

Only S256 is accepted, and every authorization code needs it (OAuth 2.0 Security BCP,
RFC 9700 section 2.1.1): `plain` gives nothing against an attacker who reads the
authorization request, which is the case PKCE exists for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

METHODS = ("S256",)
# RFC 7636 section 4.1: 43 to 128 unreserved characters.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def challenge_of(verifier: str, method: str) -> str:
    """The challenge a client sends for `verifier` under `method` (S256)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verifier_matches(verifier: str, challenge: str, method: str) -> bool:
    """Whether `verifier` is well-formed and gives `challenge` under `method` (S256 only)."""
    if method not in METHODS or not _VERIFIER.fullmatch(verifier):
        return False
    return hmac.compare_digest(challenge_of(verifier, method).encode(), challenge.encode())
