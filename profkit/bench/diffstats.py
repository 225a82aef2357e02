"""Repeated-profile diffs: per function, how flat and cum changed, and whether it is noise.

``repeated_diff(request)`` reads the request's sides, ``diff_base`` (the base
profiles, A1..An) and ``sources`` (the new ones, B1..Bm), one report per file
(``profkit.report.build``: every filter and the granularity of ``request.options``
apply, so a function means what it means in ``top``). Each profile gives, per
function, its flat and cum, **normalised** so that profiles of different lengths
and rates compare:

* ``second``: value per second of that profile's duration (for CPU time: the
  share of one core), the default when every profile records its duration;
* ``total``: value / that profile's total, a fraction (the default otherwise);
* ``raw``: the values as they are (equal durations and rates assumed).

Per function and side the mean over the profiles is reported (a function absent
from a profile counts 0 there), with ``delta = new - base`` and ``delta_pct``
(relative to the base, None when the base is 0). The tested value is flat (cum
with ``options.cum``); the test is Welch's t on the per-profile values (default;
it can reach significance with 3 profiles a side) or the Mann-Whitney U test
(``test="mwu"``, needs 4+ a side for alpha 0.05), both scipy's via
``profkit.bench.stats``, with Holm's correction over all functions shown.
``significant`` means Holm-adjusted p <= ``alpha``. ``status`` is ``new`` (absent
from every base profile), ``vanished`` (absent from every new one) or ``changed``.

Inputs must share their sample types (IncompatibleProfilesError naming the file).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

from profkit.bench import stats
from profkit.errors import IncompatibleProfilesError, InputError
from profkit.model.profile import ValueType
from profkit.report import ReportRequest, build
from profkit.report.sources import describe
from profkit.views.top import top_from_report

__all__ = ["FunctionDiff", "RepeatedDiff", "repeated_diff", "PER_CHOICES", "TEST_CHOICES"]

PER_CHOICES = ("auto", "second", "total", "raw")
TEST_CHOICES = ("welch", "mwu")


@dataclass
class FunctionDiff:
    """One function's change; values are normalised means (see module doc)."""

    name: str
    base_flat: float
    new_flat: float
    base_cum: float
    new_cum: float
    base_values: List[float]
    new_values: List[float]
    status: str
    p_value: Optional[float] = None
    p_adjusted: Optional[float] = None
    significant: bool = False

    @property
    def delta_flat(self) -> float:
        return self.new_flat - self.base_flat

    @property
    def delta_cum(self) -> float:
        return self.new_cum - self.base_cum

    def to_dict(self, cum: bool) -> Dict[str, object]:
        """Return the JSON row: the tested value's base/new/delta first, then both values."""
        out: Dict[str, object] = {"name": self.name}
        for what, b, n in (("flat", self.base_flat, self.new_flat),
                           ("cum", self.base_cum, self.new_cum)):
            out[what] = {"base": b, "new": n, "delta": n - b, "delta_pct": pct(b, n)}
        tested = out["cum" if cum else "flat"]
        assert isinstance(tested, dict)
        return {
            "name": self.name, **tested, "p_value": self.p_value,
            "p_adjusted": self.p_adjusted, "significant": self.significant,
            "status": self.status, "flat": out["flat"], "cum": out["cum"],
            "base_values": self.base_values, "new_values": self.new_values,
        }


@dataclass
class RepeatedDiff:
    """The report: rows sorted by |delta| of the tested value, and how they were made."""

    rows: List[FunctionDiff]
    sample_type: str
    unit: str
    per: str
    test: str
    alpha: float
    cum: bool
    base_names: List[str]
    new_names: List[str]
    functions: int
    notes: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, object]:
        """Return a JSON-ready dict (what the viewer's diff view reads)."""
        return {
            "sample_type": self.sample_type, "unit": self.unit, "per": self.per,
            "value": "cum" if self.cum else "flat", "test": self.test, "alpha": self.alpha,
            "correction": "holm", "base": self.base_names, "new": self.new_names,
            "functions": self.functions, "notes": self.notes,
            "rows": [r.to_dict(self.cum) for r in self.rows],
        }


def pct(base: float, new: float) -> Optional[float]:
    """Return the change in percent of ``base`` (None when base is 0)."""
    change = stats.relative_change(base, new)
    return None if change is None else change * 100


@dataclass
class _Measured:
    """One profile's raw (flat, cum) per function and what normalising needs."""

    values: Dict[str, Tuple[int, int]]
    duration_nanos: int
    total: int
    types: List[ValueType]
    sample_type: ValueType


def _measure(request: ReportRequest, sources: Sequence[object]) -> List[_Measured]:
    options = replace(request.options, nodefraction=0.0, nodecount=0)
    out = []
    for src in sources:
        r = build(ReportRequest([src], options=options))  # type: ignore[list-item]
        t = top_from_report(r)
        out.append(_Measured(
            {row.name: (row.flat, row.cum) for row in t.rows}, r.table.duration_nanos,
            t.total, list(r.table.sample_types), r.sample_type,
        ))
    return out


