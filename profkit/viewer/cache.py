"""A small thread-safe LRU of rendered outputs, keyed by the request they answer.

Outputs of one viewer session are deterministic in (kind, format, options,
pattern): the inputs never change while the app runs, so a repeated view (Back,
a tab switch, the export of what is on screen) costs nothing the second time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Hashable, Union

__all__ = ["OutputCache"]

Output = Union[str, bytes]


class OutputCache:
    """Keep the ``size`` most recently used outputs (0 disables caching)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Output] = OrderedDict()
        self._lock = threading.Lock()
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], Output]) -> Output:
        """Return the output for ``key``, computing it (outside the lock) if absent."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        out = compute()
        with self._lock:
            self.misses += 1
            if self.size > 0:
                self._items[key] = out
                self._items.move_to_end(key)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return out
