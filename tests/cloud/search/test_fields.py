"""fields.py: every table is covered, no secret is indexed, text comes out as expected."""

from __future__ import annotations

import pytest

from cloud.search.fields import SECRET_FIELDS, TABLE_FIELDS, extract_facets, extract_text, sort_name
from sync.model import TABLES


def test_every_table_of_the_model_is_described() -> None:
    assert set(TABLE_FIELDS) == set(TABLES)


@pytest.mark.parametrize("table", sorted(TABLE_FIELDS))
def test_no_secret_field_is_indexed(table: str) -> None:
    assert not TABLE_FIELDS[table].all_fields & SECRET_FIELDS
    model_fields = set(TABLES[table].model_fields)
    assert TABLE_FIELDS[table].all_fields <= model_fields, "a field list names a field the model lacks"


def test_extract_text_flattens_lists_and_skips_objects() -> None:
    doc = {"name": "Room", "features": ["vc", "display"], "capacity": 8, "code": {"x": 1}, "bookable": True}
    text = extract_text("systems", doc)
    assert text == {"name": "Room", "description": "", "tags": "vc display", "email": "", "other": ""}
    assert extract_facets("systems", doc) == {"features": ["vc", "display"], "bookable": True}


def test_sort_name() -> None:
    assert sort_name("modules", {"name": "Display", "custom_name": "Left Screen"}) == "left screen"
    assert sort_name("modules", {"name": "Display", "custom_name": ""}) == "display"
    assert sort_name("settings", {"parent_id": "sys-1"}) == ""
    assert sort_name("unknown_table", {"name": "X"}) == "x"
