"""Export a profile as collapsed ("folded") stacks: ``root;caller;leaf VALUE`` per line.

One line per distinct stack of function names (inlined frames expanded, the
caller first), with the chosen sample type's values summed and samples whose value
is 0 left out; lines are sorted, so output is deterministic. ``thread_id`` /
``thread_name`` labels become a root pseudo-frame ``thread (ID): NAME`` as py-spy
writes it with ``--threads`` (the importer turns it back into the labels). ``;`` inside a name
becomes ``:`` and line breaks become spaces, since the format cannot escape them.
Readers: flamegraph.pl, inferno, speedscope, ``profkit convert``.

The format has no place for a sample type: readers take the numbers as sample
counts (py-spy writes counts; ``profkit convert`` reads them back as
``samples/count``). So ``default_index`` picks ``samples/count`` when the profile
has it, and the profile's default type otherwise.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

from profkit.model.profile import Location, Profile, Sample


def location_names(loc: Location) -> List[str]:
    """Return the function names at ``loc``, caller first (inlined callees after it)."""
    if not loc.lines:
        return [f"0x{loc.address:x}" if loc.address else "(unknown)"]
    return [ln.function.name or "(unknown)" for ln in reversed(loc.lines)]


def root_first_names(sample: Sample) -> List[str]:
    """Return the names of ``sample``'s stack from the root to the leaf."""
    names: List[str] = []
    for loc in reversed(sample.locations):
        names.extend(location_names(loc))
    return names


def thread_of(sample: Sample) -> Tuple[str, str]:
    """Return (thread id, thread name) from the ``thread_id``/``thread_name`` labels."""
    tid = sample.labels.get("thread_id") or [""]
    name = sample.labels.get("thread_name") or [""]
    return tid[0], name[0]


def default_index(profile: Profile) -> int:
    """Return the sample type written by default: ``samples/count`` if present, else the default.

    Folded stacks are counts by convention, so a CPU profile exports its sample
    counts, not nanoseconds that a reader would take for counts. Raises KeyError
    (one-line message) if the profile has no sample types.
    """
    for i, st in enumerate(profile.sample_types):
        if st.type == "samples" and st.unit == "count":
            return i
    return profile.sample_index(None)


def _clean(name: str) -> str:
    return name.replace(";", ":").replace("\r", " ").replace("\n", " ")


def render(profile: Profile, sample_index: int) -> str:
    """Return ``profile``'s values at ``sample_index`` as collapsed-stack text.

    ``profile`` is not modified. Raises IndexError if ``sample_index`` is out of range.
    """
    if not 0 <= sample_index < len(profile.sample_types):
        raise IndexError(f"sample index {sample_index} out of range")
    totals: Dict[Tuple[str, ...], int] = {}
    for s in profile.samples:
        value = s.values[sample_index]
        if value == 0:
            continue
        frames = [_clean(n) for n in root_first_names(s)] or ["(no frames)"]
        tid, tname = thread_of(s)
        if tid or tname:
            tid = tid.replace("(", "[").replace(")", "]")
            frames.insert(0, f"thread ({_clean(tid)}): {_clean(tname)}" if tname else
                          f"thread ({_clean(tid)})")
        key = tuple(frames)
        totals[key] = totals.get(key, 0) + value
    lines = [f"{';'.join(k)} {v}" for k, v in sorted(totals.items()) if v != 0]
    return "\n".join(lines) + ("\n" if lines else "")
