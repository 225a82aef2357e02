"""`make demo`: the main job on a bundled example (grows as profkit grows)."""

from __future__ import annotations

import sys
from pathlib import Path

from profkit.cli import main

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"

if __name__ == "__main__":
    sample = CORPUS / "sample.cpu"
    if not sample.exists():
        print(f"demo: {sample} not found (the shared corpus sits beside the checkout)")
        sys.exit(1)
    code = main(["info", str(sample)])
    if code == 0:
        print()
        code = main(["top", "-n", "10", str(sample)])
    sys.exit(code)
