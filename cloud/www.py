"""Static front ends (PlaceOS's Backoffice, a room panel, ...) served by the cloud, as PlaceOS's ingress does.

`transom cloud run --www DIR` serves each sub-folder of DIR at its own path on the API's
origin (`DIR/backoffice/` at `/backoffice/`), so the front end's API, WebSocket and
`/auth` are same-origin, which PlaceOS's front ends require. For each folder:

- `/<folder>` redirects to `/<folder>/`; a path names a file under the folder, a
  directory's `index.html`, or else (a client-side route, no file extension) the
  folder's `index.html` (SPA fallback); a missing file with an extension is a 404.
- Caching: files whose name carries a content hash (`main.3f2a9c1e.js`,
  `chunk-5QJ2X7AB.js`) never change, so they are `public, max-age=31536000,
  immutable`; everything else (`index.html`, `oauth-resp.html`, unhashed assets) is
  `no-cache`: revalidated each time through its ETag (`If-None-Match` answers 304).
- Only GET and HEAD; paths with `..`, backslashes, NUL, hidden (dot) segments, or
  longer than MAX_PATH are refused; a symlink leading out of the folder is a 404.
  Files are streamed, never read whole.
- Folder names must be URL-safe and may not shadow the API (`api`, `auth`); `/` itself
  is never taken (Transom's own console lives there).

`front_end_apps` gives the OAuth application each folder needs for each public origin
(redirect `<origin>/<folder>/oauth-resp.html`, client_id its MD5), registered at start-up.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

# Folder names that would shadow the API or auth, or are not a single clean path segment.
RESERVED = frozenset({"api", "auth"})
_FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}")
# Longer than any front end's real asset path; a longer one is refused before the disk is touched.
MAX_PATH = 1024
# A content hash in a file name: `.3f2a9c1e.`, `-3f2a9c1e.` or `.5QJ2X7AB.` (8+ hex or base32/36 chars
# before the extension, as webpack, esbuild and Vite name their outputs).
_HASHED = re.compile(r"[.\-]([0-9a-f]{8,}|[0-9A-Z]{8,})\.[A-Za-z0-9]+$")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Same-origin framing only: ts-client runs oauth-resp.html in a hidden iframe of its own page.
_SECURITY = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN"}
OAUTH_RESPONSE_PAGE = "oauth-resp.html"


class WwwInvalid(ValueError):
    """Raised when --www is not a readable directory, or holds a folder that cannot be served."""


@dataclass(frozen=True)
class FrontEnd:
    """One served folder: its name (= its URL path) and where it is on disk."""

    name: str
    root: Path


def find_front_ends(www: str | Path) -> list[FrontEnd]:
    """The sub-folders of `www` that hold an index.html, sorted by name.

    Hidden folders are skipped; a folder named like the API (`api`, `auth`) or not a clean
    URL segment is an error, so nothing is silently left unserved.

    Raises:
        WwwInvalid: `www` is not a directory, a folder name cannot be served, or none is found.
    """
    directory = Path(www)
    if not directory.is_dir():
        raise WwwInvalid(f"--www {str(www)!r} is not a directory")
    found: list[FrontEnd] = []
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        if entry.name.lower() in RESERVED or not _FOLDER.fullmatch(entry.name):
            raise WwwInvalid(
                f"--www: the folder {entry.name!r} cannot be served at /{entry.name}/ "
                f"(names are letters, digits, . _ -, and not {', '.join(sorted(RESERVED))})"
            )
        if not (entry / "index.html").is_file():
            continue  # not a front end (no entry page)
        found.append(FrontEnd(entry.name, entry.resolve()))
    if not found:
        raise WwwInvalid(f"--www {str(www)!r} has no sub-folder with an index.html to serve")
    return found


def check_public_url(url: str) -> str:
    """A `--public-url` as an origin (`https://transom.example.com`, no trailing slash).

    Raises:
        WwwInvalid: it is not http(s)://HOST[:PORT] (a path, query or fragment cannot work:
            PlaceOS's front ends put the API at the origin's root).
    """
    parts = urlsplit(url.strip())
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise WwwInvalid(f"--public-url {url!r} has a bad port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise WwwInvalid(f"--public-url must be http(s)://HOST[:PORT] with no path, not {url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise WwwInvalid(f"--public-url must be http(s)://HOST[:PORT] with no path, not {url!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def front_end_apps(front_ends: Iterable[FrontEnd], origins: Iterable[str]) -> list[tuple[str, str]]:
    """(name, redirect URI) of the OAuth application each front end needs at each origin."""
    origins = list(origins)
    return [(f.name, f"{o.rstrip('/')}/{f.name}/{OAUTH_RESPONSE_PAGE}") for f in front_ends for o in origins]


def is_hashed(name: str) -> bool:
    """Whether a file name carries a content hash (so the file at this name never changes)."""
    return bool(_HASHED.search(name))


def _refused(path: str) -> bool:
    if len(path) > MAX_PATH or "\\" in path or "\x00" in path:
        return True
    return any(part in ("..", ".") or part.startswith(".") for part in path.split("/") if part)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": "not_found" if status == 404 else "bad_request", "message": message}, status
    )


class FrontEndFiles:
    """What answers the requests for one front end's folder."""

    def __init__(self, front_end: FrontEnd) -> None:
        self.front_end = front_end

    def respond(self, request: Request) -> Response:
        """The answer to a GET or HEAD for a path under the folder."""
        path = request.path_params.get("path", "")
        if _refused(path):
            return _error(404, f"/{self.front_end.name}/{path[:100]} is not a file of this front end")
        found = self._file(path)
        if found is None:
            last = path.rstrip("/").rsplit("/", 1)[-1]
            if "." in last:  # an asset that is not there: never answer it with the page
                return _error(404, f"/{self.front_end.name}/{path} does not exist")
            found = self._file("index.html")
            if found is None:
                return _error(404, f"/{self.front_end.name}/ has no index.html")
        return self._send(request, *found)

    def _file(self, path: str) -> tuple[Path, os.stat_result] | None:
        root = self.front_end.root
        candidate = root / path
        try:
            info = os.stat(candidate)
            if stat.S_ISDIR(info.st_mode):
                candidate = candidate / "index.html"
                info = os.stat(candidate)
            real = candidate.resolve()
        except (OSError, ValueError):
            return None
        if not stat.S_ISREG(info.st_mode) or not real.is_relative_to(root):
            return None  # a device, a socket, or a symlink out of the folder
        return real, info

    def _send(self, request: Request, file: Path, info: os.stat_result) -> Response:
        etag = (
            '"'
            + hashlib.md5(f"{info.st_mtime_ns}-{info.st_size}".encode(), usedforsecurity=False).hexdigest()
            + '"'
        )
        headers = {
            **_SECURITY,
            "Cache-Control": IMMUTABLE if is_hashed(file.name) else REVALIDATE,
            "ETag": etag,
            "Last-Modified": formatdate(info.st_mtime, usegmt=True),
        }
        wanted = request.headers.get("if-none-match", "")
        if wanted and etag in [tag.strip().removeprefix("W/") for tag in wanted.split(",")]:
            return Response(status_code=304, headers=headers)
        media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return FileResponse(file, stat_result=info, media_type=media_type, headers=headers)


def front_end_routes(front_ends: Iterable[FrontEnd]) -> list[BaseRoute]:
    """Starlette routes serving each front end at `/<name>/` (and redirecting `/<name>`)."""
    routes: list[BaseRoute] = []
    for front_end in front_ends:
        files = FrontEndFiles(front_end)
        slash = f"/{front_end.name}/"

        async def to_slash(request: Request, target: str = slash) -> Response:
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(target + query, status_code=301)

        async def serve(request: Request, files: FrontEndFiles = files) -> Response:
            return files.respond(request)

        routes.append(Route(f"/{front_end.name}", to_slash, methods=["GET", "HEAD"], include_in_schema=False))
        routes.append(
            Route(
                f"/{front_end.name}/{{path:path}}",
                serve,
                methods=["GET", "HEAD"],
                include_in_schema=False,
            )
        )
    return routes
