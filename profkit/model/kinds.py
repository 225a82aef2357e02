"""The profile kinds profkit serves and captures: the one list (names, Go aliases, roles).

``KINDS`` is the source of truth that the ``/debug/profile`` endpoints
(``profkit.endpoints.catalog`` adds how to collect each), ``profkit capture
--type`` (``CAPTURE_TYPES``) and URL inputs of reports (``profkit.report.fetch_url``)
read. ``BY_NAME`` maps every name and alias (``profile`` = cpu, ``goroutine`` =
threads, as Go's ``net/http/pprof``) to its kind. Plain data: importing this module
loads nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

__all__ = ["BY_NAME", "CAPTURE_TYPES", "DEFAULT_PREFIX", "KINDS", "Kind"]

#: where the endpoints are mounted unless configured otherwise (Go: /debug/pprof)
DEFAULT_PREFIX = "/debug/profile"


@dataclass(frozen=True)
class Kind:
    """One profile kind.

    ``timed`` kinds (cpu, wall) sample for ``seconds``; the others are point-in-time
    snapshots (a delta when ``seconds`` is given). ``feature`` names the process-wide
    collector that must be enabled first (``"heap"`` or ``"locks"``), if any.
    ``profile`` is False for ``cmdline`` (not a profile).
    """

    name: str
    description: str
    aliases: Tuple[str, ...] = ()
    timed: bool = False
    feature: Optional[str] = None
    profile: bool = True


KINDS: Tuple[Kind, ...] = (
    Kind("cpu", "CPU time of every thread, sampled for ?seconds=N (default 30).",
         aliases=("profile",), timed=True),
    Kind("wall", "Wall-clock time of every thread, running or waiting, for ?seconds=N.",
         timed=True),
    Kind("heap", "Sampled live allocations: who holds memory now. ?gc=1 collects first; "
         "?seconds=N gives the change over N seconds.", feature="heap"),
    Kind("allocs", "Sampled allocations since heap profiling started (alloc_space by "
         "default); ?seconds=N gives those made during N seconds.", feature="heap"),
    Kind("threads", "Stacks of all threads and asyncio tasks. ?debug=1 groups them as "
         "text, ?debug=2 is a full dump.", aliases=("goroutine",)),
    Kind("threadcreate", "Stacks that created the live threads."),
    Kind("block", "Time spent waiting to acquire locks, by waiting stack.", feature="locks"),
    Kind("mutex", "Contended locks, by the stack that held them.", feature="locks"),
    Kind("cmdline", "The command line of this process (sys.argv, NUL-separated).",
         profile=False),
)

BY_NAME: Dict[str, Kind] = {}
for _kind in KINDS:
    BY_NAME[_kind.name] = _kind
    for _alias in _kind.aliases:
        BY_NAME[_alias] = _kind

#: what ``profkit capture --type`` and URL inputs can ask for
CAPTURE_TYPES: Tuple[str, ...] = tuple(k.name for k in KINDS if k.profile)
