"""``profkit run``: the program runs as __main__, exit codes pass through, profiles land."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from profkit.model import check_valid, load

SCRIPT = """
import json, os, sys, threading, time
start = time.process_time()

def work(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass

t = threading.Thread(target=work, args=(0.3,))
t.start()
square = lambda: work(0.3)
square()
t.join()
with open(os.environ["OUT"], "w") as f:
    json.dump({"argv": sys.argv, "name": __name__, "cpu": time.process_time() - start,
               "file": __file__, "path0": sys.path[0]}, f)
mode = sys.argv[1] if len(sys.argv) > 1 else ""
if mode == "raise":
    raise ValueError("boom")
if mode == "exit":
    sys.exit(3)
if mode == "_exit":
    sys.stdout.flush()
    os._exit(4)
if mode == "fork":
    if os.fork() == 0:
        time.sleep(1.0)  # outlive the parent, then leave through profkit run's code path
        sys.exit(0)
    work(0.1)
if mode == "spin":
    open(os.environ["OUT"] + ".ready", "w").close()
    while True:
        work(0.01)
"""


def _profkit(*args: str, env: dict, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "profkit", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def script(tmp_path: Path) -> Path:
    p = tmp_path / "app.py"
    p.write_text(SCRIPT)
    return p


def _env(tmp_path: Path) -> dict:
    return dict(os.environ, OUT=str(tmp_path / "out.json"))


@pytest.mark.parametrize(
    "mode,code", [("", 0), ("raise", 1), ("exit", 3), ("_exit", 4), ("fork", 0)]
)
def test_exit_code_passes_through_and_profiles_are_written(
    script: Path, tmp_path: Path, mode: str, code: int
) -> None:
    cpu, wall = tmp_path / "cpu.pb.gz", tmp_path / "wall.pb.gz"
    args = ["run", "--cpu", str(cpu), "--wall", str(wall), "--", "python", str(script)]
    proc = _profkit(*args, *([mode] if mode else []), env=_env(tmp_path), cwd=tmp_path)
    assert proc.returncode == code, proc.stderr
    seen = json.loads((tmp_path / "out.json").read_text())
    assert seen["name"] == "__main__"
    assert seen["argv"] == [str(script), *([mode] if mode else [])]
    for path, kind in ((cpu, "cpu"), (wall, "wall")):
        p = load(path)
        check_valid(p)
        assert p.sample_types[1].type == kind and p.duration_nanos > 0
        assert p.total(1) > 0
    if mode == "fork":  # the parent's profile, not one the child wrote over it
        assert load(cpu).total(1) > 0.5e9
    if mode == "raise":
        assert "ValueError: boom" in proc.stderr and "app.py" in proc.stderr
        assert "runpy" not in proc.stderr
    else:
        assert proc.stderr == ""  # quiet when stderr is not a terminal


def test_module_mode(tmp_path: Path) -> None:
    (tmp_path / "mymod.py").write_text(SCRIPT)
    cpu = tmp_path / "cpu.pb.gz"
    proc = _profkit(
        "run",
        "--cpu",
        str(cpu),
        "--",
        "-m",
        "mymod",
        "x",
        env=_env(tmp_path),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads((tmp_path / "out.json").read_text())
    assert seen["name"] == "__main__" and seen["argv"][1:] == ["x"]
    names = {loc.lines[0].function.name for s in load(cpu).samples for loc in s.locations}
    assert "__main__.work" in names


PROFKIT_DIR = str(Path(__import__("profkit").__file__).parent)
LAUNCHERS = {
    "python -m profkit": [sys.executable, "-m", "profkit"],
    "console script": [str(Path(sys.executable).parent / "profkit")],
}


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_stacks_start_at_the_programs_module_with_no_launcher_frames(
    script: Path, tmp_path: Path, launcher: str
) -> None:
    cmd = LAUNCHERS[launcher]
    if not os.path.exists(cmd[0]):
        pytest.skip(f"{cmd[0]} is not installed")
    cpu, wall = tmp_path / "cpu.pb.gz", tmp_path / "wall.pb.gz"
    run = [*cmd, "run", "--cpu", str(cpu), "--wall", str(wall), "--", "python", "app.py"]
    proc = subprocess.run(
        run, capture_output=True, text=True, env=_env(tmp_path), cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    for path in (cpu, wall):
        p = load(path)
        main = [s for s in p.samples if s.labels["thread_name"] == ["MainThread"]]
        assert main, path
        for s in p.samples:
            files = [loc.lines[0].function.filename for loc in s.locations]
            leaked = [f for f in files if f.startswith(PROFKIT_DIR) or f == cmd[0]]
            assert not leaked, (path, files)
        for s in main:
            root = s.locations[-1].lines[0].function
            assert (root.name, root.filename) == ("__main__.<module>", str(script)), path
            names = [loc.lines[0].function.name for loc in s.locations]
            assert names.count("__main__.<module>") == 1, names


def test_file_is_absolute_argv_as_given_path0_is_the_scripts_dir(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "app.py").write_text(SCRIPT)
    cpu = tmp_path / "cpu.pb.gz"
    proc = _profkit(
        "run", "--cpu", str(cpu), "--", "python", "sub/app.py", env=_env(tmp_path), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads((tmp_path / "out.json").read_text())
    assert seen["file"] == str(tmp_path / "sub" / "app.py")  # as python sub/app.py gives
    assert seen["argv"] == ["sub/app.py"]
    assert seen["path0"] == str(tmp_path / "sub")


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_still_write_the_profile(
    script: Path, tmp_path: Path, signum: int, code: int
) -> None:
    cpu = tmp_path / "cpu.pb.gz"
    proc = subprocess.Popen(
        [sys.executable, "-m", "profkit", "run", "--cpu", str(cpu), "--", str(script), "spin"],
        env=_env(tmp_path),
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready = tmp_path / "out.json.ready"
    deadline = time.monotonic() + 60
    while not ready.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert ready.exists()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert load(cpu).total(1) > 0


def _pprof_total_ns(top: str) -> float:
    m = re.search(r"Total samples = ([\d.]+)(ms|s|us|µs|ns|mins|hrs)", top)
    assert m, top
    scale = {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, "mins": 60e9, "hrs": 3600e9}
    return float(m.group(1)) * scale[m.group(2)]


@pytest.mark.go
def test_cpu_total_in_go_pprof_matches_measured_cpu(script: Path, tmp_path: Path, go_pprof) -> None:  # type: ignore[no-untyped-def]
    cpu = tmp_path / "cpu.pb.gz"
    proc = _profkit("run", "--cpu", str(cpu), "--", str(script), env=_env(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    measured_ns = json.loads((tmp_path / "out.json").read_text())["cpu"] * 1e9
    top = go_pprof("-top", str(cpu)).stdout
    assert abs(_pprof_total_ns(top) - measured_ns) < 0.10 * measured_ns, (top, measured_ns)
    # names that pprof would mangle survive: module-level code and lambdas
    assert "__main__.<module>" in top and "__main__.<lambda>" in top
    assert "<unknown>" not in top
    assert "Type: cpu" in top


SH_SCRIPT = "#!/bin/sh\necho not python\n"


@pytest.mark.parametrize(
    "args,message",
    [
        (["run", "--", "app.py"], "no profile asked for"),
        (["run", "--cpu", "/nonexistent-dir/c.pb.gz", "--", "app.py"], "does not exist"),
        (["run", "--cpu", "c.pb.gz", "--", "missing.py"], "no such script: missing.py"),
        (["run", "--cpu", "c.pb.gz"], "nothing to run"),
        (["run", "--cpu", "c.pb.gz", "--rate", "0", "--", "app.py"], "--rate"),
        (["run", "--cpu", "c.pb.gz", "--rate", "0.5", "--", "app.py"], "between 1 and 10000"),
        (["run", "--cpu", "c.pb.gz", "--rate", "nan", "--", "app.py"], "--rate"),
        (["run", "--cpu", "c.pb.gz", "--max-depth", "0", "--", "app.py"], "--max-depth"),
        (["run", "--cpu", "c.pb.gz", "--max-depth", "-5", "--", "app.py"], "--max-depth"),
        # output files are checked before the program runs
        (["run", "--cpu", "/proc/c.pb.gz", "--", "app.py"], "cannot create files in /proc"),
        (["run", "--cpu", ".", "--", "app.py"], "is a directory"),
        (["run", "--cpu", "c.pb.gz", "--wall", "./c.pb.gz", "--", "app.py"], "--cpu and --wall"),
        (["run", "--wall", "c.pb.gz", "--heap", "c.pb.gz", "--", "app.py"], "--wall and --heap"),
        # programs that are not Python are refused, not run as Python
        (["run", "--cpu", "c.pb.gz", "--", "/bin/ls"], "/bin/ls is not a Python program"),
        (["run", "--cpu", "c.pb.gz", "--", "ls", "-l"], "is not a Python program"),
        (["run", "--cpu", "c.pb.gz", "--", "./tool.sh"], "a script for /bin/sh"),
    ],
)
def test_bad_usage_is_one_line_exit_2_before_the_program_runs(
    script: Path, tmp_path: Path, args: list, message: str
) -> None:
    (tmp_path / "tool.sh").write_text(SH_SCRIPT)
    (tmp_path / "tool.sh").chmod(0o755)
    proc = _profkit(*args, env=_env(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("profkit: ")
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "SyntaxError" not in proc.stderr
    assert not (tmp_path / "c.pb.gz").exists()
    assert not (tmp_path / "out.json").exists()  # the program did not run
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".profkit")] == []


def test_output_lost_during_the_run_is_one_line_naming_the_file_once(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    code = "import shutil; shutil.rmtree('d')"  # the program removes the output's directory
    proc = _profkit("run", "--cpu", "d/c.pb.gz", "--", "python", "-c", code, env=_env(tmp_path), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("profkit: d/c.pb.gz: cannot write (")
    assert lines[0].count("c.pb.gz") == 1, lines[0]


def test_the_program_starts_without_protobuf_or_http_client_loaded(tmp_path: Path) -> None:
    """profkit run's own imports are start-up cost and long-lived objects in the program's heap."""
    code = (
        "import sys; heavy = sorted(m for m in sys.modules if m.startswith("
        "('google.protobuf', 'urllib.request', 'profkit.endpoints', 'rich', 'importlib.metadata')));"
        "print(','.join(heavy))"
    )
    proc = _profkit("run", "--cpu", "c.pb.gz", "--", "python", "-c", code, env=_env(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", proc.stdout
    assert load(str(tmp_path / "c.pb.gz")).sample_types  # and the profile is still written


def test_python_zipapp_and_python_shebang_scripts_still_run(tmp_path: Path) -> None:
    import zipapp

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__main__.py").write_text(SCRIPT)
    zipapp.create_archive(tmp_path / "pkg", tmp_path / "app.pyz")
    shebang = tmp_path / "tool"
    shebang.write_text("#!/usr/bin/env python3\n" + SCRIPT)
    for target in (tmp_path / "app.pyz", shebang):
        cpu = tmp_path / "cpu.pb.gz"
        proc = _profkit(
            "run", "--cpu", str(cpu), "--", str(target), env=_env(tmp_path), cwd=tmp_path
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads((tmp_path / "out.json").read_text())["name"] == "__main__"
        (tmp_path / "out.json").unlink()


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pty")
def test_status_lines_on_a_terminal(script: Path, tmp_path: Path) -> None:
    master, slave = os.openpty()
    cpu = tmp_path / "cpu.pb.gz"
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "profkit", "run", "--cpu", str(cpu), "--", str(script)],
            stdout=subprocess.PIPE,
            stderr=slave,
            env=_env(tmp_path),
            cwd=tmp_path,
            timeout=120,
        )
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the other side is closed and drained
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    assert proc.returncode == 0
    text = b"".join(chunks).decode()
    assert f"profkit: profiling {script}" in text
    assert f"profkit: wrote {cpu}: " in text and " s cpu in " in text
