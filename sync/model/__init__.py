"""The domain model edge and cloud agree on: documents, ids, validation, settings.

ids.py               sortable ids (`sys-` + 10 characters)
document.py          Document: id, created_at, updated_at
fields.py            shared field types (references, ports, time zones)
authority.py ...     one module per table's document
registry.py          TABLES and validate_document
rules.py             how cross-field rules name their fields
settings_text.py     JSON/YAML settings text
settings_merge.py    Driver < zones < System < Module
encryption.py        AES-256-GCM settings at rest
settings_at_rest.py  seal/open a settings document
clearance.py         roles and encryption levels
redaction.py         settings as a role may see them
errors.py            the error hierarchy
"""

from __future__ import annotations

from .api_key import ApiKey
from .authority import Authority
from .clearance import EncryptionLevel, Role, can_see
from .document import Document
from .driver import Driver, DriverRole
from .edge import Edge
from .encryption import SettingsCipher, is_encrypted
from .errors import DocumentInvalid, FieldError, SettingsDecryptionFailed, SettingsTextInvalid
from .ids import ID_PREFIXES, new_id
from .json_schema import JsonSchema
from .metadata import Metadata
from .module import Module
from .redaction import REDACTED_SETTINGS, redact_settings
from .registry import TABLES, validate_document
from .revocation import Revocation
from .settings import ParentType, Settings
from .settings_at_rest import open_settings, seal_settings
from .settings_merge import merge_settings, parent_settings, settings_layers
from .settings_text import parse_settings_text, settings_keys
from .system import System
from .trigger import Trigger
from .trigger_instance import TriggerInstance
from .user import User
from .zone import Zone

__all__ = [
    "ID_PREFIXES",
    "REDACTED_SETTINGS",
    "TABLES",
    "ApiKey",
    "Authority",
    "Document",
    "DocumentInvalid",
    "Driver",
    "DriverRole",
    "Edge",
    "EncryptionLevel",
    "FieldError",
    "JsonSchema",
    "Metadata",
    "Module",
    "ParentType",
    "Revocation",
    "Role",
    "Settings",
    "SettingsCipher",
    "SettingsDecryptionFailed",
    "SettingsTextInvalid",
    "System",
    "Trigger",
    "TriggerInstance",
    "User",
    "Zone",
    "can_see",
    "is_encrypted",
    "merge_settings",
    "new_id",
    "open_settings",
    "parent_settings",
    "parse_settings_text",
    "redact_settings",
    "seal_settings",
    "settings_keys",
    "settings_layers",
    "validate_document",
]
