"""Find a driver class from a name: `pkg.module:Class`, `pkg.module`, or a .py file path."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

from drivers.sdk.driver import Driver
from drivers.sdk.errors import DriverDefinitionError


def _load_file(path: Path) -> ModuleType:
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"_transom_driver_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise DriverDefinitionError(f"cannot load {str(path)!r} as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_driver(target: str) -> type[Driver]:
    """The driver class `target` names.

    `pkg.module:Class` names it; `pkg.module` or `some/file.py` (optionally `:Class`) must
    define exactly one Driver subclass.

    Raises:
        DriverDefinitionError: nothing importable there, no such class, or not one driver.
    """
    where, _, class_name = target.partition(":") if not _is_windows_drive(target) else (target, "", "")
    try:
        if where.endswith(".py") or "/" in where:
            path = Path(where)
            if not path.is_file():
                raise DriverDefinitionError(f"no driver file {where!r}")
            module = _load_file(path)
        else:
            module = importlib.import_module(where)
    except DriverDefinitionError:
        raise
    except Exception as exc:
        raise DriverDefinitionError(f"cannot import {where!r}: {type(exc).__name__}: {exc}") from exc
    if class_name:
        cls = getattr(module, class_name, None)
        if not (inspect.isclass(cls) and issubclass(cls, Driver)):
            raise DriverDefinitionError(f"{where!r} has no Driver subclass named {class_name!r}")
        return cls
    found = [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, Driver)
        and value.__module__ == module.__name__
        and not inspect.isabstract(value)
    ]
    if len(found) != 1:
        names = ", ".join(c.__name__ for c in found) or "none"
        raise DriverDefinitionError(
            f"{where!r} must define one driver class, found {names}; name it as {where}:Class"
        )
    return found[0]


def _is_windows_drive(target: str) -> bool:
    return len(target) > 2 and target[1] == ":" and target[2] in "\\/"
