"""Link a slower benchmark to the functions whose time grew: a per-call CPU profile diff.

The pytest plugin (``--profkit-profile``) records, in each benchmark's ``extra_info``, the profile
file and how many calls it covers. Per side, every run's profile is scaled to one call and the runs
are averaged (``analysis.scale`` + ``analysis.merge``); the two in-memory sides then go through
the report layer as every other report does (``ReportRequest([new], diff_base=[base])``, built by
``profkit.report.build`` and read by the ``top`` view), which ranks functions by how much their own
(flat) CPU time per call grew.
A recorded profile that is missing or unreadable degrades to a note for that benchmark only.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence

from profkit.bench.samples import BenchRun
from profkit.bench.verdict import SLOWER, Comparison
from profkit.model import Profile
from profkit.options import ViewOptions
from profkit.report import ReportRequest

_NO_PROFILE = ("no profile recorded for this benchmark on the {side} side "
               "(run pytest with --profkit-profile DIR --benchmark-json FILE)")


def _profile_paths(runs: Sequence[BenchRun], name: str) -> List[tuple]:
    out = []
    for run in runs:
        for res in run.results:
            stored, calls = res.extra.get("profkit_profile"), res.extra.get("profkit_profile_calls")
            if res.name != name or not isinstance(stored, str) or not isinstance(calls, int) or calls < 1:
                continue
            path = stored if os.path.isabs(stored) else os.path.join(os.path.dirname(run.path), stored)
            out.append((path, calls))
    return out


def per_call_profile(runs: Sequence[BenchRun], name: str) -> Optional[Profile]:
    """Return the average one-call CPU profile of benchmark ``name`` over ``runs``, or None.

    Raises:
        ProfileFormatError: a recorded profile file is missing or unreadable.
    """
    from profkit.analysis import merge, scale
    from profkit.model.codec import load

    paths = _profile_paths(runs, name)
    if not paths:
        return None
    scaled = [scale(load(path), 1.0 / (calls * len(paths))) for path, calls in paths]
    return merge(scaled)


def _options() -> ViewOptions:
    return ViewOptions(sample_index="cpu", nodefraction=0.0)


def _top_rows(request: ReportRequest) -> List[Any]:
    """Build ``request`` (the report layer) and return its top rows."""
    from profkit.report import build
    from profkit.views.top import top_from_report

    return top_from_report(build(request)).rows


def grown_functions(base: Profile, new: Profile, *, top: int = 10) -> List[tuple]:
    """Return ``(function, base_ns, new_ns)`` per call for the functions whose flat time grew most.

    ``base_ns`` is None when the function is absent from the base profile (a new function; a
    function present with 0 own time is not new). Growth below 1 % of the new per-call total is
    left out (sampling noise, the profiler's own frames).
    """
    options = _options()
    before = {r.name: r.flat for r in _top_rows(ReportRequest([base], options=options))}
    after = {r.name: r.flat for r in _top_rows(ReportRequest([new], options=options))}
    floor = 0.01 * sum(after.values())  # hide changes below 1 % of a call: sampling noise
    diffed = _top_rows(ReportRequest([new], diff_base=[base], options=options))
    grown = [r for r in diffed if r.flat > max(0, floor)]
    grown.sort(key=lambda r: -r.flat)
    return [(r.name, before.get(r.name), after.get(r.name, 0)) for r in grown[:top]]


def new_functions(base: Profile, new: Profile, *, top: int = 10) -> List[tuple]:
    """Return ``(function, new_cum_ns)`` per call for functions absent from ``base``, largest first.

    Functions under 1 % of the new per-call total are left out.
    """
    options = _options()
    seen = {r.name for r in _top_rows(ReportRequest([base], options=options))}
    rows = _top_rows(ReportRequest([new], options=options))
    floor = 0.01 * sum(r.flat for r in rows)
    fresh = [(r.name, r.cum) for r in rows if r.cum > max(0, floor) and r.name not in seen]
    return sorted(fresh, key=lambda x: -x[1])[:top]


def render_grown(rows: Sequence[tuple], fresh: Sequence[tuple] = ()) -> str:
    """Render ``grown_functions`` (and ``new_functions``) output as text (times per call)."""
    from profkit.bench.report import format_value

    tail = "".join(f"\nnew in this run: {name} (cum {format_value(cum * 1e-9, 's')}/call)"
                   for name, cum in fresh)
    if not rows:
        return "no function got slower per call in the profiles" + tail
    width = max(len(r[0]) for r in rows)
    lines = [f"{'function'.ljust(width)}  {'base/call':>10}  {'new/call':>10}  {'delta':>10}  change"]
    for name, b, n in rows:
        change = "new" if b is None else ("from 0" if b <= 0 else f"{n / b - 1:+.0%}")
        b = b or 0
        lines.append(f"{name.ljust(width)}  {format_value(b * 1e-9, 's'):>10}  "
                     f"{format_value(n * 1e-9, 's'):>10}  {format_value((n - b) * 1e-9, 's'):>10}  {change}")
    return "\n".join(lines) + tail


def profile_diffs(comparison: Comparison, base_runs: Sequence[BenchRun], new_runs: Sequence[BenchRun],
                  *, top: int = 10) -> Dict[str, str]:
    """Return, for each slower benchmark, the rendered table of functions whose time grew most.

    A recorded profile that cannot be read becomes that benchmark's text (``profile not found: ...``)
    instead of an error: the comparison and its exit code do not depend on profiles.
    """
    from profkit.errors import ProfkitError

    out: Dict[str, str] = {}
    for row in comparison.rows:
        if row.verdict != SLOWER:
            continue
        try:
            base = per_call_profile(base_runs, row.name)
            new = per_call_profile(new_runs, row.name)
        except ProfkitError as e:
            reason = str(e)
            what = "profile not found" if reason.endswith("no such file") else "profile unreadable"
            out[row.name] = f"{what}: {reason.removesuffix(': no such file')}"
            continue
        if base is None or new is None:
            out[row.name] = _NO_PROFILE.format(side="base" if base is None else "new")
            continue
        out[row.name] = render_grown(grown_functions(base, new, top=top),
                                     new_functions(base, new, top=top))
    return out
