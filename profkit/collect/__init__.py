"""Collectors that run inside the profiled process and return ``Profile`` objects.

- ``profkit.collect.cpu``: sampling CPU and wall-clock profiler (all threads).
- ``profkit.collect.threads``: thread/asyncio-task snapshot and thread-creation profile.
- ``profkit.collect.labels``: ``with labels(route="/x"):`` tags samples of the current thread.
- ``profkit.collect.pyspy``: py-spy's speedscope output as a ``Profile`` (``capture --pid``).
- ``profkit.collect.locks``: block and mutex (lock-contention) profiles.
- ``profkit.collect.heap``: heap and allocs profiles (sampling allocator hook).

Importing this package imports nothing else; each module is loaded on first use.
"""
