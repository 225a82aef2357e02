"""Optional C extensions; metadata lives in pyproject.toml.

Built when a C compiler and Python headers are available:

* ``profkit/collect/_heaphook.c``: the heap sampling hook;
* ``profkit/collect/_fastlock.c``: the fast path of the profiled Lock;
* ``profkit/collect/_cpuwake.c``: the CPU sampler's probes and its prober thread, and
  (CPython 3.11, ``_sigstack.h``) the stacks threads record in a signal handler (Linux);
* ``profkit/collect/_threadctx.c``: labels from each thread's current context;
* ``profkit/model/_pbtable.c``: profile.proto bytes straight to report tables;
* ``profkit/analysis/_kernels.c``: the per-frame loops of reports.

If a build fails, installation continues without it and profkit uses the pure-Python
twins (tracemalloc-based heap backend, Python lock wrapper, the protobuf decoder and
Python loops).
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
    ext_modules.append(
        Extension("profkit.collect._threadctx", ["profkit/collect/_threadctx.c"], optional=True)
    )
    ext_modules.append(
        Extension("profkit.analysis._kernels", ["profkit/analysis/_kernels.c"], optional=True)
    )
    ext_modules.append(
        Extension("profkit.model._pbtable", ["profkit/model/_pbtable.c"], optional=True)
    )
    if sys.platform.startswith("linux"):
        ext_modules.append(
            Extension(
                "profkit.collect._cpuwake",
                ["profkit/collect/_cpuwake.c"],
                depends=["profkit/collect/_sigstack.h", "profkit/collect/_prober.h"],
                optional=True,
            )
        )

setup(ext_modules=ext_modules, cmdclass={"build_ext": OptionalBuildExt})
