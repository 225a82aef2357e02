"""Module names derived from file paths: the table in docs/FORMATS.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from profkit.importers._common import module_from_path, python_frame_name


@pytest.mark.parametrize(
    "filename, module",
    [
        ("app/main.py", "app.main"),
        ("./app/main.py", "app.main"),
        ("/usr/lib/python3.11/json/decoder.py", "json.decoder"),
        ("/venv/lib/python3.11/site-packages/requests/api.py", "requests.api"),
        ("/usr/lib/python3/dist-packages/yaml/__init__.py", "yaml"),
        ("pkg/__init__.py", "pkg"),
        ("<frozen importlib._bootstrap>", "importlib._bootstrap"),
        ("<string>", "string"),
        ("C:\\proj\\lib\\site-packages\\req\\api.py", "req.api"),
        ("/nowhere/on/this/machine/tool.py", "tool"),
    ],
)
def test_module_from_path(filename: str, module: str) -> None:
    assert module_from_path(filename) == module


def test_absolute_path_uses_packages_on_disk(tmp_path: Path) -> None:
    pkg = tmp_path / "proj" / "pkg" / "sub"
    pkg.mkdir(parents=True)
    (tmp_path / "proj" / "pkg" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    assert module_from_path(str(pkg / "mod.py")) == "pkg.sub.mod"


@pytest.mark.parametrize(
    "name, filename, expected",
    [
        ("<module>", "app/main.py", "app.main.<module>"),
        ("main.<locals>.<lambda>", "app/main.py", "app.main.main.<locals>.<lambda>"),
        ("<module>", "", "?.<module>"),
        ("plain", "", "plain"),
        ("PyEval_EvalFrameDefault", "libpython3.11.so.1.0", "PyEval_EvalFrameDefault"),
    ],
)
def test_python_frame_name(name: str, filename: str, expected: str) -> None:
    assert python_frame_name(name, filename) == expected
