"""pytest plugin: ``pytest --profkit-profile DIR`` writes a CPU profile per benchmark.

Like ``go test -bench -cpuprofile``, but one ``profile.proto`` per benchmark. After pytest-benchmark's
timed rounds (so timings are untouched, as with ``--benchmark-cprofile``) the benchmarked callable
runs again under ``profkit.collect.cpu.CpuProfiler`` for about ``--profkit-profile-seconds``; the
number of calls is recorded (profile comment, and the benchmark's ``extra_info``:
``profkit_profile`` = the file, relative to the ``--benchmark-json`` file's directory when given,
``profkit_profile_calls`` = calls) so ``profkit bench compare --profiles`` can compare time per call.
``--profkit-profile-tests`` also profiles tests that do not use the ``benchmark`` fixture (during
the test call itself).

Without ``--profkit-profile`` the plugin only registers its options: nothing is imported, no hook
wraps a test.

``--profkit-instructions`` measures every benchmark in instructions counted under callgrind instead
of seconds (``profkit.bench.instructions``): this process re-runs the same pytest command under
valgrind and returns its exit code (2, with one line on stderr, when valgrind is missing or too old
or the run crashes). When a CPU profile is already running in the process (the code under test profiles
itself), the benchmark is not profiled and ``extra_info["profkit_profile_error"]`` says why; the
same happens, with a pytest warning, when the profile cannot be written (full disk, bad DIR): a
profile never fails a test.

File names: ``profile_filename`` keeps a readable, sanitised prefix of the test id and adds a hash
of the whole id, so ``test_x[a b]`` and ``test_x[a_b]`` never share a file and long parametrised
ids stay under file-name limits. Runs written into the same DIR overwrite each other's profiles:
give each run (base and head alike) its own DIR.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import time
from typing import Any, Callable, Generator, Optional

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--profkit-profile`` and its companions."""
    group = parser.getgroup("profkit", "profkit CPU profiles")
    group.addoption("--profkit-profile", metavar="DIR", default=None,
                    help="write a CPU profile (pprof .pb.gz) per benchmark into DIR")
    group.addoption("--profkit-profile-tests", action="store_true", default=False,
                    help="also profile tests that do not use the benchmark fixture")
    group.addoption("--profkit-profile-seconds", type=float, default=0.5, metavar="S",
                    help="profile each benchmark for about S seconds after its timed rounds (0.5)")
    group.addoption("--profkit-profile-rate", type=float, default=1000.0, metavar="HZ",
                    help="sampling rate asked for (default 1000 Hz)")
    group.addoption("--profkit-instructions", action="store_true", default=False,
                    help="measure benchmarks in instructions counted by valgrind's callgrind "
                         "(deterministic; start-up and set-up not counted) instead of seconds")
    group.addoption("--profkit-instructions-rounds", type=_positive("--profkit-instructions-rounds"),
                    default=5, metavar="N",
                    help="counted calls per benchmark in instruction mode (default 5)")
    group.addoption("--profkit-instructions-warmup", type=_positive("--profkit-instructions-warmup"),
                    default=3, metavar="N",
                    help="uncounted calls before counting, the first included (default 3)")
    group.addoption("--profkit-valgrind", default="valgrind", metavar="PATH",
                    help="valgrind executable for --profkit-instructions (default: on PATH)")


def _positive(option: str) -> Callable[[str], int]:
    """The ``type`` of ``option``: ``parse_positive`` raising pytest's error type (exit 4)."""

    def check(text: str) -> int:
        from profkit.bench.positive import parse_positive

        try:
            return parse_positive(text)
        except ValueError as e:
            raise pytest.UsageError(f"profkit: {option}: {e}") from None

    return check


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> Optional[int]:
    """Under ``--profkit-instructions`` (outside valgrind): re-run this command under callgrind."""
    if not config.getoption("profkit_instructions"):
        return None
    from profkit.bench import instructions

    if os.environ.get(instructions.ENV_DIR) or os.environ.get(instructions.ENV_PRIME):
        return None  # the inner run (pytest_configure registers the counter), or the priming one
    return instructions.relaunch(config)


def pytest_configure(config: pytest.Config) -> None:
    """Register the profiling hooks only when ``--profkit-profile`` is given (or the counter)."""
    if config.getoption("profkit_instructions") and os.environ.get("PROFKIT_INSTRUCTIONS_DIR"):
        from profkit.bench import instructions

        config.pluginmanager.register(instructions.InstructionCounter(
            os.environ[instructions.ENV_HELPER], os.environ[instructions.ENV_DIR],
            rounds=config.getoption("profkit_instructions_rounds"),
            warmup=config.getoption("profkit_instructions_warmup")), "profkit-instructions")
    directory = config.getoption("profkit_profile")
    if not directory:
        return
    json_path = config.getoption("benchmark_json", default=None)
    json_dir = None
    if json_path:  # a Path in pytest-benchmark 5, an open file in older versions
        name = json_path if isinstance(json_path, (str, os.PathLike)) else json_path.name
        json_dir = os.path.dirname(os.path.abspath(os.fspath(name)))
    config.pluginmanager.register(
        ProfilingPlugin(directory, json_dir=json_dir,
                        per_test=config.getoption("profkit_profile_tests"),
                        seconds=config.getoption("profkit_profile_seconds"),
                        rate_hz=config.getoption("profkit_profile_rate")),
        "profkit-profiling",
    )


