"""DATA_DIR/demo-credentials.json: what a re-run of the demo reuses, and what a user needs to log in."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, fields
from pathlib import Path

FILE_NAME = "demo-credentials.json"
ADMIN_USER = "admin"


@dataclass
class Credentials:
    """The admin's login, an admin API key, and the demo edge's key (each "" until made)."""

    cloud_url: str = ""
    admin_user: str = ADMIN_USER
    admin_password: str = ""
    api_key: str = ""
    edge_id: str = ""
    edge_key: str = ""

    @classmethod
    def load(cls, data_dir: Path) -> Credentials:
        """The saved credentials, or empty ones (a first run, or an unreadable file)."""
        try:
            raw = json.loads((data_dir / FILE_NAME).read_text())
        except (OSError, ValueError):
            return cls()
        if not isinstance(raw, dict):
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: str(v) for k, v in raw.items() if k in known and v is not None})

    def save(self, data_dir: Path) -> Path:
        """Write them, readable by the owner only."""
        path = data_dir / FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(asdict(self), file, indent=2)
            file.write("\n")
        return path


def new_password() -> str:
    """A password for the demo's admin when none was given or saved."""
    return "demo-" + secrets.token_urlsafe(9)
