"""What edge and cloud agree on; `edge` and `cloud` meet only here.

The domain model lives in `sync.model`; its public names are re-exported
here so callers can write `from sync import validate_document`. The list of
those names is kept once, in `sync.model.__all__`; tests/sync/test_exports.py
fails if either list drifts from the expected public API.
"""

from __future__ import annotations

from . import model
from .model import *  # noqa: F403  (exactly `model.__all__`, re-exported below)

# Names `sync` adds of its own go in this list; the model's follow in the
# `__all__ += submodule.__all__` form that type checkers understand.
__all__: list[str] = []
__all__ += model.__all__
