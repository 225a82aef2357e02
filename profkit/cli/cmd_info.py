"""``profkit info FILE``: sample types, totals, duration and object counts."""

from __future__ import annotations

import argparse

NAME = "info"
HELP = "show a profile's sample types, totals, duration and counts"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    p.add_argument("file", help="profile file (pprof .pb.gz, or any importable format)")
    p.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    """Print the summary of one profile."""
    import json

    from profkit.load import load_any

    p = load_any(args.file)
    totals = {st.type: p.total(i) for i, st in enumerate(p.sample_types)}
    info: dict[str, object] = {
        "sample_types": [f"{st.type}/{st.unit}" for st in p.sample_types],
        "default_sample_type": p.sample_types[p.sample_index()].type if p.sample_types else "",
        "period_type": str(p.period_type) if p.period_type else "",
        "period": p.period,
        "time_nanos": p.time_nanos,
        "duration_nanos": p.duration_nanos,
        "totals": totals,
        "samples": len(p.samples),
        "locations": len(p.locations),
        "functions": len(p.functions),
        "mappings": len(p.mappings),
        "comments": p.comments,
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    from profkit.render.termsafe import term_safe

    for k, v in info.items():  # lists print as repr; strings from the profile are escaped
        if k != "totals":
            print(term_safe(f"{k}: {v}"))
    for t, total in totals.items():
        print(term_safe(f"total {t}: {total}"))
    return 0
