"""``build(request) -> Report``: load, merge, diff, filter once; every output renders that.

The steps, in pprof's order (``internal/driver``): load and merge the sources;
subtract or diff the bases (``-base`` / ``-diff_base``, with ``-normalize``); for
``raw``, sum equal samples and drop zero ones as pprof's load merge does; drop
the profile's own ``drop_frames`` (``RemoveUninteresting``, unless
``all_frames``); add the ``tagroot``/``tagleaf`` pseudo frames; resolve the sample
index; compute the total, the 100 % denominator, *before* filtering (the sum of
|value|, or of the diff-base samples' |value| for a diff; with ``mean``, divided by
the same sum of the first value, the count) unless ``relative_percentages``, which
computes it *after*; then apply the filters of ``request.options`` in pprof's
``applyFocus`` order. The result is a ``Report``: the filtered StackTable plus what
every renderer needs around it. Granularity, node limits, ``drop_negative``,
``unit`` and ``divide_by`` are the views' and renderers' business, as they are
pprof's graph's and report's (``Report.mean_index``, ``options.ratio``).

A single pprof file with no base takes the fast path (no Python object per
sample). When the request wants the filtered ``Profile`` (``-o FILE``, proto
output), it is built too, from the table after every filter (pseudo frames,
drop_frames, tagshow/taghide included) but before ``noinlines``, as pprof's
``-proto`` (``profkit.analysis.pipeline.profile_of``). Errors are ProfkitError with one line naming the input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

from profkit.analysis import kernels
from profkit.analysis.filter import filter_table
from profkit.analysis.labelframes import add_label_frames, split_keys
from profkit.analysis.sample_merge import merge_samples
from profkit.analysis.stacks import StackTable, from_profile
from profkit.errors import IncompatibleProfilesError, InputError, ProfileFormatError
from profkit.model.profile import Profile, ValueType
from profkit.report.request import ReportRequest
from profkit.report.sources import (
    Fetch,
    describe,
    is_local,
    load_merged,
    load_table,
    without_dropped_frames,
)

__all__ = ["MERGED_KINDS", "Report", "build", "total_of"]


@dataclass
class Report:
    """A built report: the filtered samples and what renderers print around them.

    Attributes:
        request: what was asked.
        table: the samples left after every filter (never modified; views derive).
        sample_index: the resolved sample type index.
        total: the 100 % denominator (see module doc).
        is_diff: whether the samples hold diff-base samples (``pprof::base``).
        profile: the filtered Profile when ``request.want_profile``, else None.
        unfiltered: the table before filtering (reports that compare against it).
        mean_index: with ``mean``, the sample index of the divisor (0, the count:
            pprof divides each node's value by its sum of it); else None.
        loaded: for ``MERGED_KINDS`` (raw), the table as pprof holds it after loading:
            merged (``sample_merge``), before drop_frames and tagroot/tagleaf frames
            (pprof numbers the raw report's locations by it); else None.
    """

    request: ReportRequest
    table: StackTable
    sample_index: int
    total: int
    is_diff: bool
    unfiltered: StackTable
    profile: Optional[Profile] = None
    mean_index: Optional[int] = None
    loaded: Optional[StackTable] = None

    @property
    def sample_type(self) -> ValueType:
        """The sample type (type and unit) the report's values are in (``mean_T``)."""
        st = self.table.sample_types[self.sample_index]
        return ValueType("mean_" + st.type, st.unit) if self.mean_index is not None else st

    @property
    def source_names(self) -> List[str]:
        """The inputs' names, for headers and error messages."""
        return [describe(s) for s in self.request.sources]


def go_div(a: int, b: int) -> int:
    """Integer division truncating toward zero, as Go's ``/`` on int64."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def total_of(t: StackTable, si: int, mean_index: Optional[int] = None) -> Tuple[int, bool]:
    """Return (pprof's total of sample value ``si``, whether ``t`` is a diff).

    With ``mean_index``, the total is divided by the sum of that value over the
    same samples (pprof's ``computeTotal`` with a mean divisor).
    """
    mi = si if mean_index is None else mean_index
    fast = kernels.totals(t.values, t.base, si, mi)
    if fast is not None:
        total, div, diff_total, diff_div, any_base = fast
    else:  # no C kernels, or a sum passes int64: Python's ints
        total, div, diff_total, diff_div, any_base = _python_totals(t, si, mi)
    if diff_total > 0:
        total, div = diff_total, diff_div
    if mean_index is not None and div != 0:
        total = go_div(total, div)
    return total, any_base


def _python_totals(t: StackTable, si: int, mi: int) -> Tuple[int, int, int, int, bool]:
    total = diff_total = div = diff_div = 0
    any_base = False
    for vals, base in zip(t.values, t.base):
        v = abs(vals[si])
        d = vals[mi]
        total += v
        div += d
        if base:
            diff_total += v
            diff_div += d
            any_base = True
    return total, div, diff_total, diff_div, any_base


#: Reports that print samples one by one as pprof holds them: for these the loaded
#: table gets pprof's load merge before anything changes stacks (``sample_merge``).
MERGED_KINDS = frozenset({"raw"})

Loaded = Tuple[StackTable, Optional[Profile], Optional[StackTable]]


def _with_message(table: StackTable, path: str) -> StackTable:
    """Return ``table`` (read from the file ``path``) with its decoded pprof message:
    raw reads it for addresses and mappings and the driver for the profile's own
    drop/keep frames. A table read without one (not by ``from_message``) gets it
    decoded here, which raw would do anyway; ``table`` when the file is not pprof."""
    if table.message is not None:
        return table
    from dataclasses import replace

    from profkit.model.codec import decode, read_bytes

    try:
        msg = decode(read_bytes(path))
    except ProfileFormatError:
        return table  # another format: no drop_frames of its own
    return replace(table, message=msg) if msg.sample_type and msg.string_table else table


def _load(request: ReportRequest) -> Loaded:
    """Return (the table after the profile's drop_frames, the loaded Profile if one was
    built, the table before drop_frames: only for ``MERGED_KINDS``, then both tables
    had pprof's load merge)."""
    with_labels = request.needs_labels() or request.want_profile  # -o keeps the labels
    merged = request.kind in MERGED_KINDS
    all_frames = request.options.all_frames
    sources = request.sources
    single_file = len(sources) == 1 and is_local(sources[0])
    fetch = Fetch(request.seconds, request.timeout, request.progress)
    if single_file and not request.bases and not request.want_profile:
        table = load_table(sources[0], with_labels=with_labels,  # type: ignore[arg-type]
                           all_frames=all_frames or merged)
        if not merged:
            return table, None, None
        loaded = merge_samples(_with_message(table, sources[0]))  # type: ignore[arg-type]
        msg = loaded.message
        if all_frames or msg is None or not msg.drop_frames:
            return loaded, None, loaded
        st = msg.string_table
        return without_dropped_frames(loaded, st[msg.drop_frames], st[msg.keep_frames]), \
            None, loaded
    bases = request.bases
    if single_file and len(bases) == 1 and is_local(bases[0]) and not request.want_profile:
        from profkit.analysis.table_merge import diff_files  # no Profile objects (fast)

        fast = diff_files(sources[0], bases[0], subtract=not request.diff_base,  # type: ignore[arg-type]
                          normalize=request.normalize, with_labels=with_labels,
                          all_frames=all_frames)
        if fast is not None:
            if merged:  # drop_frames came first here: samples equal only after it merge
                fast = merge_samples(fast)
                return fast, None, fast
            return fast, None, None
    profile = load_merged(sources, fetch=fetch)
    if request.bases:
        from profkit.analysis import diff, subtract
        from profkit.model.validate import check_int64

        base = load_merged(request.bases, role="the base", fetch=fetch)
        base_name = ", ".join(describe(s) for s in request.bases)
        try:
            if request.diff_base:
                profile = diff(base, profile, normalize=request.normalize)
            else:
                profile = subtract(profile, base, normalize=request.normalize)
        except IncompatibleProfilesError as e:
            names = ", ".join(describe(s) for s in sources)
            raise IncompatibleProfilesError(f"{base_name}: {e} (the base of {names})") from None
        check_int64(profile, "difference")
    table = from_profile(profile, with_labels=with_labels)
    kept_loaded: Optional[StackTable] = None
    if merged:
        table = kept_loaded = merge_samples(table)
    if not all_frames:
        table = without_dropped_frames(table, profile.drop_frames, profile.keep_frames)
    return table, profile, kept_loaded


def _without_inlines(t: StackTable) -> StackTable:
    out = t.with_samples(range(len(t.stacks)), t.stacks)
    out.loc_lines = {lid: lines[-1:] for lid, lines in t.loc_lines.items()}
    return out


def build(request: ReportRequest) -> Report:
    """Return the Report of ``request`` (see module doc); inputs are not modified.

    Raises:
        InputError: an unknown sample index, a bad filter.
        ProfileFormatError / IncompatibleProfilesError: an input at fault (named).
    """
    table, profile, loaded = _load(request)
    options = request.options
    if options.tagroot or options.tagleaf:
        table = add_label_frames(
            table, split_keys(options.tagroot), split_keys(options.tagleaf), options.unit
        )
    try:
        si = table.sample_index(options.sample_index or None)
    except KeyError as e:
        raise InputError(str(e.args[0])) from None
    mean_index = 0 if options.mean else None
    try:
        filtered = filter_table(table, options)
    except ProfileFormatError as e:
        names = ", ".join(describe(s) for s in request.sources)
        raise ProfileFormatError(f"{names}: {e}") from None
    selected = filtered
    if options.noinlines:  # pprof's aggregate(inlines=false): a location is its outermost line
        filtered = _without_inlines(filtered)
    # pprof: report.New computes the total before applyFocus, or after it with -rel.
    total, is_diff = total_of(filtered if options.relative_percentages else table, si,
                              mean_index)
    if options.relative_percentages:
        is_diff = total_of(table, si)[1]
    kept: Optional[Profile] = None
    if request.want_profile and profile is not None:
        from profkit.analysis.pipeline import profile_of

        kept = profile_of(profile, selected)  # pprof's -proto: no noinlines, no granularity
    return Report(request, filtered, si, total, is_diff, table, kept, mean_index, loaded)