#: Longest readable prefix kept in a profile file name (the full name stays far below 255 bytes).
MAX_PREFIX = 80


def profile_filename(nodeid: str) -> str:
    """Return a file name unique to ``nodeid``: sanitised prefix + 12 hex digits of its SHA-256.

    ``a.py::test_x[1]`` -> ``a.py__test_x_1_-<hash>.pb.gz``; the prefix (at most ``MAX_PREFIX``
    characters of ``[A-Za-z0-9_.-]``) is for people, the hash of the full id keeps ids that
    sanitise or truncate alike apart.
    """
    prefix = re.sub(r"[^A-Za-z0-9_.-]", "_", nodeid.replace("::", "__"))[:MAX_PREFIX].lstrip(".")
    digest = hashlib.sha256(nodeid.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{prefix}-{digest}.pb.gz"


class _TargetCapture:
    """Remember what a pytest-benchmark fixture benchmarks, by wrapping the fixture instance."""

    def __init__(self, fixture: Any) -> None:
        self.fixture = fixture
        self.call: Optional[Callable[[], Any]] = None
        self._saved = {name: getattr(fixture, name) for name in ("_raw", "_raw_pedantic")
                       if callable(getattr(fixture, name, None))}
        if "_raw" in self._saved:
            fixture._raw = self._raw
        if "_raw_pedantic" in self._saved:
            fixture._raw_pedantic = self._raw_pedantic

    def _raw(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.call = lambda: function(*args, **kwargs)
        return self._saved["_raw"](function, *args, **kwargs)

    def _raw_pedantic(self, target: Callable[..., Any], args: Any = (), kwargs: Any = None,
                      setup: Optional[Callable[[], Any]] = None, **rest: Any) -> Any:
        def call() -> Any:
            a, k = args, kwargs or {}
            if setup is not None:
                made = setup()
                if made is not None:
                    a, k = made
            return target(*a, **k)

        self.call = call
        return self._saved["_raw_pedantic"](target, args=args, kwargs=kwargs, setup=setup, **rest)

    def restore(self) -> None:
        for name in self._saved:
            self.fixture.__dict__.pop(name, None)


class ProfilingPlugin:
    """The hooks active under ``--profkit-profile``; see the module docstring."""

    def __init__(self, directory: str, *, json_dir: Optional[str], per_test: bool, seconds: float,
                 rate_hz: float) -> None:
        self.directory = os.path.abspath(directory)
        self.json_dir = json_dir
        self.per_test = per_test
        self.seconds = seconds
        self.rate_hz = rate_hz
        self.last_error = ""
        os.makedirs(self.directory, exist_ok=True)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, None]:
        """Capture the benchmarked callable (or profile the whole call with per_test)."""
        funcargs = getattr(item, "funcargs", {})
        fixture = funcargs.get("benchmark")
        if fixture is not None and hasattr(fixture, "extra_info"):
            capture = _TargetCapture(fixture)
            try:
                outcome = yield
            finally:
                capture.restore()
            if outcome.excinfo is None and capture.call is not None and getattr(fixture, "enabled", True):
                self._profile_benchmark(item, fixture, capture.call)
            return
        if not self.per_test:
            yield
            return
        from profkit.collect.cpu import CpuProfiler
        from profkit.errors import CollectorBusyError

        try:
            profiler = CpuProfiler(rate_hz=self.rate_hz).start()
        except CollectorBusyError:  # the code under test profiles itself: leave it alone
            yield
            return
        try:
            yield
        finally:
            self._write(item, profiler.stop(), calls=1)

    def _profile_benchmark(self, item: pytest.Item, fixture: Any, call: Callable[[], Any]) -> None:
        from profkit.collect.cpu import CpuProfiler
        from profkit.errors import CollectorBusyError

        stats = getattr(getattr(fixture, "stats", None), "stats", None)
        median = getattr(stats, "median", 0.0) or 0.0
        calls = max(1, math.ceil(self.seconds / median)) if median > 0 else 0
        try:
            profiler = CpuProfiler(rate_hz=self.rate_hz).start()
        except CollectorBusyError as e:
            fixture.extra_info["profkit_profile_error"] = str(e)
            return
        done = 0
        try:
            if calls:
                for _ in range(calls):
                    call()
                done = calls
            else:  # no timing known: run for the time budget
                deadline = time.perf_counter() + self.seconds
                while time.perf_counter() < deadline:
                    call()
                    done += 1
        finally:
            profile = profiler.stop()
        path = self._write(item, profile, calls=done)
        if path is None:
            fixture.extra_info["profkit_profile_error"] = self.last_error
            return
        shown = os.path.relpath(path, self.json_dir) if self.json_dir else path
        fixture.extra_info["profkit_profile"] = shown
        fixture.extra_info["profkit_profile_calls"] = done

    def _write(self, item: pytest.Item, profile: Any, *, calls: int) -> Optional[str]:
        """Write the profile; on failure warn (``last_error``) and return None, never raise."""
        from profkit.errors import ProfkitError
        from profkit.model.codec import save

        profile.comments.append(f"profkit.bench: {item.nodeid} calls={calls}")
        path = os.path.join(self.directory, profile_filename(item.nodeid))
        try:
            save(profile, path)
        except (OSError, ProfkitError) as e:
            self.last_error = f"profkit: profile not written to {path}: {e}"
            item.warn(pytest.PytestWarning(self.last_error))
            return None
        return path
