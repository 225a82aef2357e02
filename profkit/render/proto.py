"""The filtered profile as pprof (gzip'd ``profile.proto``): ``-o FILE`` and downloads.

What is written is what ``go tool pprof -proto`` writes with the same options:
the request's filters applied to the merged (and diffed) inputs, tagroot/tagleaf
pseudo frames and tagshow/taghide included, with neither granularity nor
``noinlines`` (pprof forces address granularity with inlines for ``-proto``; see
``profkit.analysis.pipeline``), and ``divide_by`` applied to every value of every
sample as pprof's ``printProto`` does: ``int64(float64(v) * (1/divide_by))``,
truncated toward zero, only when that ratio is positive and not 1; samples left
all zero are kept.
"""

from __future__ import annotations

from dataclasses import replace

from profkit.model.profile import Profile
from profkit.report import Report

__all__ = ["render", "scaled"]


def scaled(profile: Profile, ratio: float) -> Profile:
    """Return ``profile`` with values scaled as pprof's ``printProto`` (module doc).

    The input is not modified; the result shares its locations, mappings and
    functions (samples are new objects) and is ``profile`` itself for no scaling.
    """
    if not ratio > 0 or ratio == 1:
        return profile
    samples = [replace(s, values=[int(float(v) * ratio) for v in s.values])
               for s in profile.samples]
    return replace(profile, samples=samples)


def render(report: Report) -> bytes:
    """Return the filtered profile serialized (the driver built it: ``needs_profile``)."""
    from profkit.model.codec import serialize

    if report.profile is None:
        raise ValueError("the report was built without its profile (want_profile)")
    return serialize(scaled(report.profile, report.request.options.ratio))
