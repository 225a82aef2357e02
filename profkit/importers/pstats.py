"""cProfile / pstats files (``marshal``'d dict written by ``Profile.dump_stats``) -> Profile.

A pstats file holds, per function ``(file, first line, name)``: primitive calls,
total calls, ``tottime`` (self time), ``cumtime``, and per *direct caller* the same
four numbers for calls from that caller. It has no stacks. The importer rebuilds
them the way gprof does: a function's self time is split over its direct callers
by their share of its ``tottime`` (exact, from the file), then each caller's share
is split further up by *its* callers' share of its ``cumtime`` (an estimate that
assumes a callee costs the same whichever way it was reached), stopping at
functions with no callers, at recursion, after 64 frames, when a share falls
under 1 % of the leaf's time, or once 32 paths per function have been extended
(heaviest first), so that wide recursive graphs such as imports stay fast.

Sample types: ``calls/count`` and ``wall/nanoseconds``. cProfile's default timer is
``time.perf_counter`` (wall-clock: a function blocked in ``time.sleep`` is charged
for the sleep), hence ``wall``, not ``cpu``. Guarantees: per function, ``flat`` of
``wall`` equals pstats ``tottime`` and ``flat`` of ``calls`` equals ``ncalls``
(to the nanosecond / call); ``cum`` is exact for tree-shaped call graphs and an
estimate otherwise. ``duration_nanos`` is the sum of all ``tottime``. Built-ins
(file ``~``) are named as pstats prints them: ``{built-in method time.sleep}``.
"""

from __future__ import annotations

import heapq
import marshal
import math
import os
from typing import Any, Dict, List, Sequence, Tuple

from profkit.importers._common import (
    check_int64,
    file_time_nanos,
    python_frame_name,
    read_payload,
)
from profkit.model.builder import FrameKey, ProfileBuilder
from profkit.model.codec import PathLike
from profkit.model.errors import ProfileFormatError
from profkit.model.limits import current_limits
from profkit.model.profile import Profile
from profkit.model.validate import check_valid

FuncKey = Tuple[str, int, str]
MAX_DEPTH = 64
MIN_SHARE = 0.01
MAX_PATHS = 32
# marshal type codes: dict ('{'), optionally with FLAG_REF (0x80); keys are tuples.
_DICT = (0x7B, 0xFB)
_TUPLE = (0x28, 0x29, 0xA8, 0xA9)


def sniff(head: bytes, path: str) -> bool:
    """Return True if ``head`` starts a marshal'd dict keyed by tuples (or is empty)."""
    del path
    return len(head) >= 2 and head[0] in _DICT and (head[1] in _TUPLE or head[1] == 0x30)


