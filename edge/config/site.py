"""SiteConfig: one site's validated documents, and what the runtime derives from them.

Derived here so the file loader and the sync replica give the runtime the same shapes:

- `module_config(id)`: the `ModuleConfig` a driver host runs, with settings merged
  Driver < zones < System < Module (`sync.model.settings_layers`; zones and system only
  for logic modules);
- `system_lookup(sys_id)`: PlaceOS's `system/<sys_id>` hash, `{"Display/1": mod_id}`,
  counting modules of the same name (custom_name, else name) in the system's order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from drivers.sdk import ModuleConfig
from edge.config.errors import RejectedRecord
from sync.model import merge_settings, parent_settings, settings_layers
from sync.model.addressing import index_map, module_name

# PlaceOS's `iss` (the cloud's default); the cloud sends its own with its keys.
DEFAULT_ISSUER = "POS"


@dataclass(frozen=True)
class AuthMaterial:
    """What the node needs to check credentials offline.

    `jwks` holds the cloud's public keys (Ed25519 OKP JWKs) for EdDSA access tokens;
    `public_keys` holds PEM public keys as an alternative; every token's `iss` must be `issuer`.
    """

    issuer: str = DEFAULT_ISSUER
    jwks: Mapping[str, Any] = field(default_factory=dict)
    public_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class SiteConfig:
    """Validated documents by table and id (each as `sync.model.validate_document` returns it).

    `revision` grows with each new configuration from the source (file reloads, replica
    revisions), so consumers can tell snapshots apart. `rejected` lists the documents left
    out because they cannot be applied (a replica's configuration runs without them);
    `set_aside_modules` holds those of them that are modules, so systems still number them.
    """

    drivers: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    zones: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    systems: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    modules: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    settings: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    triggers: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    trigger_instances: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    users: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    api_keys: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    authorities: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    revocations: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    auth: AuthMaterial = field(default_factory=AuthMaterial)
    revision: int = 0
    rejected: tuple[RejectedRecord, ...] = ()
    set_aside_modules: Mapping[str, dict[str, Any]] = field(default_factory=dict)

    @cached_property
    def revoked_jtis(self) -> frozenset[str]:
        """The ids of access tokens the cloud revoked (refused here even with the WAN down)."""
        return frozenset(str(r["jti"]) for r in self.revocations.values())

    # -- settings -----------------------------------------------------------------------------

    @cached_property
    def _settings_by_parent(self) -> dict[str, list[dict[str, Any]]]:
        by_parent: dict[str, list[dict[str, Any]]] = {}
        for document in self.settings.values():
            by_parent.setdefault(document["parent_id"], []).append(document)
        return by_parent

    def layer(self, parent_id: str) -> dict[str, Any]:
        """One parent's settings documents merged (plaintext only; the loader checked that)."""
        return parent_settings(self._settings_by_parent.get(parent_id, []))

    def merged_settings(self, module_id: str) -> dict[str, Any]:
        """The module's settings, all layers merged (see the module docstring).

        Raises:
            KeyError: no such module.
        """
        module = self.modules[module_id]
        driver = self.drivers.get(module["driver_id"], {})
        driver_layer = merge_settings([driver.get("default_settings", {}), self.layer(driver.get("id", ""))])
        system = self.systems.get(module.get("control_system_id") or "", {})
        zones = [self.layer(zone_id) for zone_id in system.get("zones", [])]
        layers = settings_layers(
            role=module["role"],
            driver=driver_layer,
            zones=zones,
            system=self.layer(system["id"]) if system else {},
            module=self.layer(module_id),
        )
        return merge_settings(layers)

    # -- modules ------------------------------------------------------------------------------

    def driver_class_path(self, module_id: str) -> str:
        """The driver class a module runs (`package.module:Class`).

        Raises:
            KeyError: no such module.
        """
        return str(self.drivers[self.modules[module_id]["driver_id"]]["file_name"])

    def module_config(self, module_id: str) -> ModuleConfig:
        """What a driver host needs to run the module.

        Raises:
            KeyError: no such module.
        """
        module = self.modules[module_id]
        return ModuleConfig(
            id=module_id,
            driver=self.driver_class_path(module_id),
            ip=module.get("ip", ""),
            port=module.get("port") or None,
            tls=bool(module.get("tls")),
            udp=bool(module.get("udp")),
            uri=module.get("uri", ""),
            makebreak=bool(module.get("makebreak")),
            settings=self.merged_settings(module_id),
            system_id=module.get("control_system_id") or "",
            name=module_name(module),
            custom_name=module.get("custom_name", ""),
        )

    def runnable_modules(self) -> frozenset[str]:
        """The modules the site should run: every module whose `running` is set (PlaceOS: a
        stopped module is configured but not started; start and stop set `running`)."""
        return frozenset(m for m, module in self.modules.items() if module.get("running"))

    def rejected_modules(self) -> dict[str, str]:
        """Each module left out of the configuration, with why."""
        return {r.id: r.reason for r in self.rejected if r.table == "modules" and r.id}

    def module_configs(self) -> dict[str, ModuleConfig]:
        """Every module's ModuleConfig, by id."""
        return {module_id: self.module_config(module_id) for module_id in self.modules}

    # -- systems ------------------------------------------------------------------------------

    @cached_property
    def _lookups(self) -> dict[str, dict[str, str]]:
        """System lookups computed so far (the configuration is immutable, so they never go stale)."""
        return {}

    def _lookup(self, system_id: str) -> dict[str, str]:
        found = self._lookups.get(system_id)
        if found is None:
            system = self.systems.get(system_id)
            # Set-aside (rejected) modules keep their places, so Display_2 stays Display_2.
            numbered = {**self.set_aside_modules, **self.modules} if self.set_aside_modules else self.modules
            found = self._lookups[system_id] = index_map(
                system.get("modules", []) if system else [], numbered
            )
        return found

    def system_lookup(self, system_id: str) -> dict[str, str]:
        """`{"Display/1": module_id, ...}` for a system (empty for an unknown system)."""
        return dict(self._lookup(system_id))

    def system_lookups(self) -> dict[str, dict[str, str]]:
        """Every system's lookup, by system id."""
        return {system_id: self.system_lookup(system_id) for system_id in self.systems}

    def system_settings(self, system_id: str) -> dict[str, Any]:
        """A system's own settings over its zones' (later zones win), for what runs on its behalf
        rather than in a module (triggers' e-mail server)."""
        system = self.systems.get(system_id, {})
        layers = [self.layer(zone_id) for zone_id in system.get("zones", [])]
        return merge_settings([*layers, self.layer(system_id) if system else {}])

    def resolve(self, system_id: str, name: str, index: int) -> str | None:
        """The module id at `name_index` in a system, or None."""
        return self._lookup(system_id).get(f"{name}/{index}")
