"""Accessibility checks with axe-core (axe-playwright-python bundles it: no network)."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe

# Impacts a page may not have: these stop someone using the page (axe's own ranking).
BLOCKING = ("serious", "critical")

_axe = Axe()


def blocking_violations(page: Any) -> list[str]:
    """Each serious or critical axe violation on the page now, as `rule: target` lines."""
    results = _axe.run(page)
    found = []
    for violation in results.response.get("violations", []):
        if violation.get("impact") in BLOCKING:
            targets = [", ".join(node.get("target", [])) for node in violation.get("nodes", [])][:5]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return found
