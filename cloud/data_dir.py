"""Files of the cloud's data directory that more than one command opens."""

from __future__ import annotations

# The embedded SQLite config store, when no store URL is given (`transom cloud run`,
# `transom cloud edge-key`).
STORE_FILE_NAME = "store.db"
