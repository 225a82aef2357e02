"""The per-frame loops of reports in C (``_kernels.c``), behind one door.

Each function returns what its Python twin computes (``views.top._flat_cum``,
``views.graph.stack_paths``' grouping, ``graph.node_values``, ``graph._edges``,
``report.driver._python_totals``), or None when the twin must run: the extension is
not built, the data is not held in lists, or a sum passes int64 (Python's ints take
it). A location id that ``loc_nodes`` lacks is the twins' ProfileFormatError.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Set, Tuple

from profkit.model.errors import ProfileFormatError

try:
    from profkit.analysis import _kernels
except ImportError:  # built without a C compiler: the Python twins run
    _kernels = None  # type: ignore[assignment]

__all__ = ["edge_weights", "flat_cum", "group_paths", "node_values", "totals"]

LocNodes = Dict[int, Tuple[int, ...]]
FlatCum = Tuple[Dict[int, int], Dict[int, int]]
#: (node path leaf first, inline flags or None) -> summed value
Groups = Dict[Tuple[Tuple[int, ...], Optional[Tuple[bool, ...]]], int]


def _lists(*xs: object) -> bool:
    return _kernels is not None and all(type(x) is list for x in xs)


def _nil_location() -> ProfileFormatError:
    return ProfileFormatError("malformed profile: sample has nil location")


def flat_cum(stacks: List[Sequence[int]], values: List[Sequence[int]], si: int,
             loc_nodes: LocNodes, n_nodes: int) -> Optional[FlatCum]:
    """Top's (flat, cum) per node: a sample's value to its leaf's flat, once to each
    node's cum."""
    if not _lists(stacks, values):
        return None
    try:
        return _kernels.flat_cum(stacks, values, si, loc_nodes, n_nodes)
    except LookupError:
        raise _nil_location() from None


def group_paths(stacks: List[Sequence[int]], values: List[Sequence[int]], si: int,
                divisor_index: Optional[int], loc_nodes: LocNodes,
                n_nodes: int) -> Optional[Groups]:
    """Samples summed by node path (and inline flags), without labels."""
    if not _lists(stacks, values):
        return None
    div = -1 if divisor_index is None else divisor_index
    try:
        return _kernels.group_paths(stacks, values, si, div, loc_nodes, n_nodes)
    except LookupError:
        raise _nil_location() from None


def node_values(paths: List[Tuple[int, ...]], weights: List[int], n_nodes: int,
                kept: Optional[Set[int]]) -> Optional[FlatCum]:
    """The graph's (flat, cum) per node over ``kept`` nodes (None: all)."""
    if not _lists(paths, weights):
        return None
    return _kernels.node_values(paths, weights, n_nodes, kept)


def edge_weights(paths: List[Tuple[int, ...]], flags: List[Optional[Tuple[bool, ...]]],
                 weights: List[int], n_nodes: int, kept: Optional[Set[int]],
                 touching: Optional[Set[int]]) -> Optional[Tuple[Dict[int, int], Set[int], Set[int]]]:
    """(weight per edge key, residual keys, inline keys) of the graph's edges."""
    if not _lists(paths, flags, weights):
        return None
    return _kernels.edge_weights(paths, flags, weights, n_nodes, kept, touching)


def totals(values: List[Sequence[int]], base: List[bool], si: int,
           mi: int) -> Optional[Tuple[int, int, int, int, bool]]:
    """(sum |v[si]|, sum v[mi], the same over base samples, any base sample)."""
    if not _lists(values, base):
        return None
    return _kernels.totals(values, base, si, mi)
