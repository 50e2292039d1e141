"""A driver document must name a class that loads; the cloud fills its metadata from the class.

Before: `file_name "acme_display:AcmeDisplay"` was accepted (201) and then stopped all
configuration reaching the site; registered drivers had empty `functions` and `json_schema`;
`role` was not checked against the class.
"""

from __future__ import annotations

from drivers.sdk import load_driver, metadata_of
from tests.cloud.api.conftest import Api

SWITCHER = "drivers.extron.sis_matrix:ExtronMatrix"


async def test_a_class_that_does_not_load_is_refused_naming_the_field(api: Api) -> None:
    for path in ("acme_display:AcmeDisplay", "drivers.pjlink.projector:NoSuchClass", "/tmp/x.py:Evil"):
        body = {"name": "Acme", "role": "device", "module_name": "Display", "file_name": path}
        refused = await api.admin.post("/drivers", json=body)
        assert refused.status_code == 422, (path, refused.text)
        assert [f["field"] for f in refused.json()["fields"]] == ["file_name"], path
    assert (await api.admin.get("/drivers")).json() == []  # nothing was stored


async def test_metadata_comes_from_the_class(api: Api) -> None:
    created = await api.admin.post("/drivers", json={"file_name": SWITCHER})
    assert created.status_code == 201, created.text
    driver = created.json()
    metadata = metadata_of(load_driver(SWITCHER)).as_json()
    assert driver["functions"] == metadata["functions"] and driver["functions"]
    assert driver["json_schema"] == metadata["json_schema"]
    assert driver["default_port"] == metadata["default_port"]
    assert driver["module_name"] == metadata["generic_name"]
    assert driver["role"] == 1  # a device, as PlaceOS numbers it


async def test_a_role_that_contradicts_the_class_is_refused(api: Api) -> None:
    body = {"name": "Switcher", "module_name": "Switcher", "file_name": SWITCHER, "role": "logic"}
    refused = await api.admin.post("/drivers", json=body)
    assert refused.status_code == 422 and refused.json()["fields"][0]["field"] == "role"
    assert (await api.admin.post("/drivers", json={**body, "role": 1})).status_code == 201
