"""How `transom cloud run` and `transom edge run` log: a level, and text or JSON lines.

Text lines are for a person at a terminal; JSON lines (`--log-format json`) are for a log
pipeline: one object per line with `ts`, `level`, `logger`, `message`, and the structured
fields a record carries (the access log's request id, route, status, duration, principal).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    """One JSON object per record; an exception's traceback goes in `exc` (debug detail, never to users)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class LogOptionInvalid(ValueError):
    """Raised for a --log-level or --log-format that is not one of the choices."""


def configure_logging(level: str = "info", fmt: str = "text") -> None:
    """Send the process's logs to stderr at `level`, as text or JSON lines.

    Raises:
        LogOptionInvalid: naming the option and its choices.
    """
    if level.lower() not in LEVELS:
        raise LogOptionInvalid(f"--log-level must be one of {', '.join(LEVELS)}, not {level!r}")
    if fmt.lower() not in FORMATS:
        raise LogOptionInvalid(f"--log-format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if fmt.lower() == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
