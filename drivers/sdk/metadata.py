"""What a driver class offers, read from the class alone: functions, schemas, security.

The JSON shape follows PlaceOS's driver metadata (PlaceOS/driver `driver_model.cr`):

    interface        {function: {argument: JSON schema}}
    functions        {function: {argument: [type name] or [type name, default]}}
    implements       ["Powerable", ...]
    security         {"support": [function, ...], "administrator": [...]}
    settings_schema  JSON schema of the settings (also under `json_schema`)

plus the class declarations: descriptive_name, generic_name, description,
default_settings, transport, default_port, default_uri, makebreak, inbound.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from pydantic_core import PydanticSerializationError, to_jsonable_python

from drivers.sdk.errors import DriverDefinitionError, InvalidArgumentsError
from drivers.sdk.interfaces import implemented_by, interface_methods
from drivers.sdk.security import Level, level_of

if TYPE_CHECKING:
    from drivers.sdk.driver import Driver

_ARGS_CONFIG = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


def _type_name(hint: Any) -> str:
    if hint is inspect.Parameter.empty or hint is Any:
        return "Any"
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "")


def _jsonable(value: Any) -> tuple[bool, Any]:
    try:
        return True, to_jsonable_python(value)
    except (PydanticSerializationError, TypeError, ValueError):
        return False, None


@dataclass(slots=True)
class Argument:
    """One parameter of a driver function."""

    name: str
    hint: Any
    default: Any = inspect.Parameter.empty

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


@dataclass(slots=True)
class FunctionSpec:
    """A callable driver function: its arguments, their validator, its security level."""

    name: str
    arguments: list[Argument]
    level: Level
    returns: Any
    doc: str
    _model: type[BaseModel] = field(repr=False)
    _fields: dict[str, str] = field(repr=False)  # model field -> argument name

    def validate(self, args: Sequence[Any] | Mapping[str, Any] | None) -> dict[str, Any]:
        """Check `args` (positional list or named dict) and return keyword arguments.

        Raises:
            InvalidArgumentsError: naming each argument that is missing, extra or wrong.
        """
        if args is None:
            named: Mapping[str, Any] = {}
        elif isinstance(args, Mapping):
            named = args
        elif isinstance(args, Sequence) and not isinstance(args, str | bytes):
            if len(args) > len(self.arguments):
                raise InvalidArgumentsError(
                    f"{self.name}() takes at most {len(self.arguments)} arguments "
                    f"({', '.join(a.name for a in self.arguments)}), got {len(args)}"
                )
            named = {arg.name: value for arg, value in zip(self.arguments, args, strict=False)}
        else:
            raise InvalidArgumentsError(f"{self.name}(): arguments must be a list or an object, not {args!r}")
        try:
            model = self._model.model_validate(dict(named))
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                where = error["loc"][0] if error["loc"] else "?"
                if error["type"] == "extra_forbidden":
                    problems.append(f"unexpected argument {where!r}")
                else:
                    got = "" if error["type"] == "missing" else f" (got {error['input']!r})"
                    problems.append(f"argument {where!r}: {error['msg']}{got}")
            raise InvalidArgumentsError(f"{self.name}(): {'; '.join(problems)}") from None
        return {self._fields[f]: getattr(model, f) for f in self._fields}

    def interface(self) -> dict[str, Any]:
        """{argument: JSON schema}, with the default where it is JSON."""
        out: dict[str, Any] = {}
        for arg in self.arguments:
            schema = dict(_schema_of(arg.hint, f"{self.name}({arg.name})"))
            if not arg.required:
                ok, value = _jsonable(arg.default)
                if ok:
                    schema["default"] = value
            out[arg.name] = schema
        return out

    def functions_entry(self) -> dict[str, list[Any]]:
        """{argument: [type name] or [type name, default]} (PlaceOS `functions`)."""
        out: dict[str, list[Any]] = {}
        for arg in self.arguments:
            entry: list[Any] = [_type_name(arg.hint)]
            if not arg.required:
                ok, value = _jsonable(arg.default)
                if ok:
                    entry.append(value)
            out[arg.name] = entry
        return out


def _schema_of(hint: Any, where: str) -> dict[str, Any]:
    if hint is inspect.Parameter.empty or hint is Any:
        return {}
    try:
        return TypeAdapter(hint).json_schema()
    except Exception as exc:  # pydantic raises several kinds for unschemable types
        raise DriverDefinitionError(f"{where}: type {hint!r} has no JSON schema: {exc}") from None


def _function_spec(cls: type, name: str, fn: Any) -> FunctionSpec:
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise DriverDefinitionError(f"{cls.__name__}.{name}: cannot resolve type hints: {exc}") from None
    arguments: list[Argument] = []
    fields: dict[str, Any] = {}
    names: dict[str, str] = {}
    for i, param in enumerate(list(inspect.signature(fn).parameters.values())[1:]):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        hint = hints.get(param.name, Any)
        arguments.append(Argument(param.name, hint, param.default))
        field_name = f"a{i}"
        names[field_name] = param.name
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[field_name] = (hint, Field(default, alias=param.name))
    try:
        model = create_model(f"{cls.__name__}_{name}_args", __config__=_ARGS_CONFIG, **fields)
    except Exception as exc:
        raise DriverDefinitionError(f"{cls.__name__}.{name}: arguments cannot be validated: {exc}") from None
    doc = (inspect.getdoc(fn) or "").strip().split("\n", 1)[0]
    return FunctionSpec(name, arguments, level_of(fn), hints.get("return", Any), doc, model, names)


@dataclass(slots=True)
class DriverMetadata:
    """Everything about a driver class that needs no running module."""

    cls: type[Driver]
    functions: dict[str, FunctionSpec]
    implements: list[str]

    def as_json(self) -> dict[str, Any]:
        """The PlaceOS-shaped metadata document."""
        cls = self.cls
        security: dict[str, list[str]] = {"support": [], "administrator": []}
        for spec in self.functions.values():
            if spec.level is not Level.USER:
                security[spec.level.metadata_name].append(spec.name)
        settings_schema = cls.settings_schema()
        return {
            "class": f"{cls.__module__}:{cls.__qualname__}",
            "descriptive_name": cls.descriptive_name or cls.__name__,
            "generic_name": cls.generic_name or cls.__name__,
            "description": cls.description or (inspect.getdoc(cls) or "").split("\n", 1)[0],
            "default_settings": to_jsonable_python(cls.default_settings),
            "transport": cls.transport_kind(),
            "default_port": cls.default_port,
            "default_uri": cls.default_uri,
            "makebreak": cls.makebreak,
            "inbound": list(cls.inbound) if cls.inbound else None,
            "interface": {name: spec.interface() for name, spec in self.functions.items()},
            "functions": {name: spec.functions_entry() for name, spec in self.functions.items()},
            # Not in PlaceOS's document: the first line of each function's docstring, for
            # `transom driver info` and the Backoffice's function list.
            "descriptions": {name: spec.doc for name, spec in self.functions.items() if spec.doc},
            "implements": list(self.implements),
            "requirements": {},
            "security": security,
            "settings_schema": settings_schema,
            "json_schema": settings_schema,
        }


_cache: dict[type, DriverMetadata] = {}


def metadata_of(cls: type[Driver]) -> DriverMetadata:
    """Build (once) the metadata of a driver class.

    Raises:
        DriverDefinitionError: a hint has no schema, or an inherited interface method is
            not implemented.
    """
    cached = _cache.get(cls)
    if cached is not None and cached.cls is cls:
        return cached
    from drivers.sdk.driver import Driver

    reserved = set(dir(Driver))
    interfaces = implemented_by(cls)
    stubs = {id(vars(iface)[m]) for iface in interfaces for m in interface_methods(iface)}
    for iface in interfaces:
        for method in interface_methods(iface):
            if id(getattr(cls, method, None)) in stubs:
                raise DriverDefinitionError(
                    f"{cls.__name__} inherits {iface.__name__} but does not define {method}()"
                )
    functions: dict[str, FunctionSpec] = {}
    for name in sorted(dir(cls)):
        if name.startswith("_") or name in reserved:
            continue
        fn = getattr(cls, name)
        if inspect.iscoroutinefunction(fn):
            functions[name] = _function_spec(cls, name, fn)
    meta = DriverMetadata(cls, functions, [iface.__name__ for iface in interfaces])
    _cache[cls] = meta
    return meta
