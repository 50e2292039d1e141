"""load_site_config: a YAML or JSON site file -> SiteConfig, every document validated.

The file holds one list per table, plus the node's auth material:

    drivers:   [{id, name, role, module_name, file_name: "pkg.mod:Class", default_settings}]
    zones:     [{id, name, ...}]
    systems:   [{id, name, zones: [...], modules: [ordered module ids]}]
    modules:   [{id, driver_id, ip, port, ...}]    role and name default to the driver's;
                                                   running to true (false: configured, stopped)
    settings:  [{parent_id, settings_string | settings: {...}, encryption_level}]
    triggers:  [{id, name, conditions, actions, ...}]   automations (sync/model/trigger.py)
    trigger_instances: [{id, trigger_id, control_system_id, enabled}]   a trigger on a system
    authorities: [{id, name, domain}]              a token's `aud` must be its user's authority's domain
    users:     [{id, authority_id, email, sys_admin, support}]
    api_keys:  [{id, user_id, name, secret: "sha256:<hex>", permissions, scopes}]
    revocations: [{id, jti, user_id, expires_at}]  access tokens the cloud withdrew
    auth:      {issuer (default "POS"), jwks: {keys: [...]}, public_keys: [PEM, ...]}

Each document goes through `sync.model.validate_document`; then references are checked
(a module's driver, a system's modules and zones, a setting's parent, a key's user).
Every problem is collected and raised together in SiteConfigInvalid, each naming the
file, the document (`modules[1] (mod-b)`) and the field.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import jwt
import yaml
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from edge.config.errors import ConfigProblem, SiteConfigInvalid
from edge.config.isolation import isolate_rejected
from edge.config.site import DEFAULT_ISSUER, AuthMaterial, SiteConfig
from sync.model import DocumentInvalid, SettingsTextInvalid, is_encrypted, parent_settings, validate_document

# Sections in load order: a later one may refer to an earlier one's ids.
SECTIONS = (
    "authorities",
    "drivers",
    "zones",
    "systems",
    "modules",
    "settings",
    "triggers",
    "trigger_instances",
    "users",
    "api_keys",
    "revocations",
)
_KNOWN = frozenset((*SECTIONS, "auth"))


class _Collector:
    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        self.problems: list[ConfigProblem] = []

    def add(self, where: str, field: str, message: str, *, table: str = "", doc_id: str = "") -> None:
        self.problems.append(
            ConfigProblem(
                f"{self.file_name}: {where}" if where else self.file_name,
                field,
                message,
                table=table,
                doc_id=doc_id,
            )
        )


def parse_site_text(text: str, *, file_name: str) -> Mapping[str, Any]:
    """The top-level mapping of a site file (JSON, or YAML, which is a superset).

    Raises:
        SiteConfigInvalid: not parseable or not a mapping.
    """
    try:
        data = json.loads(text) if file_name.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        detail = str(exc).replace("\n", " ")
        raise SiteConfigInvalid([ConfigProblem(file_name, "document", f"cannot parse: {detail}")]) from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise SiteConfigInvalid(
            [
                ConfigProblem(
                    file_name, "document", f"must be a mapping of sections, not {type(data).__name__}"
                )
            ]
        )
    return data


def load_site_config(path: str | Path, *, revision: int = 0) -> SiteConfig:
    """Read and validate a site file.

    Raises:
        SiteConfigInvalid: unreadable, unparseable, or any document invalid (all are listed).
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SiteConfigInvalid([ConfigProblem(path.name, "file", f"cannot read: {exc.strerror}")]) from None
    return build_site_config(
        parse_site_text(text, file_name=path.name), file_name=path.name, revision=revision
    )


