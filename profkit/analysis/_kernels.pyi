"""Types of the C kernels (``_kernels.c``)."""

from typing import Dict, List, Optional, Sequence, Tuple

def flat_cum(
    stacks: List[Sequence[int]], values: List[Sequence[int]], si: int,
    loc_nodes: Dict[int, Tuple[int, ...]], n_nodes: int,
) -> Optional[Tuple[Dict[int, int], Dict[int, int]]]: ...