class _Stats:
    """Validated pstats data: per function (ncalls, tottime, cumtime, callers)."""

    def __init__(self, name: str, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise ProfileFormatError(f"{name}: not a pstats file (marshal data is not a dict)")
        self.calls: Dict[FuncKey, int] = {}
        self.tottime: Dict[FuncKey, float] = {}
        # callers[f][c] = (calls from c, f's self time from c, f's cum time from c)
        self.callers: Dict[FuncKey, Dict[FuncKey, Tuple[int, float, float]]] = {}
        for key, value in raw.items():
            if not (_is_func(key) and isinstance(value, tuple) and len(value) == 5):
                raise ProfileFormatError(
                    f"{name}: not a pstats file (entry {key!r:.60} is not "
                    "(file, line, name) -> (cc, nc, tt, ct, callers))"
                )
            _cc, nc, tt, _ct, callers = value
            if not isinstance(callers, dict) or not all(map(_is_num, (nc, tt, _ct))):
                raise ProfileFormatError(f"{name}: malformed pstats entry for {key!r:.60}")
            self.calls[key] = int(nc)
            self.tottime[key] = float(tt)
            edges: Dict[FuncKey, Tuple[int, float, float]] = {}
            for ckey, cval in callers.items():
                if not _is_func(ckey):
                    raise ProfileFormatError(f"{name}: malformed caller {ckey!r:.60} in pstats")
                if isinstance(cval, tuple) and len(cval) == 4 and all(map(_is_num, cval)):
                    edges[ckey] = (int(cval[1]), float(cval[2]), float(cval[3]))
                elif _is_num(cval):  # the pure-Python ``profile`` module stores counts
                    edges[ckey] = (int(cval), 0.0, 0.0)
                else:
                    raise ProfileFormatError(f"{name}: malformed caller entry in pstats")
            self.callers[key] = edges


def _is_func(key: Any) -> bool:
    return (
        isinstance(key, tuple) and len(key) == 3 and isinstance(key[0], str)
        and isinstance(key[1], int) and isinstance(key[2], str)
    )


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


Shares = Tuple[List[Tuple[FuncKey, float]], Dict[FuncKey, float]]


class _CallerShares:
    """Per function, its direct callers with the fraction of its time from each.

    ``self_shares`` weigh callers by the function's self time from them (exact, used
    for the leaf), ``cum_shares`` by its cumulative time (used further up); both fall
    back to call counts, then to equal shares, when the times are all zero. Each is
    (callers sorted by falling share, share by caller), shares summing to 1.
    """

    def __init__(self, stats: _Stats) -> None:
        self.self_shares: Dict[FuncKey, Shares] = {}
        self.cum_shares: Dict[FuncKey, Shares] = {}
        for func, edges in stats.callers.items():
            if edges:
                self.self_shares[func] = _weigh(edges, 1)
                self.cum_shares[func] = _weigh(edges, 2)


def _weigh(edges: Dict[FuncKey, Tuple[int, float, float]], field: int) -> Shares:
    shares = [(c, 1.0 / len(edges)) for c in edges]
    for f in (field, 0):
        total = sum(e[f] for e in edges.values())
        if total > 0:
            shares = [(c, e[f] / total) for c, e in edges.items() if e[f] > 0]
            break
    shares.sort(key=lambda cs: -cs[1])
    return shares, dict(shares)


def _paths(shares: _CallerShares, leaf: FuncKey) -> List[Tuple[List[FuncKey], float]]:
    """Return leaf-first call paths ending at ``leaf`` with fractions summing to 1.

    The heaviest paths are extended first; at most MAX_PATHS paths are extended per
    leaf, and callers whose part would fall under MIN_SHARE are not followed (that
    part of the stack ends where it is), so wide recursive graphs (imports) stay cheap.
    """
    out: List[Tuple[List[FuncKey], float]] = []
    heap: List[Tuple[float, int, List[FuncKey]]] = [(-1.0, 0, [leaf])]
    tie = 0
    extended = 0
    while heap:
        neg, _, path = heapq.heappop(heap)
        frac = -neg
        table = shares.self_shares if len(path) == 1 else shares.cum_shares
        ordered, by_caller = table.get(path[-1], ([], {}))
        on_path = set(path)  # recursion: that share is spread over the other callers
        total = 1.0 - sum(by_caller.get(c, 0.0) for c in on_path)
        if (total <= 1e-9 or extended >= MAX_PATHS or len(path) >= MAX_DEPTH
                or frac < MIN_SHARE):
            out.append((path, frac))
            continue
        extended += 1
        pushed = 0.0
        for caller, weight in ordered:
            if caller in on_path:
                continue
            part = frac * weight / total
            if part < MIN_SHARE:
                break  # sorted: the rest are smaller
            tie += 1
            heapq.heappush(heap, (-part, tie, path + [caller]))
            pushed += part
        if frac - pushed > 1e-12:
            out.append((path, frac - pushed))
    return out


def _apportion(total: int, fractions: Sequence[float]) -> List[int]:
    """Split integer ``total`` by ``fractions`` (largest remainder: sums exactly)."""
    s = sum(fractions) or 1.0
    raw = [total * f / s for f in fractions]
    parts = [int(x // 1) for x in raw]
    rest = total - sum(parts)
    order = sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)
    for i in order[: max(rest, 0)]:
        parts[i] += 1
    return parts


def _frame(key: FuncKey) -> FrameKey:
    filename, line, funcname = key
    if filename == "~" and funcname.startswith("<") and funcname.endswith(">"):
        return FrameKey("{" + funcname[1:-1] + "}")
    name = python_frame_name(funcname, filename)
    return FrameKey(name, filename, line, line)


def load(path: PathLike) -> Profile:
    """Load a pstats file (from ``cProfile.Profile.dump_stats`` or ``pstats.Stats``).

    Raises:
        ProfileFormatError: one line if the file is not a marshal'd pstats dict.
    """
    name = os.fspath(path)
    data = read_payload(path)
    try:
        raw = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        raise ProfileFormatError(f"{name}: not a pstats file (marshal data is corrupt)") from None
    if isinstance(raw, dict):  # one entry per function, each with its callers: bound the walk
        limits = current_limits()
        limits.check("functions", len(raw), name)
        limits.check("frames", sum(len(v[4]) if isinstance(v, tuple) and len(v) == 5
                                   and isinstance(v[4], dict) else 1 for v in raw.values()), name)
    stats = _Stats(name, raw)
    builder = ProfileBuilder(
        [("calls", "count"), ("wall", "nanoseconds")], period_type=("wall", "nanoseconds"),
        period=1, mapping_filename=os.path.basename(name),
        comments=["imported from pstats: wall = tottime (self time), calls = ncalls"],
        limits=current_limits(),
    )
    frames = {key: _frame(key) for key in stats.calls}
    shares = _CallerShares(stats)
    total_ns = 0
    for leaf in stats.calls:
        self_ns = round(stats.tottime[leaf] * 1e9)
        total_ns += self_ns
        paths = _paths(shares, leaf)
        fracs = [f for _, f in paths]
        ns_parts = _apportion(self_ns, fracs)
        call_parts = _apportion(stats.calls[leaf], fracs)
        for (p, _), ns, calls in zip(paths, ns_parts, call_parts):
            stack = [frames.get(k) or _frame(k) for k in p]
            builder.add(stack, [calls, ns])
    profile = builder.build(duration_nanos=total_ns, time_nanos=file_time_nanos(path))
    check_int64(profile, name)
    check_valid(profile)
    return profile