def build_site_config(
    data: Mapping[str, Any],
    *,
    file_name: str = "<config>",
    revision: int = 0,
    isolate: bool = False,
    refused: Mapping[tuple[str, str], str] | None = None,
) -> SiteConfig:
    """Validate the sections of a parsed site file into a SiteConfig.

    Args:
        isolate: set bad documents aside instead of refusing the whole configuration: the
            SiteConfig holds every document that can be applied, and `rejected` names the
            others with why (`edge.config.isolation`). A site file is judged whole (its
            author gets every error); a replica is isolated, so one bad record cannot stop
            the rest of the cloud's configuration reaching the site.
        refused: documents the caller already left out of `data`, by (table, id), with why
            (settings that do not open with this edge's key); what depends on them is set
            aside too.

    Raises:
        SiteConfigInvalid: listing every problem (never when `isolate`).
    """
    problems = _Collector(file_name)
    for key in data:
        if key not in _KNOWN:
            problems.add("", str(key), f"unknown section; known: {', '.join(sorted(_KNOWN))}")
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    for section in SECTIONS:
        tables[section] = _section(data.get(section), section, problems, tables)
    # Ids of documents that are present but invalid: already reported, so not "missing" again.
    present = {
        str(item["id"])
        for section in SECTIONS
        if isinstance(data.get(section), list)
        for item in data[section]
        if isinstance(item, Mapping) and isinstance(item.get("id"), str)
    }
    _check_references(tables, present, problems)
    auth = _auth(data.get("auth"), problems)
    if isolate and (problems.problems or refused):
        kept, rejected = isolate_rejected(tables, data, problems.problems, refused or {})
        if any(r.table == "auth" for r in rejected):
            auth = AuthMaterial()
        # Rejected modules keep their place in their systems' numbering: Display_2 must not
        # become Display_1 (and drive another device) because Display_1 was set aside.
        set_aside = {i: d for i, d in tables["modules"].items() if i not in kept["modules"]}
        return replace(
            _site_config(kept, auth=auth, revision=revision),
            rejected=tuple(rejected),
            set_aside_modules=set_aside,
        )
    if problems.problems:
        raise SiteConfigInvalid(problems.problems)
    return _site_config(tables, auth=auth, revision=revision)


def _site_config(
    tables: Mapping[str, dict[str, dict[str, Any]]], *, auth: AuthMaterial, revision: int
) -> SiteConfig:
    return SiteConfig(
        drivers=tables["drivers"],
        zones=tables["zones"],
        systems=tables["systems"],
        modules=tables["modules"],
        settings=tables["settings"],
        triggers=tables["triggers"],
        trigger_instances=tables["trigger_instances"],
        users=tables["users"],
        api_keys=tables["api_keys"],
        authorities=tables["authorities"],
        revocations=tables["revocations"],
        auth=auth,
        revision=revision,
    )


