"""`transom cloud enrol-token`: open the cloud's data directory, issue an enrolment token, close it again."""

from __future__ import annotations

from pathlib import Path

from cloud.auth.bootstrap import open_auth_service
from cloud.edges.edge_key_command import EXPECTED_ERRORS as KEY_ERRORS
from cloud.edges.enrolment import EnrolmentRequestInvalid, EnrolmentService, IssuedToken, parse_duration
from cloud.edges.keys import NoOwner, first_admin
from cloud.server import STORE_FILE_NAME
from cloud.store.factory import open_store

EXPECTED_ERRORS = (*KEY_ERRORS, EnrolmentRequestInvalid)
"""What the command reports as a one-line error (anything else is a bug and shows a traceback)."""


async def issue_from_data_dir(
    data_dir: str | Path, store_url: str | None, site: str, *, expires: str, uses: int
) -> IssuedToken:
    """Issue a token enrolling `uses` nodes into `site` (edge id or name) of the cloud in `data_dir`.

    Raises:
        One of EXPECTED_ERRORS, naming the problem.
    """
    directory = Path(data_dir)
    if store_url is None and not (directory / STORE_FILE_NAME).exists():
        raise NoOwner(f"{directory} holds no cloud store: start the cloud once with `transom cloud run`")
    expires_in = parse_duration(expires)
    store = await open_store(store_url or str(directory / STORE_FILE_NAME))
    async with store:
        auth = await open_auth_service(store, directory)
        service = EnrolmentService.open(store, auth, directory)
        try:
            owner = await first_admin(store)
            return await service.issue_token(site, expires_in=expires_in, uses=uses, owner_id=owner["id"])
        finally:
            await service.aclose()
            await auth.aclose()
