"""Tags of graph nodes (dot's nodelets): label sets, and pprof's ``bytes`` label values.

Label tags: per node, per joined label set, [flat, cum].

pprof keeps one numeric label for graphs, ``bytes`` (heap profiles' allocation
sizes). Per node and per joined string-label set, each value, formatted in the
output unit (``-unit``; ``minimum``: ``64B``, ``1.50kB``; values that format alike,
``0`` in MB, are one tag, as in pprof), collects the samples' flat and cum as label
tags do. The unit is the first one any sample gives for ``bytes`` (pprof's
``NumLabelUnits``), else ``bytes``. ``collapsed_tags`` groups more than four values
into four ranges (``1kB..2kB``) around the heaviest ones, as pprof's dot does.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, List, Optional, Set, Tuple

from profkit.analysis.measurement import label, scale, scaled_label
from profkit.analysis.stacks import StackTable
from profkit.views.graph import StackPaths

__all__ = ["NumTag", "bytes_unit", "collapsed_tags", "label_tags", "numeric_tags", "sort_tags"]

#: (name, flat, cum, value) of one numeric tag or range
NumTag = Tuple[str, int, int, int]


def bytes_unit(t: StackTable) -> str:
    """The unit of the ``bytes`` numeric label (first non-empty one given), else bytes."""
    for units in t.num_units or ():
        for unit in units.get("bytes", ()):
            if unit:
                return unit
    return "bytes"


def label_tags(sp: StackPaths, kept: Optional[Set[int]]) -> Dict[int, Dict[str, List[int]]]:
    """Per node, per joined label set: [flat, cum] (pprof's LabelTags)."""
    tags: Dict[int, Dict[str, List[int]]] = defaultdict(dict)
    assert sp.labels is not None
    for path, w, lab in zip(sp.paths, sp.weights, sp.labels):
        if not lab:
            continue
        nodes = set(path) if kept is None else kept.intersection(path)
        for n in nodes:
            tags[n].setdefault(lab, [0, 0])[1] += w
        if path[0] in nodes:
            tags[path[0]][lab][0] += w
    return dict(tags)


def numeric_tags(sp: StackPaths, kept: Optional[Set[int]]
                 ) -> Dict[int, Dict[str, Dict[str, List[int]]]]:
    """Per node, per joined labels, per formatted value: [value, flat, cum]."""
    assert sp.numbers is not None and sp.labels is not None
    unit = sp.number_unit
    out: Dict[int, Dict[str, Dict[str, List[int]]]] = defaultdict(dict)
    names: Dict[int, str] = {}
    for path, w, lab, numbers in zip(sp.paths, sp.weights, sp.labels, sp.numbers):
        if not numbers:
            continue
        nodes = set(path) if kept is None else kept.intersection(path)
        leaf = path[0] if path[0] in nodes else -1
        for v in numbers:
            name = names.get(v)
            if name is None:
                name = names[v] = scaled_label(v, unit, sp.tag_unit)
            for n in nodes:
                tag = out[n].setdefault(lab, {}).setdefault(name, [v, 0, 0])
                tag[2] += w
                if n == leaf:
                    tag[1] += w
    return dict(out)


def sort_tags(tags: List[NumTag], flat: bool) -> List[NumTag]:
    """pprof's ``SortTags``: by |cum| (unless ``flat``), then |flat|, then name."""
    return sorted(tags, key=lambda t: (0 if flat else -abs(t[2]), -abs(t[1]), t[0]))


def _distance(t: NumTag, u: NumTag, unit: str) -> float:
    v, _ = scale(u[3], unit, unit)
    return abs(v - t[3])


def collapsed_tags(tags: List[NumTag], count: int, flat: bool, unit: str,
                   divisors: Optional[Dict[str, List[int]]] = None) -> List[NumTag]:
    """Return ``tags`` sorted, or grouped into ``count`` ranges when there are more.

    With ``divisors`` (``-mean``: per tag name [value, flat divisor, cum divisor]),
    the values returned are means (pprof's ``tagGroupLabel``: a group's summed
    values over its summed divisors); tags are sorted by their sums, ranges by
    their means, as pprof sorts the new range tags it makes.
    """
    from profkit.views.graph_mean import divided

    tags = sort_tags(tags, flat)
    divs = divisors if divisors is not None else {}

    def div(t: NumTag) -> Tuple[int, int]:
        d = divs.get(t[0])
        return (0, 0) if d is None else (d[1], d[2])

    if len(tags) <= count:
        if divisors is None:
            return tags
        return [(t[0], divided(t[1], div(t)[0]), divided(t[2], div(t)[1]), t[3]) for t in tags]
    groups: List[List[NumTag]] = [[t] for t in tags[:count]]
    for t in tags[count:]:
        best, dist = 0, _distance(t, groups[0][0], unit)
        for i in range(1, count):
            d = _distance(t, groups[i][0], unit)
            if d < dist:
                best, dist = i, d
        groups[best].append(t)
    out: List[NumTag] = []
    for g in groups:
        fd, cd = sum(div(t)[0] for t in g), sum(div(t)[1] for t in g)
        if len(g) == 1:
            t = g[0]
            out.append((label(t[3], unit), divided(t[1], fd), divided(t[2], cd), t[3]))
            continue
        low = min(g, key=lambda t: t[3])
        high = max(g, key=lambda t: t[3])
        lo, hi = next(t for t in g if t[3] == low[3]), next(t for t in g if t[3] == high[3])
        out.append((f"{label(lo[3], unit)}..{label(hi[3], unit)}",
                    divided(sum(t[1] for t in g), fd), divided(sum(t[2] for t in g), cd),
                    lo[3]))
    return sort_tags(out, flat)