def _section(
    raw: Any, section: str, problems: _Collector, tables: Mapping[str, Mapping[str, dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    documents: dict[str, dict[str, Any]] = {}
    if raw is None:
        return documents
    if not isinstance(raw, list):
        problems.add(
            section, "document", f"must be a list of documents, not {type(raw).__name__}", table=section
        )
        return documents
    for position, item in enumerate(raw):
        where = f"{section}[{position}]"
        doc_id = ""
        if isinstance(item, Mapping) and isinstance(item.get("id"), str):
            doc_id = item["id"]
            where += f" ({doc_id})"
        if not isinstance(item, Mapping):
            problems.add(where, "document", f"must be a mapping, not {type(item).__name__}", table=section)
            continue
        mark = {"table": section, "doc_id": doc_id}
        prepared = _prepare(section, dict(item), tables)
        try:
            document = validate_document(section, prepared)
        except DocumentInvalid as exc:
            errors = exc.errors
            if section == "modules" and prepared.get("driver_id") not in tables["drivers"]:
                # role and name come from the driver: report the driver, not their absence.
                errors = [
                    e for e in errors if e["field"] not in ("role", "name") or e["message"] != "is required"
                ]
                if isinstance(prepared.get("driver_id"), str):
                    problems.add(
                        where, "driver_id", f"no driver {prepared['driver_id']!r} in drivers", **mark
                    )
            for error in errors:
                problems.add(where, error["field"], error["message"], **mark)
            continue
        if document["id"] in documents:
            problems.add(where, "id", f"{document['id']!r} is repeated in {section}", **mark)
            continue
        _check_document(section, document, where, problems)
        documents[document["id"]] = document
    return documents


def _prepare(
    section: str, item: dict[str, Any], tables: Mapping[str, Mapping[str, dict[str, Any]]]
) -> dict[str, Any]:
    """Conveniences of the file form, applied before validation."""
    if section == "modules":
        # As PlaceOS's set_name_and_role: a module takes its driver's role and name.
        driver = tables.get("drivers", {}).get(str(item.get("driver_id")), {})
        if driver:
            item.setdefault("role", driver["role"])
            item.setdefault("name", driver["module_name"])
        # A module listed in a site file runs unless it says `running: false` (the cloud's
        # documents always carry `running`, set by start and stop).
        item.setdefault("running", True)
    if section == "settings" and "settings" in item and "settings_string" not in item:
        value = item.pop("settings")
        item["settings_string"] = json.dumps(value) if isinstance(value, Mapping) else value
    return item


def _check_document(section: str, document: dict[str, Any], where: str, raw: _Collector) -> None:
    problems = _DocumentProblems(raw, section, document["id"])
    if section == "drivers":
        module_path = str(document["file_name"]).partition(":")[0]
        try:
            found = importlib.util.find_spec(module_path) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            problems.add(where, "file_name", f"no importable module {module_path!r}")
    elif section == "settings":
        if is_encrypted(document["settings_string"]):
            problems.add(
                where, "settings_string", "is encrypted; a site file holds plaintext (the replica decrypts)"
            )
        else:
            try:
                parent_settings([document])
            except SettingsTextInvalid as exc:
                problems.add(where, "settings_string", str(exc))
    elif section == "api_keys" and not str(document.get("secret", "")).startswith("sha256:"):
        problems.add(where, "secret", "must be the key's hash, `sha256:<hex>` (never the key itself)")


class _DocumentProblems:
    """A collector that marks every problem as the document's own."""

    def __init__(self, problems: _Collector, table: str, doc_id: str) -> None:
        self._problems = problems
        self._mark = {"table": table, "doc_id": doc_id}

    def add(self, where: str, field: str, message: str) -> None:
        self._problems.add(where, field, message, **self._mark)


def _check_references(
    tables: Mapping[str, Mapping[str, dict[str, Any]]], present: set[str], problems: _Collector
) -> None:
    def missing(table: str, ref: Any) -> bool:
        return bool(ref) and ref not in tables[table] and ref not in present

    for module_id, module in tables["modules"].items():
        mark = {"table": "modules", "doc_id": module_id}
        if missing("drivers", module["driver_id"]):
            problems.add(
                f"modules ({module_id})", "driver_id", f"no driver {module['driver_id']!r} in drivers", **mark
            )
        if missing("systems", module.get("control_system_id")):
            problems.add(
                f"modules ({module_id})",
                "control_system_id",
                f"no system {module['control_system_id']!r} in systems",
                **mark,
            )
    for system_id, system in tables["systems"].items():
        for index, ref in enumerate(system.get("modules", [])):
            if missing("modules", ref):
                problems.add(
                    f"systems ({system_id})",
                    f"modules.{index}",
                    f"no module {ref!r} in modules",
                    table="systems",
                    doc_id=system_id,
                )
        for index, ref in enumerate(system.get("zones", [])):
            if missing("zones", ref):
                problems.add(
                    f"systems ({system_id})",
                    f"zones.{index}",
                    f"no zone {ref!r} in zones",
                    table="systems",
                    doc_id=system_id,
                )
    parent_tables = {"driver": "drivers", "zone": "zones", "control_system": "systems", "module": "modules"}
    for settings_id, document in tables["settings"].items():
        table = parent_tables.get(str(document.get("parent_type")), "")
        if table and missing(table, document["parent_id"]):
            problems.add(
                f"settings ({settings_id})",
                "parent_id",
                f"no {table} document {document['parent_id']!r}",
                table="settings",
                doc_id=settings_id,
            )
    for key_id, key in tables["api_keys"].items():
        if missing("users", key["user_id"]):
            problems.add(
                f"api_keys ({key_id})",
                "user_id",
                f"no user {key['user_id']!r} in users",
                table="api_keys",
                doc_id=key_id,
            )


def _auth(raw: Any, problems: _Collector) -> AuthMaterial:
    if raw is None:
        return AuthMaterial()
    if not isinstance(raw, Mapping):
        problems.add("auth", "document", f"must be a mapping, not {type(raw).__name__}", table="auth")
        return AuthMaterial()
    for key in raw:
        if key not in ("issuer", "jwks", "public_keys"):
            problems.add("auth", str(key), "unknown field; known: issuer, jwks, public_keys", table="auth")
    issuer = raw.get("issuer") or DEFAULT_ISSUER
    if not isinstance(issuer, str):
        problems.add("auth", "issuer", "must be a string", table="auth")
        issuer = DEFAULT_ISSUER
    jwks = raw.get("jwks") or {}
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        if jwks:
            problems.add("auth", "jwks", "must be a JWK set: {keys: [...]}", table="auth")
        jwks, keys = {}, []
    for index, key in enumerate(keys):
        try:
            jwt.PyJWK(key)
        except (jwt.PyJWKError, jwt.InvalidKeyError, TypeError, ValueError) as exc:
            problems.add("auth", f"jwks.keys.{index}", f"not a usable public key: {exc}", table="auth")
    pems = raw.get("public_keys") or []
    if not isinstance(pems, list) or not all(isinstance(pem, str) for pem in pems):
        problems.add("auth", "public_keys", "must be a list of PEM strings", table="auth")
        pems = []
    for index, pem in enumerate(pems):
        try:
            load_pem_public_key(pem.encode())
        except (ValueError, TypeError) as exc:
            problems.add("auth", f"public_keys.{index}", f"not a PEM public key: {exc}", table="auth")
    return AuthMaterial(issuer=issuer, jwks=dict(jwks), public_keys=tuple(pems))
