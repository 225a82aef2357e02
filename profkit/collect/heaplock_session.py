"""Heap and lock profilers as ``RunCollector``s for ``profkit run``.

``HeapRunCollector`` writes the heap profile as of the program's end (``inuse_*`` =
still alive then, ``alloc_*`` = everything allocated during the run).
``LockRunCollector`` writes the block and/or mutex profile of the locks the program
created. Both stop their profiler even when building a profile fails.
"""

from __future__ import annotations

import sys
from typing import List, Optional, Tuple

from profkit.model import Profile


class HeapRunCollector:
    """Heap profiling for a whole program run."""

    def __init__(self, path: str, interval_bytes: int) -> None:
        self.path = path
        self.interval_bytes = interval_bytes

    def start(self) -> None:
        """Start the heap profiler (the launcher's frames are left out of its stacks)."""
        from profkit.collect import _stackcapture, heap

        _stackcapture.hide_callers(sys._getframe(1))
        heap.start(self.interval_bytes)

    def stop(self) -> List[Tuple[str, Profile]]:
        """Stop the profiler, then build the profile from what it recorded up to the stop
        (the tracemalloc backend reads the heap once, at its stop)."""
        from profkit.collect import heap

        heap.stop()
        return [(self.path, heap.snapshot())]


class LockRunCollector:
    """Block and/or mutex profiling for a whole program run."""

    def __init__(self, block_path: Optional[str], mutex_path: Optional[str], fraction: int) -> None:
        self.block_path = block_path
        self.mutex_path = mutex_path
        self.fraction = fraction

    def start(self) -> None:
        """Patch the lock factories (locks the program creates from now on are profiled)."""
        from profkit.collect import _stackcapture, locks

        _stackcapture.hide_callers(sys._getframe(1))
        locks.reset()
        locks.enable(self.fraction)

    def stop(self) -> List[Tuple[str, Profile]]:
        """Restore the lock factories; return the profiles asked for."""
        from profkit.collect import locks

        locks.disable()
        out = []
        if self.block_path:
            out.append((self.block_path, locks.block_profile()))
        if self.mutex_path:
            out.append((self.mutex_path, locks.mutex_profile()))
        return out
