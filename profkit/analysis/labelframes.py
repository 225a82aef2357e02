"""``tagroot`` / ``tagleaf``: labels as pseudo frames (pprof's ``addLabelNodes``).

For each key of ``tagroot`` (comma-separated) every sample gets a frame above its
root whose function name is the sample's values for that key joined by ``,``
(numeric values scaled to the output unit, as pprof's ``formatLabelValues``) and
whose file name is the key; the first key ends up outermost. ``tagleaf`` adds
frames below the leaf, the last key innermost. A sample without the label gets a
frame with an empty name, as in pprof. New location ids follow the table's largest
in the order pprof creates them (sample by sample, its tagroot frames before its
tagleaf ones), which is the order ``raw`` lists them in. The table must keep labels.
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

from profkit.analysis.measurement import scaled_label
from profkit.analysis.stacks import LineInfo, StackTable

__all__ = ["add_label_frames", "split_keys"]


def split_keys(value: str) -> List[str]:
    """Return the non-empty keys of a comma-separated tagroot/tagleaf value."""
    return [k for k in value.split(",") if k]


def _values(s: Dict[str, List[str]], n: Dict[str, List[int]], u: Dict[str, List[str]],
            key: str, unit: str) -> List[str]:
    out = list(s.get(key, ()))
    nums = n.get(key, [])
    units = u.get(key, [])
    if units and len(nums) != len(units):
        return out
    for i, v in enumerate(nums):
        out.append(scaled_label(v, units[i], unit) if units else scaled_label(v, "", ""))
    return out


def add_label_frames(
    t: StackTable, root_keys: Sequence[str], leaf_keys: Sequence[str], unit: str = "minimum"
) -> StackTable:
    """Return ``t`` with tagroot/tagleaf pseudo frames added (module doc; new table)."""
    if not root_keys and not leaf_keys:
        return t
    if t.labels is None or t.num_labels is None or t.num_units is None:
        raise ValueError("tagroot/tagleaf need a StackTable built with labels")
    next_id = max(t.loc_lines, default=0) + 1
    interned: Dict[Tuple[str, str], int] = {}
    loc_lines = dict(t.loc_lines)
    loc_mapfile = dict(t.loc_mapfile)

    def frames(i: int, keys: Sequence[str]) -> List[int]:
        nonlocal next_id
        assert t.labels is not None and t.num_labels is not None and t.num_units is not None
        out = []
        for key in reversed(keys):
            name = ",".join(_values(t.labels[i], t.num_labels[i], t.num_units[i], key, unit))
            lid = interned.get((name, key))
            if lid is None:
                lid = interned[(name, key)] = next_id
                next_id += 1
                line: LineInfo = (name, key, 0, 0)
                loc_lines[lid] = (line,)
                loc_mapfile[lid] = ""
            out.append(lid)
        return out

    stacks: List[Sequence[int]] = []
    for i, stack in enumerate(t.stacks):
        roots = frames(i, root_keys)  # before the leaves: pprof numbers them first
        stacks.append([*frames(i, leaf_keys), *stack, *roots])
    out = t.with_samples(range(len(t.stacks)), stacks)
    out.loc_lines = loc_lines
    out.loc_mapfile = loc_mapfile
    return out
