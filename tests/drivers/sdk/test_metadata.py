"""Metadata comes from the class alone: schemas from hints, security levels, interfaces."""

from __future__ import annotations

import enum
from typing import Literal

import pytest
from pydantic import BaseModel

from drivers.sdk import (
    Driver,
    DriverDefinitionError,
    Level,
    Powerable,
    Switchable,
    metadata_of,
    security,
)


class Input(enum.Enum):
    HDMI = "hdmi"
    VGA = "vga"


class Preset(BaseModel):
    name: str
    level: int = 0


class Projector(Driver, Powerable, Switchable):
    """A projector for the metadata tests."""

    descriptive_name = "Example Projector"
    generic_name = "Display"
    default_settings = {"password": "admin", "poll_every": 10}
    default_port = 4352

    async def power(self, state: bool) -> None:
        """Turn the lamp on or off."""

    async def switch_to(self, input: str) -> None: ...

    async def volume(self, level: int, mode: Literal["abs", "rel"] = "abs") -> int:
        return level

    async def recall(self, preset: Preset, inputs: list[Input] | None = None) -> None: ...

    @security(Level.SUPPORT)
    async def lamp_hours(self) -> int:
        return 1

    @security("admin")
    async def reboot(self) -> None: ...

    async def _private(self) -> None: ...

    def not_async(self) -> None: ...


def test_declarations() -> None:
    meta = metadata_of(Projector).as_json()
    assert meta["descriptive_name"] == "Example Projector"
    assert meta["generic_name"] == "Display"
    assert meta["description"] == "A projector for the metadata tests."
    assert meta["default_settings"] == {"password": "admin", "poll_every": 10}
    assert meta["transport"] == "tcp"
    assert meta["default_port"] == 4352
    assert meta["default_uri"] is None
    assert meta["makebreak"] is False


def test_functions_are_public_async_methods_only() -> None:
    meta = metadata_of(Projector).as_json()
    assert sorted(meta["interface"]) == ["lamp_hours", "power", "reboot", "recall", "switch_to", "volume"]
    for hook in ("on_load", "received", "connected", "send", "queue"):
        assert hook not in meta["interface"]


def test_argument_schemas_from_hints() -> None:
    interface = metadata_of(Projector).as_json()["interface"]
    assert interface["power"] == {"state": {"type": "boolean"}}
    assert interface["volume"]["level"] == {"type": "integer"}
    assert interface["volume"]["mode"] == {"enum": ["abs", "rel"], "type": "string", "default": "abs"}
    recall = interface["recall"]
    assert recall["preset"]["properties"]["name"] == {"title": "Name", "type": "string"}
    assert recall["inputs"]["default"] is None
    functions = metadata_of(Projector).as_json()["functions"]
    assert functions["volume"] == {"level": ["int"], "mode": ["Literal['abs', 'rel']", "abs"]}


def test_security_and_implements() -> None:
    meta = metadata_of(Projector).as_json()
    assert meta["security"] == {"support": ["lamp_hours"], "administrator": ["reboot"]}
    assert meta["implements"] == ["Powerable", "Switchable"]


def test_settings_schema_inferred_from_defaults() -> None:
    schema = metadata_of(Projector).as_json()["settings_schema"]
    assert schema["properties"]["password"] == {"default": "admin", "title": "Password", "type": "string"}
    assert schema["properties"]["poll_every"]["type"] == "integer"


def test_settings_model_wins() -> None:
    class Settings(BaseModel):
        host_name: str

    class WithModel(Driver):
        settings_model = Settings

    assert metadata_of(WithModel).as_json()["settings_schema"]["required"] == ["host_name"]


def test_transport_inference() -> None:
    class Logic(Driver):
        pass

    class Web(Driver):
        default_uri = "https://device.local/api"

    class Socket(Driver):
        default_uri = "wss://device.local/ws"

    class Udp(Driver):
        transport = "udp"
        default_port = 9

    assert [c.transport_kind() for c in (Logic, Web, Socket, Udp)] == ["logic", "http", "websocket", "udp"]


def test_unimplemented_interface_is_a_definition_error() -> None:
    class Half(Driver, Powerable):
        pass

    with pytest.raises(DriverDefinitionError, match="does not define power"):
        metadata_of(Half)


def test_validation_names_the_argument() -> None:
    spec = metadata_of(Projector).functions["volume"]
    assert spec.validate([5]) == {"level": 5, "mode": "abs"}
    assert spec.validate({"level": "7", "mode": "rel"}) == {"level": 7, "mode": "rel"}
    with pytest.raises(Exception, match=r"argument 'level'.*got 'loud'"):
        spec.validate(["loud"])
    with pytest.raises(Exception, match="argument 'level': Field required"):
        spec.validate({})
    with pytest.raises(Exception, match="unexpected argument 'bogus'"):
        spec.validate({"level": 1, "bogus": 2})
    with pytest.raises(Exception, match="at most 2 arguments"):
        spec.validate([1, "abs", 3])


def test_argument_named_like_a_model_attribute() -> None:
    class Odd(Driver):
        async def store(self, json: str, copy: int = 1) -> None: ...

    spec = metadata_of(Odd).functions["store"]
    assert spec.validate(["x"]) == {"json": "x", "copy": 1}


def test_function_docstrings_become_descriptions() -> None:
    descriptions = metadata_of(Projector).as_json()["descriptions"]
    assert descriptions["power"] == "Turn the lamp on or off."
    assert "switch_to" not in descriptions  # no docstring, no entry
