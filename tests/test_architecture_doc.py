"""docs/architecture.md names real files: every path it mentions exists in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
# A backquoted repository path: top-level folder, then a file with an extension.
PATH = re.compile(r"`((?:cloud|edge|sync|drivers|tests|cli|docs)/[\w/.-]+\.\w+)`")


def test_every_file_the_architecture_doc_names_exists() -> None:
    named = sorted(set(PATH.findall(DOC.read_text())))
    assert len(named) >= 20, named  # the page is a map: if this drops, the pattern broke
    missing = [path for path in named if not (ROOT / path).is_file()]
    assert missing == []


def test_each_hop_list_stays_short() -> None:
    text = DOC.read_text()
    for heading in ("## The status path", "## The exec path"):
        section = text.split(heading, 1)[1].split("\n## ", 1)[0]
        hops = re.findall(r"^\d+\. ", section, flags=re.MULTILINE)
        assert 1 <= len(hops) <= 10, (heading, len(hops))
