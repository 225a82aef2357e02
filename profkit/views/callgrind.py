"""The call graph pprof's ``-callgrind`` writes: nodes per address and line, edges.

Semantics follow pprof (``internal/report.printCallgrind``, ``internal/graph``)
at the granularity callgrind uses, ``addresses``: a node is one (address,
function name, file, line, function start line, mapping file) of a location's
lines; flat goes to the innermost line of a sample's leaf location; cum and edge
weights count once per sample; nodes with zero flat and cum are not listed, but
edges into them are written (an empty ``cfn=``), as pprof keeps them; nodes are
sorted by |flat|, name, |cum| (pprof's ``FlatNameOrder``; with ``-cum`` by |cum|,
name, |flat|), a node's callees by |weight|. No node or edge is trimmed. Names of nodes that share (file, name) but
not the function get pprof's ``[i/n]`` suffix: the function is (start line,
mapping) and, with ``-call_tree``, the caller's node too.

``-call_tree`` (pprof's ``newTree``, which callgrind honours): a node per calling
context, the child of the node it was called from. pprof orders ties (two
contexts with the same name, flat and cum) in Go map order, so its output varies
from run to run; here they keep the order of the samples.

``-mean``: a node's self cost is its flat over the sum of the samples' first
value (``FlatValue``), the unit chosen from those means; call costs stay sums, as
pprof writes ``Edge.Weight``. A sample is skipped only when its value and that
divisor are both 0. Built from the filtered Profile
(``views.raw_message.filtered_profile``: addresses are not in the StackTable).
Linear in samples plus frames.
"""

from __future__ import annotations

import posixpath
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from itertools import chain, islice
from typing import Dict, Iterable, List, Sequence, Tuple

from profkit.analysis.names import display_name
from profkit.errors import ProfileFormatError
from profkit.model.profile import Profile
from profkit.report import Report
from profkit.views.graph_mean import divided
from profkit.views.paths import FileNamer, graph_file_namer
from profkit.views.raw_message import filtered_profile

__all__ = ["CallgrindNode", "CallgrindView", "callgrind_from_report"]

#: (name, address, file, start line, line, objfile), pprof's NodeInfo at addresses
Info = Tuple[str, int, str, int, int, str]


@dataclass
class CallgrindNode:
    """One node: where it is, its flat and cum, its callees (node index, weight)."""

    name: str
    address: int
    file: str
    start_line: int
    line: int
    objfile: str
    flat: int = 0
    cum: int = 0
    out: Dict[int, int] = field(default_factory=dict)
    flat_div: int = 0
    cum_div: int = 0
    #: what pprof's ``Node.Function`` tells apart within one (file, name)
    function: Tuple[object, ...] = ()

    @property
    def self_cost(self) -> int:
        """The flat pprof writes (``FlatValue``: divided by its divisor under -mean)."""
        return divided(self.flat, self.flat_div)

    @property
    def cum_cost(self) -> int:
        """The cum pprof chooses the unit from (``CumValue``)."""
        return divided(self.cum, self.cum_div)

    def printable(self) -> str:
        """Return the node's name as pprof prints it (``NodeInfo.PrintableName``)."""
        parts = [f"{self.address:016x}"] if self.address else []
        if self.name:
            parts.append(self.name)
        if self.line:
            parts.append(f"{self.file}:{self.line}")
        elif self.file:
            parts.append(self.file)
        elif self.name:
            pass
        elif self.objfile:
            parts.append("[" + posixpath.basename(self.objfile) + "]")
        else:
            parts.append("<unknown>")
        return " ".join(parts)


@dataclass
class CallgrindView:
    """The graph: the first ``listed`` nodes in pprof's order, then nodes only reached
    by edges (not listed); the names callees are written with ("" for those)."""

    nodes: List[CallgrindNode]
    callee_names: List[str]
    sample_type: str
    sample_unit: str
    total: int
    listed: int = -1

    def __post_init__(self) -> None:
        if self.listed < 0:
            self.listed = len(self.nodes)


def _location_nodes(p: Profile, file_name: FileNamer
                    ) -> Tuple[Dict[int, Tuple[Info, ...]], Dict[Info, int]]:
    """Per location id its node infos, outermost first; and the infos' first-use order."""
    caller_first: Dict[int, Tuple[Info, ...]] = {}
    order: Dict[Info, int] = {}
    for loc in p.locations:
        objfile = loc.mapping.filename if loc.mapping is not None else ""
        infos: List[Info] = []
        if not loc.lines:
            infos.append(("", loc.address, "", 0, 0, objfile))
        for ln in loc.lines:
            fn = ln.function
            infos.append((display_name(fn.name, fn.system_name), loc.address,
                          file_name(fn.filename), fn.start_line, ln.line, objfile))
        for info in infos:
            order.setdefault(info, len(order))
        caller_first[loc.id] = tuple(reversed(infos))
    return caller_first, order


