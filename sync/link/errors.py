"""Errors of the edge link, both ends:

LinkError              base class
+-- FrameInvalid       (protocol.py) a frame is not JSON, not v1, or breaks the schema
+-- ExecFailed         an edge exec handler refuses or fails a call, with the error name the
                       cloud maps to its routing errors (EXEC_ERRORS)
+-- EdgeKeyRejected    the cloud refused the edge key (the uplink keeps retrying slowly)
"""

from __future__ import annotations

from sync.control.errors import ERROR_KINDS

# The error names an exec result may carry: every ErrorKind's, so the cloud answers its
# caller exactly as the edge's own API would.
EXEC_ERRORS = frozenset(ERROR_KINDS)


class LinkError(Exception):
    """Base of the link's errors."""


class ExecFailed(LinkError):
    """Raised by an edge exec handler to answer with a specific error (else: request_failed).

    Args:
        error: one of EXEC_ERRORS.
        message: what the caller reads.
        status: the driver's own status code, if it gave one.
    """

    def __init__(self, error: str, message: str, *, status: int | None = None) -> None:
        if error not in EXEC_ERRORS:
            raise ValueError(f"{error!r} is not an exec error; use one of {sorted(EXEC_ERRORS)}")
        super().__init__(message)
        self.error = error
        self.message = message
        self.status = status


class EdgeKeyRejected(LinkError):
    """Raised when the cloud refuses the edge key at the handshake (HTTP 403 / close 1008).

    Not raised for a cloud that is down or unreachable: the uplink just retries those.
    """
