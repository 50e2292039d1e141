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


async def test_settings_are_checked_against_the_drivers_they_reach(api: Api) -> None:
    """Before: `display_id: abc` was 201 and the first exec failed with a 500."""
    driver = await api.admin.post(
        "/drivers", json={"file_name": "drivers.samsung.mdc_display:SamsungMDCDisplay"}
    )
    module = await api.admin.post("/modules", json={"driver_id": driver.json()["id"], "ip": "10.0.0.7"})
    module_id = module.json()["id"]
    system = await api.admin.post("/systems", json={"name": "Room S", "modules": [module_id]})
    for parent in (module_id, system.json()["id"], driver.json()["id"]):
        bad = await api.admin.post(
            "/settings", json={"parent_id": parent, "settings_string": "display_id: abc\n"}
        )
        assert bad.status_code == 422, (parent, bad.text)
        assert bad.json()["fields"][0]["field"] == "settings_string.display_id"
        assert "int" in bad.json()["fields"][0]["message"]
    good = await api.admin.post(
        "/settings", json={"parent_id": module_id, "settings_string": "display_id: 3\n"}
    )
    assert good.status_code == 201, good.text
    other = await api.admin.post(
        "/settings", json={"parent_id": module_id, "settings_string": "shared_key: x\n"}
    )
    assert other.status_code == 201  # keys a driver does not declare are allowed (layers are shared)
    edit = await api.admin.patch(
        f"/settings/{good.json()['id']}", json={"settings_string": "display_id: [1]\n"}
    )
    assert edit.status_code == 422
