"""Small hand-built profiles for the analysis tests (not a test module)."""

from __future__ import annotations

from typing import Dict, Optional, Sequence

from profkit.model import FrameKey, Profile, ProfileBuilder

CPU_TYPES = [("samples", "count"), ("cpu", "nanoseconds")]


def cpu_profile(
    stacks: Dict[Sequence[str], int],
    *,
    labels: Optional[Dict[str, str]] = None,
    time_nanos: int = 1_000_000_000,
    duration_nanos: int = 1_000_000_000,
    comments: Sequence[str] = (),
) -> Profile:
    """Return a CPU profile: each stack (leaf first, names) gets ``n`` samples of 10 ms."""
    b = ProfileBuilder(
        CPU_TYPES, period_type=("cpu", "nanoseconds"), period=10_000_000,
        default_sample_type="cpu", comments=comments, mapping_filename="/usr/bin/python3",
    )
    for stack, n in stacks.items():
        frames = [FrameKey(name, f"{name.split('.')[0]}.py", 10, 1) for name in stack]
        b.add(frames, [n, n * 10_000_000], labels=labels)
    return b.build(duration_nanos=duration_nanos, time_nanos=time_nanos)


def totals(p: Profile) -> list:
    """Return the total of every sample type."""
    return [p.total(i) for i in range(len(p.sample_types))]


def by_stack(p: Profile) -> dict:
    """Return {(stack names leaf first, sorted labels): values} (sums duplicates)."""
    out: dict = {}
    for s in p.samples:
        key = (
            tuple(ln.function.name for loc in s.locations for ln in loc.lines),
            tuple(sorted((k, tuple(v)) for k, v in s.labels.items())),
        )
        prev = out.get(key, [0] * len(s.values))
        out[key] = [a + b for a, b in zip(prev, s.values)]
    return {k: v for k, v in out.items() if any(v)}
