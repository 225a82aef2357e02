"""``pytest --profkit-instructions``: benchmarks measured in counted instructions under callgrind.

Two processes. The one the user starts (``relaunch``) checks valgrind and a C compiler, builds the
client-request helper (``profkit.bench.valgrind``) and runs the same pytest command again under
callgrind with nothing instrumented or counted; it returns that run's exit code, or 2 with one line
on stderr when valgrind is missing or too old, the helper cannot be built, valgrind cannot start
python, or the run dies of a signal (naming the test that was running). It writes no file itself.
Valgrind never outlives it: on Ctrl-C ``subprocess.run`` kills it (exit 2, pytest's code for an
interrupted run), and on Linux it gets SIGKILL when this process dies (``die_with_parent``).

The inner process (``InstructionCounter``, registered when ``ENV_DIR`` is set) replaces what the
``benchmark`` fixture measures: per benchmark, instrumentation goes on for the test call only;
``warmup`` uncounted calls (CPython 3.11+ specialises code on its first calls), then ``rounds``
counted calls, each after ``gc.collect()``, counting only the benchmarked callable (pedantic's
``setup``/``teardown`` and the test's fixtures run uncounted). Counts are fed to pytest-benchmark's
own stats, so ``--benchmark-json`` holds pytest-benchmark's JSON shape with one count per round in
``stats.data``; each benchmark's ``extra_info["profkit_unit"]`` is ``"instructions"`` (what
``profkit bench`` reads the unit from) and the document gets a top-level ``"profkit"`` object.
``PYTHONHASHSEED`` is 0 unless set, so str hashing and set order repeat between runs; a collection
run without valgrind first fills the byte-code caches and the counted run writes none (``_prime``).
"""

from __future__ import annotations

import functools
import gc
import os
import signal
import subprocess
import sys
import tempfile
from typing import Any, Callable, Dict, Generator, List, Optional

import pytest

from profkit.bench.procgroup import die_with_parent
from profkit.bench.valgrind import Callgrind, callgrind_command, compile_helper, find_valgrind
from profkit.errors import InputError

UNIT = "instructions"
ENV_DIR = "PROFKIT_INSTRUCTIONS_DIR"
ENV_HELPER = "PROFKIT_INSTRUCTIONS_HELPER"
ENV_VERSION = "PROFKIT_VALGRIND_VERSION"
ENV_PRIME = "PROFKIT_INSTRUCTIONS_PRIME"
_CURRENT = "current-test"
_STARTED = "started"


def _fail(message: str) -> int:
    sys.stderr.write(f"profkit: {message}\n")
    sys.stderr.flush()
    return 2


def _valgrind_log_line(dump_dir: str) -> str:
    try:
        with open(os.path.join(dump_dir, "valgrind.log"), encoding="utf-8", errors="replace") as f:
            lines = [ln.split("== ", 1)[-1].strip() for ln in f if ln.strip()]
    except OSError:
        return ""
    lines = [ln for ln in lines if ln]
    return lines[-1] if lines else ""


def relaunch(config: pytest.Config) -> int:
    """Run this pytest command again under callgrind and return its exit code (see module doc)."""
    try:
        valgrind, version = find_valgrind(config.getoption("profkit_valgrind"))
    except InputError as e:
        return _fail(str(e))
    params = config.invocation_params
    argv = [sys.executable, "-m", "pytest", *params.args]
    with tempfile.TemporaryDirectory(prefix="profkit-callgrind-") as tmp:
        try:
            helper = compile_helper(tmp)
        except InputError as e:
            return _fail(str(e))
        dumps = os.path.join(tmp, "dumps")
        os.mkdir(dumps)
        env = dict(os.environ, **{ENV_DIR: dumps, ENV_HELPER: helper,
                                  ENV_VERSION: f"{version[0]}.{version[1]}"})
        env.setdefault("PYTHONHASHSEED", "0")
        _prime(argv, str(params.dir), env)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        try:
            proc = subprocess.run(callgrind_command(valgrind, dumps, argv), cwd=str(params.dir),
                                  env=env, preexec_fn=die_with_parent())
        except OSError as e:
            return _fail(f"cannot start {valgrind} ({e.strerror})")
        except KeyboardInterrupt:  # subprocess.run has killed valgrind; pytest's own code for it
            return _fail("interrupted; valgrind stopped, no results written")
        current = _read(os.path.join(dumps, _CURRENT))
        if proc.returncode < 0:
            try:
                name = signal.Signals(-proc.returncode).name
            except ValueError:
                name = f"signal {-proc.returncode}"
            where = f" in {current}" if current else ""
            return _fail(f"the benchmark run crashed under valgrind ({name}){where}; no results "
                         "written; run that test without --profkit-instructions to see whether it "
                         "crashes there too")
        if not os.path.exists(os.path.join(dumps, _STARTED)):
            detail = _valgrind_log_line(dumps)
            return _fail(f"valgrind could not run the benchmarks (exit {proc.returncode})"
                         + (f": {detail}" if detail else ""))
        return proc.returncode


def _prime(argv: List[str], cwd: str, env: Dict[str, str]) -> None:
    """Collect once without valgrind so byte-code caches exist before the counted run.

    A run that compiles the test modules (no ``__pycache__`` yet, or pytest rewriting asserts)
    leaves the allocator in another state than one that loads them, and then counts differ by
    about 1 %: the first run of a fresh checkout would differ from every later one. The counted
    run itself writes no caches (``PYTHONDONTWRITEBYTECODE``), so every counted run starts alike.
    The priming run writes them even where the caller's environment sets
    ``PYTHONDONTWRITEBYTECODE`` (otherwise a run counted where caches happened to exist, e.g.
    profkit's own, differed from one where they did not: 13,798,714 against 13,905,966
    instructions, +0.78 %, for one benchmark, an A/A false alarm).
    """
    prime_env = {k: v for k, v in env.items()
                 if k not in (ENV_DIR, ENV_HELPER, "PYTHONDONTWRITEBYTECODE")}
    prime_env[ENV_PRIME] = "1"
    subprocess.run([*argv, "--collect-only", "-q"], cwd=cwd, env=prime_env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, preexec_fn=die_with_parent())


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return ""


