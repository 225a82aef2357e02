"""Where the worker agents of one gunicorn/uvicorn master listen, and who is a worker.

``socket_dir(master_pid)`` is ``$XDG_RUNTIME_DIR/profkit/<master-pid>/`` (when that
variable names a directory) or ``/tmp/profkit-<uid>/<master-pid>/``; every level is
created with mode 0700 and checked with ``lstat`` (a directory, not a symlink, owned by
this user, no group or other bits), else OSError. See ``profkit.endpoints.workers``.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

SERVERS = ("gunicorn", "uvicorn")


def is_server_worker() -> bool:
    """Return whether this process is a worker of a gunicorn or uvicorn master.

    True when the server's package is imported here and the parent process runs it
    (``gunicorn ...``, ``python -m uvicorn ...``): read from ``/proc/<ppid>/cmdline``.
    """
    if not any(name in sys.modules for name in SERVERS):
        return False
    try:
        argv = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().split(b"\x00")
    except OSError:
        return False
    words = [os.path.basename(a.decode("utf-8", "replace")) for a in argv[:3]]
    return any(w in SERVERS for w in words)


def _private_dir(path: Path) -> Path:
    """Create ``path`` with mode 0700 if absent; raise OSError unless it is ours and private."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise OSError(f"{path} is not a private directory of this user (mode 0700)")
    return path


def socket_dir(master_pid: int) -> Path:
    """Return (creating safely) the private directory of ``master_pid``'s worker sockets."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isdir(runtime):
        base = _private_dir(Path(runtime) / "profkit")
    else:
        base = _private_dir(Path("/tmp") / f"profkit-{os.getuid()}")
    return _private_dir(base / str(master_pid))


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed but not yet reaped by its master, does not)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat_line.rsplit(")", 1)[-1].split()[:1] != ["Z"]
