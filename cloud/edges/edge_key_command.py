"""`transom cloud edge-key`: open the cloud's data directory, issue an edge key, close it again."""

from __future__ import annotations

from pathlib import Path

from cloud.auth.bootstrap import open_auth_service
from cloud.data_dir import STORE_FILE_NAME
from cloud.edges.keys import EdgeNotFound, IssuedEdgeKey, NoOwner, edge_key_for
from cloud.store.errors import StoreError
from cloud.store.factory import open_store
from sync.model import DocumentInvalid

EXPECTED_ERRORS = (EdgeNotFound, NoOwner, DocumentInvalid, StoreError, ValueError, OSError)
"""What the command reports as a one-line error (anything else is a bug and shows a traceback)."""


async def issue_from_data_dir(data_dir: str | Path, store_url: str | None, edge: str) -> IssuedEdgeKey:
    """Issue a key for `edge` (id or name) in the cloud whose data directory is `data_dir`.

    Raises:
        One of EXPECTED_ERRORS, naming the problem.
    """
    directory = Path(data_dir)
    if store_url is None and not (directory / STORE_FILE_NAME).exists():
        raise NoOwner(f"{directory} holds no cloud store: start the cloud once with `transom cloud run`")
    if not edge.strip():
        raise ValueError("EDGE is empty: give the edge's id or a name")
    store = await open_store(store_url or str(directory / STORE_FILE_NAME))
    async with store:
        auth = await open_auth_service(store, directory)
        try:
            return await edge_key_for(store, auth, edge.strip())
        finally:
            await auth.aclose()
