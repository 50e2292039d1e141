"""JsonSchema: a JSON schema that metadata `details` may name through `schema_id` (PlaceOS's JsonSchema)."""

from __future__ import annotations

from pydantic import ConfigDict, Field, JsonValue

from .document import Document
from .fields import Name, OptionalText


class JsonSchema(Document):
    """A named JSON schema; front ends validate metadata `details` against it."""

    table = "json_schemas"
    # The field is `schema` on the wire; `schema_` in Python, where BaseModel owns `schema`.
    model_config = ConfigDict(extra="forbid", serialize_by_alias=True, validate_by_name=False)

    name: Name
    description: OptionalText = ""
    schema_: dict[str, JsonValue] = Field(default_factory=dict, alias="schema")
