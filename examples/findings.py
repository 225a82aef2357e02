"""What the demo's profiles show, computed from the profiles, and whether it is what the demo claims.

``find(profile, sample_type)`` attributes every sample to its innermost function of the
book-swap app (``bookswap.*``; list comprehensions and generator expressions count as
the function that contains them, as Python 3.12 inlines them anyway) and returns the
function with the largest value, its share of the profile and the route most of that
value runs for: the sample's ``route`` label where the collector records labels (CPU),
else the URL rule of the Flask view function found in the stack (heap and lock
profiles carry no request labels). ``check(finding, claim)`` returns a one-line complaint when the
profile does not show what ``CLAIMS`` says it shows, else None. The explanations are
keyed by the function found, so a profile that changed shape is reported as found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Mapping, Optional

from profkit.model import Profile
from profkit.model.profile import Sample

APP = "bookswap."
NO_APP = "(no app frames)"
NO_ROUTE = "(no route label)"
_NESTED = re.compile(r"(\.<locals>\.<(?:listcomp|genexpr|dictcomp|setcomp)>)+$")

EXPLANATIONS: Dict[str, str] = {
    "bookswap.app.edit_distance":
        "scores every title with a pure-Python edit distance instead of using an index",
    "bookswap.app.Library.recommend":
        "rebuilds its co-reader table from the whole swap history on every call",
    "bookswap.app.Library.swap":
        "holds the one ledger lock during a slow audit, so concurrent swaps queue up",
    "bookswap.app.audit_ledger":
        "the audit itself, run while the ledger lock is held",
}


@dataclass(frozen=True)
class Claim:
    """What the demo says a profile shows: the app function on top and its route."""

    function: str
    route: str


@dataclass(frozen=True)
class Finding:
    """The app function with the largest value in one profile, computed from its samples."""

    sample_type: str
    function: str
    share: float  # of the whole profile, server frames included
    route: str
    route_share: float  # of the function's own value
    runner_up: str = ""
    runner_up_share: float = 0.0

    def describe(self) -> str:
        """Two lines: function, share and route; what it means (when known) and the runner-up."""
        why = EXPLANATIONS.get(self.function, "no explanation on file for this function")
        next_one = (f" (next: {self.runner_up}, {self.runner_up_share:.0%})"
                    if self.runner_up else "")
        return (f"{self.function} ({self.share:.0%} of {self.sample_type}), "
                f"{self.route_share:.0%} of it on {self.route}{next_one}\n  -> {why}")


CLAIMS: Dict[str, Claim] = {
    "cpu": Claim("bookswap.app.edit_distance", "/search"),
    "alloc_space": Claim("bookswap.app.Library.recommend", "/recommend/<user>"),
    "delay": Claim("bookswap.app.Library.swap", "/swap"),
}


def app_function(sample: Sample) -> Optional[str]:
    """Return the innermost ``bookswap.*`` function of ``sample``'s stack (leaf first), or None."""
    for loc in sample.locations:
        for line in loc.lines:  # innermost (inlined) first, as in profile.proto
            name = line.function.name if line.function is not None else ""
            if name.startswith(APP):
                return _NESTED.sub("", name)
    return None


VIEW = "bookswap.app.create_app.<locals>."


def view_routes() -> Dict[str, str]:
    """Return the book-swap app's URL rules by view function name (``swap`` -> ``/swap``)."""
    from bookswap.app import create_app

    return {rule.endpoint: rule.rule for rule in create_app(profiling=False).url_map.iter_rules()}


def route_of(sample: Sample, routes: Mapping[str, str]) -> str:
    """Return ``sample``'s route label, else the rule of the view function in its stack."""
    labelled = sample.labels.get("route")
    if labelled:
        return labelled[0]
    for loc in sample.locations:
        for line in loc.lines:
            name = line.function.name if line.function is not None else ""
            if name.startswith(VIEW) and name[len(VIEW):] in routes:
                return routes[name[len(VIEW):]]
    return NO_ROUTE


def find(profile: Profile, sample_type: str, routes: Optional[Mapping[str, str]] = None) -> Finding:
    """Return the app function carrying the most ``sample_type`` value in ``profile``.

    ``routes`` maps view function names to URL rules (default: ``view_routes()``).
    """
    routes = view_routes() if routes is None else routes
    idx = profile.sample_index(sample_type)
    total = sum(abs(s.values[idx]) for s in profile.samples)
    by_function: Dict[str, int] = {}
    by_route: Dict[str, Dict[str, int]] = {}
    for s in profile.samples:
        fn = app_function(s)
        if fn is None:
            continue
        by_function[fn] = by_function.get(fn, 0) + s.values[idx]
        route = route_of(s, routes)
        per_route = by_route.setdefault(fn, {})
        per_route[route] = per_route.get(route, 0) + s.values[idx]
    if not by_function:
        return Finding(sample_type, NO_APP, 0.0, NO_ROUTE, 0.0)
    ranked = sorted(sorted(by_function), key=lambda f: -by_function[f])
    best = ranked[0]
    route = max(sorted(by_route[best]), key=lambda r: by_route[best][r])
    value = by_function[best]
    second = ranked[1] if len(ranked) > 1 else ""
    return Finding(sample_type, best, value / total if total else 0.0, route,
                   by_route[best][route] / value if value else 0.0,
                   second, by_function[second] / total if second and total else 0.0)


def check(finding: Finding, claim: Claim) -> Optional[str]:
    """Return why ``finding`` contradicts ``claim`` (one line), or None when it agrees."""
    if (finding.function, finding.route) == (claim.function, claim.route):
        return None
    return (f"the {finding.sample_type} profile does not show what the demo claims: expected "
            f"{claim.function} on {claim.route}, found {finding.function} on {finding.route}")
