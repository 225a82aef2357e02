"""A profiling session around a whole program run (``profkit run``).

A session starts its collectors, and ``finish()`` stops them and writes each
profile atomically. ``finish()`` is idempotent and best-effort per collector, and
is also run when the program calls ``os._exit`` (the session wraps ``os._exit`` in
this process only; a forked child calling it is not affected) or gets SIGTERM while
it has no handler of its own. A forked child never writes (the files are the
parent's). Nothing can be written after SIGKILL or a crash.

Other collectors join a session by implementing ``RunCollector`` (``start()``, and
``stop()`` returning ``(path, profile)`` pairs) and being passed to ``RunSession``.
"""

from __future__ import annotations

import os
import signal
from types import FrameType
from typing import Callable, List, Optional, Protocol, Sequence, Tuple

from profkit.collect.frames import DEFAULT_MAX_DEPTH
from profkit.collect.sampler import Sampler
from profkit.model import Profile
from profkit.model.errors import ProfkitError


class RunCollector(Protocol):
    """A collector that runs for the whole program and yields files to write."""

    def start(self) -> None:
        """Begin collecting."""

    def stop(self) -> List[Tuple[str, Profile]]:
        """Stop collecting; return ``(output path, profile)`` pairs."""


class SamplerCollector:
    """The CPU and/or wall-clock sampler as a ``RunCollector``."""

    def __init__(
        self,
        cpu_path: Optional[str],
        wall_path: Optional[str],
        rate_hz: float = 100,
        max_depth: int = DEFAULT_MAX_DEPTH,
    ) -> None:
        self.cpu_path = cpu_path
        self.wall_path = wall_path
        self.sampler = Sampler(
            rate_hz, cpu=bool(cpu_path), wall=bool(wall_path), max_depth=max_depth
        )

    def start(self) -> None:
        """Start the sampler thread."""
        self.sampler.start()

    def stop(self) -> List[Tuple[str, Profile]]:
        """Stop sampling; return the CPU and wall profiles asked for."""
        cpu, wall = self.sampler.stop()
        out = []
        if self.cpu_path and cpu is not None:
            out.append((self.cpu_path, cpu))
        if self.wall_path and wall is not None:
            out.append((self.wall_path, wall))
        return out


class RunSession:
    """Start collectors; ``finish()`` stops them and writes their profiles once."""

    def __init__(self, collectors: Sequence[RunCollector]) -> None:
        self.collectors = list(collectors)
        self.written: List[Tuple[str, Profile]] = []
        self.errors: List[str] = []
        self._finished = False
        self._pid = os.getpid()
        self._real_exit: Optional[Callable[[int], None]] = None

    def start(self) -> None:
        """Start every collector and install the ``os._exit``/SIGTERM safety nets."""
        for c in self.collectors:
            c.start()
        self._real_exit = os._exit
        os._exit = self._exit_hook  # type: ignore[assignment]
        try:
            if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _raise_system_exit)
        except ValueError:  # not the main thread
            pass

    def _exit_hook(self, code: int) -> None:
        if os.getpid() == self._pid:
            self.finish()
        assert self._real_exit is not None
        self._real_exit(code)

    def finish(self) -> List[Tuple[str, Profile]]:
        """Stop collectors and write their profiles (once); return what was written.

        A failure of one collector or file is recorded in ``errors`` (one line each)
        and does not stop the others.
        """
        if self._finished:
            return self.written
        self._finished = True
        if os.getpid() != self._pid:  # a forked child leaving normally: the files are the parent's
            return self.written
        if self._real_exit is not None:
            os._exit = self._real_exit  # type: ignore[assignment]
        for c in self.collectors:
            try:
                pairs = c.stop()
            except Exception as e:
                self.errors.append(f"stopping {type(c).__name__} failed: {e}")
                continue
            from profkit.model.codec import serialize, write_atomic  # protobuf: only now

            for path, profile in pairs:
                try:
                    write_atomic(path, serialize(profile))
                    self.written.append((path, profile))
                except Exception as e:  # WriteError already names the path and the reason
                    self.errors.append(str(e) if isinstance(e, ProfkitError) else f"{path}: {e}")
        return self.written


def _raise_system_exit(signum: int, frame: Optional[FrameType]) -> None:
    raise SystemExit(128 + signum)
