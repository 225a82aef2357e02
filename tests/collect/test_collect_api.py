"""The convenience API ``profkit.cpu`` and the light ``import profkit``."""

from __future__ import annotations

import subprocess
import sys

from collect_workloads import func_a

from profkit.model import check_valid


def test_profkit_cpu_start_stop() -> None:
    import profkit

    profkit.cpu.start(rate_hz=200)
    assert profkit.cpu.is_running()
    func_a(0.1)
    p = profkit.cpu.stop()
    check_valid(p)
    assert not profkit.cpu.is_running()
    assert p.total(1) > 0
    from profkit import cpu

    with cpu.profile(mode="wall") as prof:
        func_a(0.05)
    assert prof.profile is not None and prof.profile.sample_types[1].type == "wall"


def test_import_profkit_is_lazy() -> None:
    code = "import sys, profkit; print(sorted(m for m in sys.modules if m.startswith('profkit')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['profkit']"