def _normalised(m: _Measured, per: str) -> Dict[str, Tuple[float, float]]:
    if per == "second":
        scale = 1e9 / m.duration_nanos
    elif per == "total":
        scale = 1.0 / m.total if m.total else 0.0
    else:
        scale = 1.0
    return {name: (f * scale, c * scale) for name, (f, c) in m.values.items()}


def repeated_diff(
    request: ReportRequest, *, per: str = "auto", test: str = "welch", alpha: float = 0.05
) -> RepeatedDiff:
    """Return the repeated diff of ``request.sources`` against ``request.diff_base``.

    Raises InputError (no base, a bad choice, ``per="second"`` on a profile with no
    duration), IncompatibleProfilesError (sample types differ), and whatever
    ``build`` raises for an input (named).
    """
    bases, news = list(request.diff_base), list(request.sources)
    if not bases:
        raise InputError("a repeated diff needs base profiles (--base A1 A2 ...)")
    if per not in PER_CHOICES or test not in TEST_CHOICES:
        raise InputError(f"per must be one of {PER_CHOICES}, test one of {TEST_CHOICES}")
    measured = _measure(request, bases + news)
    names = [describe(s) for s in bases + news]  # type: ignore[arg-type]
    for name, m in zip(names[1:], measured[1:]):
        if m.types != measured[0].types:
            raise IncompatibleProfilesError(
                f"{name}: sample types differ from those of {names[0]} (all must match)"
            )
    if per == "auto":
        per = "second" if all(m.duration_nanos > 0 for m in measured) else "total"
    if per == "second":
        for name, m in zip(names, measured):
            if m.duration_nanos <= 0:
                raise InputError(f"{name}: records no duration: use --per total or --per raw")
    values = [_normalised(m, per) for m in measured]
    base_vals, new_vals = values[: len(bases)], values[len(bases):]
    st = measured[0].sample_type
    cum = request.options.cum
    rows = _rows(base_vals, new_vals, cum)
    _test(rows, test, alpha)
    rows.sort(key=lambda r: (-abs(r.delta_cum if cum else r.delta_flat), r.name))
    functions = len(rows)
    if request.options.nodecount > 0:
        rows = rows[: request.options.nodecount]
    notes = _notes(len(bases), len(news), test, alpha)
    return RepeatedDiff(
        rows, st.type, st.unit, per, test, alpha, cum, names[: len(bases)],
        names[len(bases):], functions, notes,
    )


def _rows(
    base_vals: List[Dict[str, Tuple[float, float]]],
    new_vals: List[Dict[str, Tuple[float, float]]], cum: bool,
) -> List[FunctionDiff]:
    names = sorted(set().union(*base_vals, *new_vals))
    k = 1 if cum else 0
    rows = []
    for name in names:
        b = [p.get(name, (0.0, 0.0)) for p in base_vals]
        n = [p.get(name, (0.0, 0.0)) for p in new_vals]
        in_base = any(name in p for p in base_vals)
        in_new = any(name in p for p in new_vals)
        status = "changed" if in_base and in_new else ("new" if in_new else "vanished")
        rows.append(FunctionDiff(
            name, statistics.fmean(v[0] for v in b), statistics.fmean(v[0] for v in n),
            statistics.fmean(v[1] for v in b), statistics.fmean(v[1] for v in n),
            [v[k] for v in b], [v[k] for v in n], status,
        ))
    return rows


def _test(rows: List[FunctionDiff], test: str, alpha: float) -> None:
    """Fill p_value, p_adjusted (Holm over every row) and significant."""
    if not rows or len(rows[0].base_values) < 2 or len(rows[0].new_values) < 2:
        return
    if test == "mwu":
        ps = stats.mann_whitney_many([(r.base_values, r.new_values) for r in rows])
    else:
        ps = [
            stats.welch_p_from_summary(
                statistics.fmean(r.base_values), statistics.stdev(r.base_values),
                len(r.base_values), statistics.fmean(r.new_values),
                statistics.stdev(r.new_values), len(r.new_values),
            )
            for r in rows
        ]
    for r, p, adj in zip(rows, ps, stats.holm(ps)):
        r.p_value, r.p_adjusted, r.significant = p, adj, adj <= alpha


def _notes(n_base: int, n_new: int, test: str, alpha: float) -> List[str]:
    if n_base < 2 or n_new < 2:
        return ["one profile on a side: no significance test (give 2+ per side, 4+ for mwu)"]
    if test == "mwu" and stats.min_reachable_p(n_base, n_new) > alpha:
        low = stats.min_reachable_p(n_base, n_new)
        return [f"with {n_base} and {n_new} profiles the U test cannot reach p <= {alpha} "
                f"(smallest p {low:.3g}): record more profiles or use --test welch"]
    return []
