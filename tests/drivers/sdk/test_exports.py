"""The SDK's public names are exactly `__all__`, and each is importable."""

from __future__ import annotations

import drivers.sdk

EXPECTED = {
    "INTERFACES",
    "TRANSPORT_FACTORIES",
    "AccessDeniedError",
    "Backoff",
    "BufferOverflowError",
    "CallableTokenizer",
    "Camera",
    "CommandAbortedError",
    "CommandTimeoutError",
    "ConnectError",
    "ConnectionLostError",
    "DelimiterTokenizer",
    "DeviceError",
    "Driver",
    "DriverDefinitionError",
    "DriverError",
    "DriverMetadata",
    "ExecError",
    "FixedLengthTokenizer",
    "FunctionSpec",
    "FunctionTimeoutError",
    "InvalidArgumentsError",
    "LengthPrefixTokenizer",
    "Level",
    "Lighting",
    "ModuleConfig",
    "ModuleRef",
    "ModuleRuntime",
    "Muteable",
    "NotConnectedError",
    "Powerable",
    "ScheduledJob",
    "Scheduler",
    "Sensor",
    "SettingError",
    "StatusChange",
    "StreamTransport",
    "Switchable",
    "SystemDirectory",
    "SystemProxy",
    "Task",
    "Tokenizer",
    "TransportError",
    "UnknownFunctionError",
    "UnknownModuleError",
    "Volume",
    "load_driver",
    "metadata_of",
    "register_transport",
    "security",
}


def test_all_is_what_we_expect() -> None:
    assert set(drivers.sdk.__all__) == EXPECTED
    assert len(drivers.sdk.__all__) == len(EXPECTED)


def test_every_export_exists() -> None:
    for name in drivers.sdk.__all__:
        assert getattr(drivers.sdk, name) is not None, name


def test_no_public_name_outside_all() -> None:
    public = {
        name
        for name, value in vars(drivers.sdk).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("drivers.sdk")
    }
    assert public <= set(drivers.sdk.__all__)
