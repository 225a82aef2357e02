"""The call graph's per-frame loops in C (``profkit.analysis._kernels``), when built.

Each function returns what its Python twin in ``views.graph`` computes, or None when
the twin must run: the kernels are not built, the table is not held in lists, or a
sum passes int64 (Python's ints take it). A location id the table does not know is
the twin's ProfileFormatError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Set, Tuple

from profkit.analysis.stacks import StackTable
from profkit.errors import ProfileFormatError

try:
    from profkit.analysis import _kernels
except ImportError:  # built without a C compiler
    _kernels = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from profkit.views.graph import StackPaths

__all__ = ["edge_weights", "group_paths", "node_values"]

#: (node path leaf first, inline flags or None) -> summed value
Groups = Dict[Tuple[Tuple[int, ...], Optional[Tuple[bool, ...]]], int]


def group_paths(t: StackTable, si: int, divisor_index: Optional[int],
                loc_nodes: Dict[int, Tuple[int, ...]], n_nodes: int) -> Optional[Groups]:
    """``stack_paths``' grouping of samples by node path, without labels."""
    if _kernels is None or type(t.stacks) is not list or type(t.values) is not list:
        return None
    div = -1 if divisor_index is None else divisor_index
    try:
        return _kernels.group_paths(t.stacks, t.values, si, div, loc_nodes, n_nodes)
    except LookupError:
        raise ProfileFormatError("malformed profile: sample has nil location") from None


def node_values(sp: StackPaths, kept: Optional[Set[int]]
                ) -> Optional[Tuple[Dict[int, int], Dict[int, int]]]:
    """``graph.node_values``: (flat, cum) per node."""
    if _kernels is None:
        return None
    return _kernels.node_values(_as_list(sp.paths), _as_list(sp.weights), len(sp.keys), kept)


def edge_weights(sp: StackPaths, kept: Optional[Set[int]], touching: Optional[Set[int]]
                 ) -> Optional[Tuple[Dict[int, int], Set[int], Set[int]]]:
    """(weight per edge key, residual keys, inline keys) of ``build_graph``."""
    if _kernels is None:
        return None
    return _kernels.edge_weights(_as_list(sp.paths), _as_list(sp.inline), _as_list(sp.weights),
                                 len(sp.keys), kept, touching)


def _as_list(xs: List) -> List:  # type: ignore[type-arg]
    return xs if type(xs) is list else list(xs)
