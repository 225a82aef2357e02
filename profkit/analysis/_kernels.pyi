"""Types of the C kernels (``_kernels.c``)."""

from typing import Dict, List, Optional, Sequence, Set, Tuple

def flat_cum(
    stacks: List[Sequence[int]], values: List[Sequence[int]], si: int,
    loc_nodes: Dict[int, Tuple[int, ...]], n_nodes: int,
) -> Optional[Tuple[Dict[int, int], Dict[int, int]]]: ...

def group_paths(
    stacks: List[Sequence[int]], values: List[Sequence[int]], si: int, divisor_index: int,
    loc_nodes: Dict[int, Tuple[int, ...]], n_nodes: int,
) -> Dict[Tuple[Tuple[int, ...], Optional[Tuple[bool, ...]]], int]: ...
def node_values(
    paths: List[Tuple[int, ...]], weights: List[int], n_nodes: int, kept: Optional[Set[int]],
) -> Optional[Tuple[Dict[int, int], Dict[int, int]]]: ...
def edge_weights(
    paths: List[Tuple[int, ...]], flags: List[Optional[Tuple[bool, ...]]], weights: List[int],
    n_nodes: int, kept: Optional[Set[int]], touching: Optional[Set[int]],
) -> Optional[Tuple[Dict[int, int], Set[int], Set[int]]]: ...
def totals(
    values: List[Sequence[int]], base: List[bool], si: int, mi: int,
) -> Optional[Tuple[int, int, int, int, bool]]: ...
