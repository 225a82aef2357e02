"""profkit: pprof for Python.

``import profkit`` is light: submodules load on first attribute access
(``profkit.cpu.start()`` imports ``profkit.cpu`` then).
"""

from __future__ import annotations

import importlib
from types import ModuleType

_LAZY_SUBMODULES = frozenset({"cpu", "collect", "model", "errors", "load", "cli"})


def __getattr__(name: str) -> ModuleType:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"profkit.{name}")
    raise AttributeError(f"module 'profkit' has no attribute {name!r}")
