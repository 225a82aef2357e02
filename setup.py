"""Optional C extensions of the collectors; metadata lives in pyproject.toml.

``profkit/collect/_heaphook.c`` (heap sampling hook) and ``_fastlock.c`` (fast path
of the profiled Lock) are built when a C compiler and Python headers are available.
If a build fails, installation continues without it and the collectors use their
pure-Python twins (tracemalloc-based heap backend, Python lock wrapper).
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
            print(f"profkit: C extensions not built ({e}); using the pure-Python fallbacks",
                  file=sys.stderr)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as e:  # noqa: BLE001
            print(f"profkit: {ext.name} not built ({e}); using its pure-Python fallback",
                  file=sys.stderr)


ext_modules = []
if sys.implementation.name == "cpython":
    ext_modules.append(
        Extension("profkit.collect._heaphook", ["profkit/collect/_heaphook.c"], optional=True)
    )
    ext_modules.append(
        Extension("profkit.collect._fastlock", ["profkit/collect/_fastlock.c"], optional=True)
    )
    if sys.platform.startswith("linux"):
        ext_modules.append(
            Extension("profkit.collect._cpuwake", ["profkit/collect/_cpuwake.c"], optional=True)
        )

setup(ext_modules=ext_modules, cmdclass={"build_ext": OptionalBuildExt})
