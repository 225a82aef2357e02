"""The one-way data flow of docs/ARCHITECTURE.md, checked on every import statement.

Lower layers never import higher ones: ``model`` imports nothing of profkit; collectors
and importers only the model; nothing imports the edge (cli, endpoints, integrations).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Set

PKG = Path(__file__).resolve().parents[2] / "profkit"

ALLOWED: Dict[str, Set[str]] = {
    "model": set(),
    "errors": {"model"},
    "options": {"errors"},
    "importers": {"model", "errors"},
    "load": {"model", "importers", "errors"},
    "collect": {"model", "errors", "importers"},  # collect.pyspy reads py-spy's speedscope file
    "cpu": {"collect", "model", "errors"},
    "analysis": {"model", "errors", "options"},
    "report": {"analysis", "model", "errors", "options", "load", "importers", "collect"},  # pid:N
    "views": {"report", "analysis", "model", "errors", "options"},
    "render": {"report", "views", "analysis", "model", "errors", "options"},
    "bench": {"report", "analysis", "views", "render", "model", "errors", "options", "load", "collect"},
    "endpoints": {"report", "importers", "collect", "analysis", "views", "render", "model", "errors", "options", "load"},
    "integrations": {"endpoints", "bench", "collect", "analysis", "views", "model", "errors", "options"},
    "viewer": {"report", "views", "render", "analysis", "model", "errors", "options", "load", "bench"},
}
EDGE = {"cli", "endpoints", "integrations", "viewer", "__main__"}


def _layer_imports() -> Dict[str, Set[str]]:
    found: Dict[str, Set[str]] = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).with_suffix("").parts
        layer = rel[0]
        if layer == "__init__":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                parts = name.split(".")
                if parts[0] == "profkit" and len(parts) > 1 and parts[1] != layer:
                    found.setdefault(layer, set()).add(parts[1])
    return found


def test_layers_import_only_downward() -> None:
    found = _layer_imports()
    assert "model" not in found, f"profkit.model imports {found.get('model')}"
    for layer, targets in found.items():
        if layer in ALLOWED:
            extra = targets - ALLOWED[layer]
            assert not extra, f"profkit.{layer} imports {sorted(extra)}"


def test_nothing_imports_the_edge() -> None:
    for layer, targets in _layer_imports().items():
        if layer not in EDGE:
            assert not (targets & EDGE), f"profkit.{layer} imports the edge: {targets & EDGE}"
