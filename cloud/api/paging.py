"""List paging as PlaceOS answers it: `limit`/`offset` in, X-Total-Count, Content-Range, Link out."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request

# PlaceOS's default page size; clients ask for more with `limit`.
DEFAULT_LIMIT = 100
# The most one page may hold: bounds the work and memory of one request.
MAX_LIMIT = 10_000


def clamp_limit(limit: int | None) -> int:
    """The page size to use for a requested `limit` (None: the default)."""
    if limit is None:
        return DEFAULT_LIMIT
    return min(limit, MAX_LIMIT)


def page_headers(request: Request, *, offset: int, limit: int, count: int, total: int) -> dict[str, str]:
    """The headers of one page of a list.

    - `X-Total-Count`: how many match in all (what @placeos/ts-client reads).
    - `Content-Range`: `items <first>-<last>/<total>` (`items */<total>` for an empty page).
    - `Link`: `<path?query>; rel="next"` when more follow; the query keeps every parameter
      and moves `offset` on (ts-client reuses only its query string).
    """
    headers = {"X-Total-Count": str(total)}
    if count:
        headers["Content-Range"] = f"items {offset}-{offset + count - 1}/{total}"
    else:
        headers["Content-Range"] = f"items */{total}"
    next_offset = offset + count
    if count and next_offset < total:
        params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "limit")]
        params += [("limit", str(limit)), ("offset", str(next_offset))]
        headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
    return headers
