"""Cross-field rules: how a model validator reports errors that name their fields.

A pydantic "after" validator sees the whole document but its errors carry no
field location. `check_rules` raises one custom error that carries the list of
`FieldError`s in its context; `registry.validate_document` unpacks it, adding
the path of the sub-document the rule ran on.
"""

from __future__ import annotations

from pydantic_core import PydanticCustomError

from .errors import FieldError

RULES_ERROR_TYPE = "document_rules"


def check_rules(errors: list[FieldError]) -> None:
    """Raise the rule errors found on a document, if any.

    Raises:
        PydanticCustomError: of type `RULES_ERROR_TYPE`; its message names every field.
    """
    if errors:
        summary = "; ".join(f"{error['field']}: {error['message']}" for error in errors)
        raise PydanticCustomError(RULES_ERROR_TYPE, "{summary}", {"summary": summary, "errors": errors})


def rule(field: str, message: str) -> FieldError:
    """One broken cross-field rule."""
    return {"field": field, "message": message}
