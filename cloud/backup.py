"""Back up a running cloud's data directory into one archive, and restore it into a fresh one.

A backup is online and consistent: each SQLite file is copied with SQLite's backup API,
which takes a snapshot while writers go on (WAL mode), so the cloud keeps serving. The
archive (`.tar.gz`) holds:

    manifest.json     Transom's version, when, the store's head revision, what is inside
    store.db          the config store (documents and their changefeed)
    auth.db           OAuth apps, refresh tokens, revocations
    edges.db          what edges sent up (status, events, node health)
    auth-secret.key   the secret that signs tokens and seals settings: keep the archive safe

The search index is not included: `transom cloud reindex` rebuilds it from the store, and
a restored cloud rebuilds it by itself as it follows the changefeed from revision 0.
A store on PostgreSQL or RethinkDB is backed up with that server's own tools (pg_dump);
this command refuses it rather than copy half a cloud.

Restore refuses a data directory that already holds a cloud, and checks every database
with SQLite's integrity check before anything is left in place.
"""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloud import __version__

DATABASES = ("store.db", "auth.db", "edges.db")
SECRET_FILE = "auth-secret.key"
MANIFEST = "manifest.json"
FORMAT = 1


class BackupError(Exception):
    """Raised when a backup or restore cannot be made; the message says what to do."""


@dataclass(frozen=True)
class BackupSummary:
    """What a backup or restore handled."""

    path: Path
    files: list[str]
    head_revision: int


def backup(
    data_dir: str | Path, out: str | Path, *, progress: Callable[[str], None] = lambda _: None
) -> BackupSummary:
    """Write a consistent archive of a (possibly running) cloud's data directory to `out`.

    Raises:
        BackupError: no cloud in `data_dir`, or `out` exists.
    """
    directory, target = Path(data_dir), Path(out)
    if not (directory / "store.db").is_file() or not (directory / SECRET_FILE).is_file():
        raise BackupError(
            f"{str(directory)!r} holds no cloud on SQLite (store.db and {SECRET_FILE}); "
            "a PostgreSQL or RethinkDB store is backed up with that server's tools"
        )
    if target.exists():
        raise BackupError(f"{str(target)!r} exists; choose a new file")
    files: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        staging = Path(scratch)
        for name in DATABASES:
            if (directory / name).is_file():
                progress(f"copying {name}")
                _snapshot(directory / name, staging / name)
                files.append(name)
        (staging / SECRET_FILE).write_bytes((directory / SECRET_FILE).read_bytes())
        files.append(SECRET_FILE)
        head = _head_revision(staging / "store.db")
        manifest = {
            "format": FORMAT,
            "transom": __version__,
            "created_at": int(time.time()),
            "head_revision": head,
            "files": files,
        }
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
            for name in files:
                archive.add(staging / name, arcname=name)
        partial.replace(target)  # a half-written archive never has the final name
    progress(f"wrote {target}")
    return BackupSummary(target, files, head)


def restore(
    archive_path: str | Path, data_dir: str | Path, *, progress: Callable[[str], None] = lambda _: None
) -> BackupSummary:
    """Unpack a backup into `data_dir`, which must hold no cloud yet.

    Raises:
        BackupError: not a Transom backup, a database fails its integrity check, or `data_dir`
            already holds a cloud.
    """
    source, directory = Path(archive_path), Path(data_dir)
    if any((directory / name).exists() for name in (*DATABASES, SECRET_FILE)):
        raise BackupError(f"{str(directory)!r} already holds a cloud; restore into an empty directory")
    try:
        archive = tarfile.open(source, "r:gz")  # noqa: SIM115 (closed by the with below)
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{str(source)!r} is not a Transom backup: {exc}") from None
    with (
        archive,
        tempfile.TemporaryDirectory(dir=directory.parent if directory.parent.exists() else None) as scratch,
    ):
        manifest = _manifest(archive)
        staging = Path(scratch)
        for name in manifest["files"]:
            if name not in (*DATABASES, SECRET_FILE):
                raise BackupError(f"the backup names an unexpected file {name!r}")
            member = archive.extractfile(name)
            if member is None:
                raise BackupError(f"the backup lacks {name!r}")
            (staging / name).write_bytes(member.read())
        for name in manifest["files"]:
            if name.endswith(".db"):
                progress(f"checking {name}")
                _check_integrity(staging / name)
        directory.mkdir(parents=True, exist_ok=True)
        for name in manifest["files"]:
            (staging / name).replace(directory / name)
    progress(f"restored revision {manifest['head_revision']} into {directory}")
    return BackupSummary(directory, list(manifest["files"]), int(manifest["head_revision"]))


def _snapshot(source: Path, target: Path) -> None:
    # A connection's own `with` commits but does not close: closing() does.
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


def _head_revision(store: Path) -> int:
    with closing(sqlite3.connect(store)) as db:
        try:
            row = db.execute("SELECT MAX(revision) FROM changes").fetchone()
        except sqlite3.Error:
            return 0
    return int(row[0] or 0)


def _check_integrity(database: Path) -> None:
    try:
        with closing(sqlite3.connect(database)) as db:
            answer = db.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.Error as exc:
        raise BackupError(f"{database.name} in the backup is not a database: {exc}") from None
    if answer != "ok":
        raise BackupError(f"{database.name} in the backup fails its integrity check: {answer}")


def _manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.extractfile(MANIFEST)
        manifest = json.loads(member.read()) if member is not None else None
    except (KeyError, ValueError):
        manifest = None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(manifest.get("files"), list)
    ):
        raise BackupError("the archive has no Transom backup manifest")
    return manifest


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    archive.addfile(info, io.BytesIO(data))