def _graph(p: Profile, samples: Iterable[Tuple[Sequence[int], int, int]], file_name: FileNamer
           ) -> List[CallgrindNode]:
    """Return the nodes with flat, cum and callees from (location ids, value, divisor)."""
    caller_first, order = _location_nodes(p, file_name)
    nodes = [CallgrindNode(*info, function=(info[3], info[5])) for info in order]
    ids = {lid: tuple(order[i] for i in infos) for lid, infos in caller_first.items()}
    cum: Dict[Tuple[int, int], Counter[int]] = defaultdict(Counter)
    edges: Dict[Tuple[int, int], Counter[Tuple[int, int]]] = defaultdict(Counter)
    get = ids.__getitem__
    for stack, w, d in samples:
        seq = list(chain.from_iterable(map(get, reversed(stack))))
        cum[(w, d)].update(set(seq))
        edges[(w, d)].update(set(zip(seq, islice(seq, 1, None))))
        leaf = nodes[seq[-1]]
        leaf.flat += w
        leaf.flat_div += d
    for (w, d), counter in cum.items():
        for n, c in counter.items():
            nodes[n].cum += c * w
            nodes[n].cum_div += c * d
    for (w, _d), pairs in edges.items():
        for (src, dst), c in pairs.items():
            if src != dst:
                out = nodes[src].out
                out[dst] = out.get(dst, 0) + c * w
    return nodes


def _tree(p: Profile, samples: Iterable[Tuple[Sequence[int], int, int]], file_name: FileNamer
          ) -> List[CallgrindNode]:
    """pprof's ``newTree`` at addresses: a node per (caller node, info)."""
    caller_first, _order = _location_nodes(p, file_name)
    nodes: List[CallgrindNode] = []
    children: Dict[Tuple[int, Info], int] = {}
    get = caller_first.__getitem__
    for stack, w, d in samples:
        parent = -1
        for info in chain.from_iterable(map(get, reversed(stack))):
            n = children.get((parent, info))
            if n is None:
                n = children[(parent, info)] = len(nodes)
                nodes.append(CallgrindNode(*info, function=(parent, info[3], info[5])))
            node = nodes[n]
            node.cum += w
            node.cum_div += d
            if parent >= 0:
                out = nodes[parent].out
                out[n] = out.get(n, 0) + w
            parent = n
        if parent >= 0:
            nodes[parent].flat += w
            nodes[parent].flat_div += d
    return nodes


def _info_text(n: CallgrindNode) -> str:
    """Go's ``fmt.Sprint(NodeInfo)``: the last tie-breaker of pprof's node order."""
    return f"{{{n.name}  {n.address} {n.file} {n.start_line} {n.line} {n.objfile}}}"


def _samples(r: Report) -> Tuple[Profile, List[Tuple[Sequence[int], int, int]]]:
    """The filtered profile and its samples as (location ids, value, divisor), without
    those pprof skips (value and divisor both 0, or no locations)."""
    p, _order, ids = filtered_profile(r, with_samples=False)
    if ids is not None:  # the skeleton's samples are r.table's
        stacks, values = ids, r.table.values
    else:
        stacks = [[loc.id for loc in s.locations] for s in p.samples]
        values = [s.values for s in p.samples]
    si, di = r.sample_index, r.mean_index
    out = []
    for stack, vals in zip(stacks, values):
        w, d = vals[si], (vals[di] if di is not None else 0)
        if (w or d) and stack:
            out.append((stack, w, d))
    return p, out


def callgrind_from_report(r: Report) -> CallgrindView:
    """Return the callgrind graph of ``r``'s filtered profile (see module doc).

    Raises ProfileFormatError for a sample naming a location not in the profile.
    """
    p, samples = _samples(r)
    o = r.request.options
    try:
        nodes = (_tree if o.call_tree else _graph)(p, samples,
                                                   graph_file_namer(o.trim_path, o.source_path))
    except KeyError:
        raise ProfileFormatError(
            "malformed profile: sample has a location not in the profile") from None
    kept = [i for i, n in enumerate(nodes) if n.flat or n.cum]
    names = {i: nodes[i].printable() for i in kept}
    if r.request.options.cum:  # pprof's CumNameOrder
        kept.sort(key=lambda i: (-abs(nodes[i].cum), names[i], -abs(nodes[i].flat),
                                 _info_text(nodes[i])))
    else:
        kept.sort(key=lambda i: (-abs(nodes[i].flat), names[i], -abs(nodes[i].cum),
                                 _info_text(nodes[i])))
    position = {old: new for new, old in enumerate(kept)}
    order, kept_set = list(kept), set(kept)
    for i in kept:  # nodes reached only by edges: written as callees, never listed
        for d in nodes[i].out:
            if d not in position:
                position[d] = len(order)
                order.append(d)
                names[d] = nodes[d].printable()
    out_nodes: List[CallgrindNode] = []
    for i in order:
        n = nodes[i]
        callees = [(position[d], w) for d, w in n.out.items()] if i in kept_set else []
        if len(callees) > 1:
            callees.sort(key=lambda dw: (-abs(dw[1]), names[order[dw[0]]]))
        out_nodes.append(replace(n, out=dict(callees)))
    functions: Dict[Tuple[str, str], Dict[Tuple[object, ...], int]] = defaultdict(dict)
    for n in out_nodes[:len(kept)]:
        fns = functions[(n.file, n.name)]
        fns.setdefault(n.function, len(fns))
    callee_names = []
    for n in out_nodes[:len(kept)]:
        fns = functions[(n.file, n.name)]
        suffix = f" [{fns[n.function] + 1}/{len(fns)}]" if len(fns) > 1 else ""
        callee_names.append(n.name + suffix)
    callee_names += [""] * (len(out_nodes) - len(kept))
    st = r.sample_type
    return CallgrindView(out_nodes, callee_names, st.type, st.unit, r.total, len(kept))
