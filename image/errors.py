"""The image builder's one error: a stage failed, with a message naming the log to read."""

from __future__ import annotations


class ImageBuildFailed(Exception):
    """Raised when a build stage cannot finish (a tool failed, or something it needs is missing)."""
