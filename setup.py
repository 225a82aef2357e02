"""Optional C extension for the heap profiler; metadata lives in pyproject.toml.

``profkit/collect/_heaphook.c`` is built when a C compiler and Python headers are
available. If the build fails, installation continues without it and
``profkit.collect.heap`` uses its tracemalloc-based fallback.
"""

from __future__ import annotations

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """Build extensions, but never fail the install because of them."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as e:  # noqa: BLE001 - any compiler/setup failure
            print(f"profkit: C heap hook not built ({e}); using the tracemalloc fallback",
                  file=sys.stderr)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as e:  # noqa: BLE001
            print(f"profkit: C heap hook not built ({e}); using the tracemalloc fallback",
                  file=sys.stderr)


ext_modules = []
if sys.implementation.name == "cpython":
    ext_modules.append(
        Extension("profkit.collect._heaphook", ["profkit/collect/_heaphook.c"], optional=True)
    )

setup(ext_modules=ext_modules, cmdclass={"build_ext": OptionalBuildExt})
