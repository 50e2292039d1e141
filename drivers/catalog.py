"""The drivers Transom ships, and their reference page rendered from each one's metadata.

The catalog is what the demo seeds, what `transom driver docs` documents and what the README
lists; a test keeps docs/drivers.md equal to `render_markdown()`.
"""

from __future__ import annotations

from typing import Any

from drivers.sdk import load_driver, metadata_of

# Class paths of the bundled drivers, in the order the docs list them.
BUNDLED = (
    "drivers.pjlink.projector:PJLinkProjector",
    "drivers.samsung.mdc_display:SamsungMDCDisplay",
    "drivers.extron.sis_matrix:ExtronMatrix",
    "drivers.cisco.roomos_codec:RoomOSCodec",
    "drivers.ietf.ups_mib:UpsMib",
    "drivers.philips.hue_bridge:HueBridge",
    "drivers.logic.meeting_room:MeetingRoom",
)


def bundled_metadata() -> list[dict[str, Any]]:
    """The metadata document of every bundled driver (as `transom driver info` prints it)."""
    return [metadata_of(load_driver(path)).as_json() for path in BUNDLED]


def _where(meta: dict[str, Any]) -> str:
    if meta["transport"] == "logic":
        return "logic (no device connection)"
    if meta.get("default_uri"):
        return f"{meta['transport']} `{meta['default_uri']}`"
    return f"{meta['transport']} port {meta['default_port']}"


def _signature(name: str, meta: dict[str, Any]) -> str:
    parts = []
    for arg, entry in meta["functions"][name].items():
        kind = entry[0]
        parts.append(f"{arg}: {kind}" + (f" = {entry[1]!r}" if len(entry) > 1 else ""))
    return f"{name}({', '.join(parts)})"


def _level(name: str, meta: dict[str, Any]) -> str:
    for level, names in meta["security"].items():
        if name in names:
            return level
    return "user"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (a `|` would split the cell)."""
    return text.replace("|", "\\|")


def render_markdown() -> str:
    """The drivers reference page, generated from the bundled drivers' metadata."""
    lines = [
        "# Bundled drivers",
        "",
        "Generated from each driver's metadata by `transom driver docs`; do not edit by hand.",
        "`transom driver info CLASS` prints the full metadata (argument JSON schemas included).",
        "",
    ]
    for path, meta in zip(BUNDLED, bundled_metadata(), strict=True):
        lines += [
            f"## {meta['descriptive_name']}",
            "",
            meta["description"],
            "",
            f"- class: `{path}`",
            f"- module name in a system: `{meta['generic_name']}`",
            f"- transport: {_where(meta)}",
            f"- implements: {', '.join(meta['implements']) or 'none'}",
            "",
            "| function | level | what it does |",
            "|---|---|---|",
        ]
        descriptions = meta.get("descriptions", {})
        for name in sorted(meta["functions"]):
            text = _cell(descriptions.get(name, ""))
            lines.append(f"| `{_cell(_signature(name, meta))}` | {_level(name, meta)} | {text} |")
        lines += ["", "| setting | default |", "|---|---|"]
        for key, value in meta["default_settings"].items():
            lines.append(f"| `{key}` | `{_cell(repr(value))}` |")
        if not meta["default_settings"]:
            lines.append("| (none) | |")
        lines.append("")
    return "\n".join(lines)
