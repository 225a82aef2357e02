"""``IN_CI`` and ``require_tool`` for test modules in any directory.

Test modules must not ``from conftest import ...``: with several ``conftest.py``
files (tests/, tests/collect/, tests/endpoints/) the name ``conftest`` resolves to
whichever was loaded last. This module loads the root one by path instead.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "profkit_tests_root_conftest", Path(__file__).resolve().parent / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_root)

IN_CI: bool = _root.IN_CI
require_tool = _root.require_tool

__all__ = ["IN_CI", "require_tool"]
