"""The errors of the domain model, in one place.

ValueError
 +-- DocumentInvalid             a document broke a rule; names every bad field
 +-- SettingsTextInvalid         settings text is not a JSON or YAML mapping
 +-- SettingsDecryptionFailed    wrong secret, tampered or moved ciphertext
"""

from __future__ import annotations

from typing import TypedDict


class FieldError(TypedDict):
    """One broken rule: the dotted path of the field and what is wrong with it."""

    field: str
    message: str


class DocumentInvalid(ValueError):
    """Raised when a document does not validate; nothing has been written.

    `errors` lists every problem found, each naming its field by dotted path
    (`zones.2`, `conditions.comparisons.0.operator`). Not raised for documents
    that are valid but conflict with stored data (a missing parent, a
    duplicate name): those are the store's to report.
    """

    def __init__(self, table: str, errors: list[FieldError]) -> None:
        self.table = table
        self.errors = errors
        details = "; ".join(f"{error['field']}: {error['message']}" for error in errors)
        super().__init__(f"invalid {table} document: {details}")


class SettingsTextInvalid(ValueError):
    """Raised when settings text is not JSON or YAML, or not a mapping at its top.

    The message says where parsing stopped when the parser knows. Not raised for
    encrypted text, which cannot be parsed until it is decrypted.
    """


class SettingsDecryptionFailed(ValueError):
    """Raised when encrypted settings cannot be opened.

    The causes cannot be told apart on purpose (AES-GCM only says the tag did
    not verify): a different server secret, a changed ciphertext, a ciphertext
    copied from another record, or another encryption level.
    """
