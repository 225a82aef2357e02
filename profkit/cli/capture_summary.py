"""Print what a freshly captured profile shows: the top functions by flat value."""

from __future__ import annotations

from profkit.model import Profile


def print_top(profile: Profile, count: int) -> None:
    """Print pprof's ``top`` (``count`` rows) of ``profile``'s default sample type."""
    from profkit.options import ViewOptions
    from profkit.render.text import render_top
    from profkit.views.top import top

    print(render_top(top(profile, ViewOptions(nodecount=count))))