class InstructionCounter:
    """pytest hooks of the inner process: count instructions of every benchmarked callable."""

    def __init__(self, helper: str, dump_dir: str, *, rounds: int, warmup: int) -> None:
        self.callgrind = Callgrind(helper, dump_dir)
        if not self.callgrind.active:
            raise pytest.UsageError(f"{ENV_DIR} is set but this process does not run under valgrind")
        self.dump_dir = dump_dir
        self.rounds = rounds
        self.warmup = warmup
        with open(os.path.join(dump_dir, _STARTED), "w", encoding="utf-8") as f:
            f.write(str(os.getpid()))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, None]:
        """Swap the fixture's measuring methods for counting ones during the test call."""
        with open(os.path.join(self.dump_dir, _CURRENT), "w", encoding="utf-8") as f:
            f.write(item.nodeid)
        fixture = getattr(item, "funcargs", {}).get("benchmark")
        if fixture is None or not callable(getattr(fixture, "_raw", None)):
            yield
            return
        saved = {"_raw": fixture._raw, "_raw_pedantic": fixture._raw_pedantic}
        fixture._raw = lambda fn, *a, **k: self._count_raw(fixture, item.nodeid, fn, a, k)
        fixture._raw_pedantic = lambda target, **kw: self._count_pedantic(fixture, item.nodeid,
                                                                          target, **kw)
        self.callgrind.start()
        try:
            yield
        finally:
            self.callgrind.stop()
            for name in saved:
                fixture.__dict__.pop(name, None)

    def _record(self, fixture: Any, counts: List[float], iterations: int) -> None:
        stats = fixture._make_stats(iterations)
        for c in counts:
            stats.update(c)
        fixture.extra_info["profkit_unit"] = UNIT
        fixture.extra_info["profkit_warmup"] = self.warmup

    def _measure(self, fixture: Any, call: Callable[[], Any], tag: str) -> float:
        gc.collect()
        disable = bool(getattr(fixture, "_disable_gc", False))
        if disable:
            gc.disable()
        try:
            return float(self.callgrind.count(call, tag))
        finally:
            if disable:
                gc.enable()

    def _count_raw(self, fixture: Any, nodeid: str, fn: Callable[..., Any], args: Any,
                   kwargs: Dict[str, Any]) -> Any:
        result = fn(*args, **kwargs)
        if not fixture.enabled:
            return result
        for _ in range(self.warmup - 1):
            fn(*args, **kwargs)
        counts = [self._measure(fixture, lambda: fn(*args, **kwargs), f"{nodeid} round {r}")
                  for r in range(self.rounds)]
        self._record(fixture, counts, 1)
        return result

    def _count_pedantic(self, fixture: Any, nodeid: str, target: Callable[..., Any], args: Any = (),
                        kwargs: Optional[Dict[str, Any]] = None,
                        setup: Optional[Callable[[], Any]] = None,
                        teardown: Optional[Callable[..., Any]] = None, rounds: int = 1,
                        warmup_rounds: int = 0, iterations: int = 1) -> Any:
        if not isinstance(iterations, int) or iterations < 1:
            raise ValueError("Must have positive int for `iterations`.")

        def arguments() -> tuple:
            a, k = args, kwargs or {}
            if setup is not None:
                made = setup()
                if made:
                    a, k = made
            return a, k

        result: List[Any] = [None]

        def once(a: Any, k: Dict[str, Any]) -> None:
            for _ in range(iterations):
                result[0] = target(*a, **k)

        counts = []
        for r in range(max(warmup_rounds, self.warmup) + (self.rounds if fixture.enabled else 1)):
            a, k = arguments()  # set-up: never counted
            if fixture.enabled and r >= max(warmup_rounds, self.warmup):
                counts.append(self._measure(fixture, functools.partial(once, a, k),
                                            f"{nodeid} round {r}"))
            else:
                once(a, k)
            if teardown is not None:
                teardown(*a, **k)
        if fixture.enabled:
            self._record(fixture, counts, iterations)
        return result[0]

    def pytest_benchmark_update_json(self, config: pytest.Config, benchmarks: Any,
                                     output_json: Dict[str, Any]) -> None:
        """Say in the JSON document itself that its values are instructions."""
        output_json["profkit"] = {"unit": UNIT, "rounds": self.rounds, "warmup": self.warmup,
                                  "valgrind": os.environ.get(ENV_VERSION, ""),
                                  "pythonhashseed": os.environ.get("PYTHONHASHSEED", "")}
        for bench in output_json.get("benchmarks", []):
            bench.setdefault("options", {})["timer"] = "callgrind instructions"

    @pytest.hookimpl(tryfirst=True)
    def pytest_benchmark_scale_unit(self, config: pytest.Config, unit: str, benchmarks: Any,
                                    best: Any, worst: Any, sort: Any) -> tuple:
        """Print counts unscaled in pytest-benchmark's table (its header still says seconds)."""
        return "", 1.0

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Say what the numbers in pytest-benchmark's table are."""
        terminalreporter.write_line("profkit: benchmark values are instructions counted by "
                                    "callgrind (not seconds), one count per round")
