"""The driver SDK: what a driver author imports (the host machinery lives in `edge/hosts/`).

from drivers.sdk import Driver, DelimiterTokenizer, Powerable, security, Level
"""

from __future__ import annotations

from drivers.sdk.command_queue import Task
from drivers.sdk.config import ModuleConfig
from drivers.sdk.connection import Backoff
from drivers.sdk.driver import Driver
from drivers.sdk.errors import (
    AccessDeniedError,
    BufferOverflowError,
    CommandAbortedError,
    CommandTimeoutError,
    ConnectError,
    ConnectionLostError,
    DeviceError,
    DriverDefinitionError,
    DriverError,
    ExecError,
    FunctionTimeoutError,
    InvalidArgumentsError,
    NotConnectedError,
    SettingError,
    TransportError,
    UnknownFunctionError,
    UnknownModuleError,
)
from drivers.sdk.interfaces import (
    INTERFACES,
    Camera,
    Lighting,
    Muteable,
    Powerable,
    Sensor,
    Switchable,
    Volume,
)
from drivers.sdk.loader import load_driver
from drivers.sdk.metadata import DriverMetadata, FunctionSpec, metadata_of
from drivers.sdk.runtime import ModuleRuntime
from drivers.sdk.scheduler import ScheduledJob, Scheduler
from drivers.sdk.security import Level, security
from drivers.sdk.status import StatusChange
from drivers.sdk.system import ModuleRef, SystemDirectory, SystemProxy
from drivers.sdk.tokenizers import (
    CallableTokenizer,
    DelimiterTokenizer,
    FixedLengthTokenizer,
    LengthPrefixTokenizer,
    Tokenizer,
)
from drivers.sdk.transport import StreamTransport
from drivers.sdk.transport_registry import TRANSPORT_FACTORIES, register_transport

__all__ = [
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
]
