"""The flame-graph payload: a compact, StackSet-like view-model of a built Report.

What the browser needs to draw a flame graph, its inverted twin, callers/callees
and a top table without a round-trip, as flat tables (no nested tree of repeated
names):

* ``strings``: interned names and file names;
* ``nodes``: per node (a function, file or line, per the request's granularity,
  mapped exactly as ``views.nodes.assign_nodes`` maps them for ``top``) the index
  of its printable name, of its file, and a line (the line at ``lines``
  granularity, else the function's start line);
* ``stacks``: the unique stacks as node ids, **root first**, with ``values`` (the
  sum of the samples' values of the request's sample index) and, for a diff
  (``pprof::base`` samples), ``base``: the base side as positive numbers, with
  ``values`` the new side only; the net value of a stack is ``values - base``.

Numbers follow ``top``: a node's self (flat) is the sum of the net values of the
stacks it ends, its total (cum) the sum over stacks holding it, once per stack.
``total`` is pprof's denominator (``Report.total``, computed before filtering; the
base total for a diff). The payload holds no labels: loading every sample's
labels is most of the cost on a large profile, so the label filter asks for them
apart, when it is opened (``labels_from_report``: keys with their values, sample
counts and value sums, from the unfiltered samples; a report of kind ``labels``).

Cost is linear in samples (one dict lookup each) plus linear in the frames of the
unique stacks.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import chain
from typing import Any, Dict, List, Sequence, Tuple

from profkit.analysis.filter import label_unit
from profkit.analysis.stacks import StackTable
from profkit.errors import ProfileFormatError
from profkit.report import Report
from profkit.views.nodes import assign_nodes, printable_name
from profkit.views.paths import graph_file_namer

__all__ = ["FORMAT", "MAX_LABEL_VALUES", "flame_from_report", "label_counts", "labels_from_report",
           "net_values"]

#: Payload format name and version (the browser checks it).
FORMAT = "profkit-flame/1"
#: Values kept per label key (the largest by value sum); the rest are counted apart.
MAX_LABEL_VALUES = 200
_BASE_LABEL = "pprof::base"


def _group_stacks(t: StackTable, si: int) -> Dict[Tuple[int, ...], List[int]]:
    """Return location-id stack -> [new-side sum, base-side sum (positive)]."""
    groups: Dict[Tuple[int, ...], List[int]] = {}
    get = groups.get
    for stack, vals, is_base in zip(t.stacks, t.values, t.base):
        v = vals[si]
        if not v or not stack:
            continue
        key = tuple(stack)
        g = get(key)
        if g is None:
            g = groups[key] = [0, 0]
        if is_base:
            g[1] -= v
        else:
            g[0] += v
    return groups


def _numeric_counts(t: StackTable, si: int, counts: Dict[str, Dict[Any, List[int]]]) -> None:
    """Add numeric labels to ``counts``: key -> (value, unit) -> [samples, sum of |value|]."""
    if not t.num_labels or t.num_units is None:
        return
    for nums, units, vals in zip(t.num_labels, t.num_units, t.values):
        if not nums:
            continue
        v = abs(vals[si])
        for key, values in nums.items():
            unit = label_unit(key, units)
            per_key = counts[key]
            for value in values:
                c = per_key.get((value, unit))
                if c is None:
                    per_key[(value, unit)] = [1, v]
                else:
                    c[0] += 1
                    c[1] += v


def label_counts(t: StackTable, si: int) -> Dict[str, List[List[Any]]]:
    """Return label key -> [[value, samples, sum of |value|(, tag filter)], ...], largest sums first.

    String labels give ``[value, samples, sum]`` (the page filters ``key=^value$``);
    numeric labels (pprof's num labels, with their units) give ``["1024 bytes", samples,
    sum, "1024bytes"]``: the display and the exact-value tag filter (``key=1024bytes``,
    pprof's numeric tagfocus syntax; None when the unit is not letters only). At most ``MAX_LABEL_VALUES`` values per key;
    ``pprof::base`` is left out.
    """
    if not t.labels and not t.num_labels:
        return {}
    counts: Dict[str, Dict[Any, List[int]]] = defaultdict(dict)
    for labels, vals in zip(t.labels or (), t.values):
        if not labels:
            continue
        v = abs(vals[si])
        for key, values in labels.items():
            if key == _BASE_LABEL:
                continue
            per_key = counts[key]
            for value in values:
                c = per_key.get(value)
                if c is None:
                    per_key[value] = [1, v]
                else:
                    c[0] += 1
                    c[1] += v
    _numeric_counts(t, si, counts)
    out: Dict[str, List[List[Any]]] = {}
    for key in sorted(counts):
        rows = sorted(counts[key].items(), key=lambda kv: (-kv[1][1], -kv[1][0], str(kv[0])))
        out[key] = [_row(value, n, s) for value, (n, s) in rows[:MAX_LABEL_VALUES]]
    return out


def _row(value: Any, n: int, s: int) -> List[Any]:
    if isinstance(value, tuple):
        num, unit = value
        # pprof's tag syntax reads a unit of letters only; other units get no filter (None)
        return [f"{num} {unit}", n, s, f"{num}{unit}" if unit.isalpha() else None]
    return [value, n, s]


def labels_from_report(r: Report) -> Dict[str, Any]:
    """Return the label filter's data: ``{"type", "unit", "labels": label_counts(...)}``.

    Counts are of the unfiltered samples for the request's sample index; ``r`` must
    have been built with labels (a request of kind ``labels``, see ``LABEL_KINDS``).
    """
    st = r.sample_type
    return {"type": st.type, "unit": st.unit, "labels": label_counts(r.unfiltered, r.sample_index)}


def flame_from_report(r: Report) -> Dict[str, Any]:
    """Return the flame payload of a built report as a JSON-ready dict (see module doc).

    Raises ProfileFormatError when a sample names a location the profile lacks.
    """
    t, si = r.table, r.sample_index
    o = r.request.options
    loc_nodes, keys = assign_nodes(t, o.granularity, graph_file_namer(o.trim_path, o.source_path))
    groups = _group_stacks(t, si)
    node_file: Dict[int, Tuple[str, int]] = {}
    for lid, lines in t.loc_lines.items():
        for info, n in zip(lines, loc_nodes[lid]):
            if n not in node_file:
                node_file[n] = (info[1], info[2] if keys[n][2] else info[3])
    rev = {lid: ns[::-1] for lid, ns in loc_nodes.items()}
    paths: Dict[Tuple[int, ...], List[int]] = {}
    try:
        for stack, (new, base) in groups.items():
            key = tuple(chain.from_iterable(map(rev.__getitem__, reversed(stack))))
            acc = paths.get(key)
            if acc is None:
                paths[key] = [new, base]
            else:
                acc[0] += new
                acc[1] += base
    except KeyError:
        raise ProfileFormatError("malformed profile: sample has nil location") from None
    order = sorted(set(chain.from_iterable(paths)))
    remap = {n: i for i, n in enumerate(order)}
    strings: Dict[str, int] = {"": 0}

    def intern(s: str) -> int:
        i = strings.get(s)
        if i is None:
            i = strings[s] = len(strings)
        return i

    names = [intern(printable_name(keys[n])) for n in order]
    files = [intern(node_file.get(n, ("", 0))[0]) for n in order]
    node_lines = [node_file.get(n, ("", 0))[1] for n in order]
    ordered = sorted(paths.items())
    st = r.sample_type
    payload: Dict[str, Any] = {
        "format": FORMAT,
        "sources": r.source_names,
        "bases": [s if isinstance(s, str) else "<profile>" for s in r.request.bases],
        "sample_types": [{"type": v.type, "unit": v.unit} for v in t.sample_types],
        "sample_index": si,
        "type": st.type,
        "unit": st.unit,
        "total": r.total,
        "diff": r.is_diff,
        "granularity": r.request.options.granularity,
        "filters": r.request.options.to_query(),
        "strings": list(strings),
        "nodes": {"name": names, "file": files, "line": node_lines},
        "stacks": [list(map(remap.__getitem__, p)) for p, _ in ordered],
        "values": [v[0] for _, v in ordered],
        "duration_nanos": t.duration_nanos,
    }
    if r.is_diff:
        payload["base"] = [v[1] for _, v in ordered]
    return payload


def net_values(payload: Dict[str, Any]) -> Sequence[int]:
    """Return each stack's net value (``values - base`` for a diff)."""
    base = payload.get("base")
    if base is None:
        return payload["values"]  # type: ignore[no-any-return]
    return [v - b for v, b in zip(payload["values"], base)]
