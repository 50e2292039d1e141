"""Routing by source address: which modules of the site a datagram or trap from an IP belongs to.

A module owns its `ip` and every address in its `dispatch_sources` setting (the rule is
the SDK's, drivers.sdk.dispatch.module_sources, so drivers read it the same way). Only
modules whose driver has the function a delivery calls are candidates, so a trap from an
address a display and a UPS share reaches the UPS only. This is the only place a source is
matched: drivers trust the source dispatch hands them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from drivers.sdk.dispatch import SOURCES_SETTING, module_sources
from drivers.sdk.errors import DriverDefinitionError
from drivers.sdk.loader import load_driver
from drivers.sdk.metadata import metadata_of
from edge.config.site import SiteConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriverFacts:
    """What routing needs to know of a driver class."""

    functions: frozenset[str]
    inbound: tuple[str, int] | None = None


@cache
def driver_facts(class_path: str) -> DriverFacts | None:
    """The functions and inbound port of a driver class (None if it cannot be loaded; logged once)."""
    try:
        cls = load_driver(class_path)
        functions = frozenset(metadata_of(cls).functions)
    except DriverDefinitionError as exc:
        log.warning("dispatch: cannot read driver %s: %s", class_path, exc)
        return None
    inbound = (str(cls.inbound[0]).lower(), int(cls.inbound[1])) if cls.inbound else None
    return DriverFacts(functions, inbound)


class SourceRoutes:
    """Source address -> module ids for one SiteConfig (see the module docstring)."""

    def __init__(self, config: SiteConfig, facts: Callable[[str], DriverFacts | None] = driver_facts) -> None:
        self.config = config
        self.by_source: dict[str, list[str]] = {}
        self.facts: dict[str, DriverFacts] = {}
        for module_id, module in sorted(config.modules.items()):
            try:
                known = facts(config.driver_class_path(module_id))
                extra = config.merged_settings(module_id).get(SOURCES_SETTING)
            except KeyError:  # a module whose driver the site lacks: nothing to run, nothing to route
                continue
            if known is None:
                continue
            self.facts[module_id] = known
            for source in module_sources(module.get("ip"), extra):
                self.by_source.setdefault(source, []).append(module_id)

    def modules_at(self, source: str, *, function: str, inbound: tuple[str, int] | None = None) -> list[str]:
        """Modules that own `source` and have `function` (and declare `inbound`, when given)."""
        return [
            module_id
            for module_id in self.by_source.get(source, ())
            if function in self.facts[module_id].functions
            and (inbound is None or self.facts[module_id].inbound == inbound)
        ]

    def inbound_ports(self) -> set[tuple[str, int]]:
        """Every ("udp"|"tcp", port) a module's driver of this site declares."""
        return {facts.inbound for facts in self.facts.values() if facts.inbound is not None}


class RouteTable:
    """The routes of the configuration the node runs now: rebuilt on the first lookup after a change."""

    def __init__(
        self, site: Callable[[], SiteConfig], facts: Callable[[str], DriverFacts | None] = driver_facts
    ) -> None:
        self._site = site
        self._facts = facts
        self._routes: SourceRoutes | None = None

    def __call__(self) -> SourceRoutes:
        config = self._site()
        if self._routes is None or self._routes.config is not config:
            self._routes = SourceRoutes(config, self._facts)
        return self._routes
