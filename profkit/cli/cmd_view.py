"""``profkit view FILE|URL [FILE...] [--base BASE...]``: the flame-graph viewer in a browser.

``profkit view --bench DIR [--base RUN] [--new RUN]`` shows a benchmark store instead
(``viewer.bench_app``): trends, change points, the compare table, diff flame graphs.

Several inputs merge (as in ``top``); ``--base`` makes every view a diff against
BASE (pprof's ``-diff_base``). A ``/debug/profile`` URL is captured first, with a
progress bar. The app binds 127.0.0.1 and serves loopback clients only unless
``--host`` is given; the default view is built before serving, so an input that
cannot be read is one line on stderr and exit 1, before any server starts.
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys
from typing import List

from profkit.report.request import Source

NAME = "view"
HELP = "open profiles in the flame-graph viewer (a local web app, like go tool pprof -http)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    p.add_argument("files", nargs="*", metavar="FILE|URL", help="profiles (merged if several)")
    p.add_argument("--base", "--diff-base", dest="base", action="append", default=[],
                   metavar="BASE", help="show the difference against BASE (pprof -diff_base); "
                                        "with --bench: the base run (default: the one before the last)")
    p.add_argument("--bench", metavar="DIR", default=None,
                   help="show the benchmark store DIR (pytest-benchmark .benchmarks/): trends, "
                        "change points, the compare table, diff flame graphs of regressions")
    p.add_argument("--new", dest="new_run", metavar="RUN", default=None,
                   help="with --bench: the new run (default: the last)")
    p.add_argument("--port", type=int, default=0, metavar="N",
                   help="port to listen on (default: a free one)")
    p.add_argument("--host", default=None, metavar="ADDRESS",
                   help="address to bind (default 127.0.0.1; giving one admits non-loopback clients)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--seconds", type=float, default=None,
                   help="for URL inputs: capture window (default 30 for cpu/wall)")


def resolve_sources(names: List[str], seconds: float | None) -> List[Source]:
    """Return the inputs: paths as they are, URLs captured into profiles (progress bar)."""
    out: List[Source] = []
    for name in names:
        if not name.startswith(("http://", "https://")):
            out.append(name)
            continue
        from profkit.cli.capture_url import build_target, check_profile, fetch_with_progress

        target = build_target(name, None, seconds)
        print(f"capturing {target.kind} from {target.url}", file=sys.stderr)
        body, ctype = fetch_with_progress(target, {}, show_bar=sys.stderr.isatty())
        out.append(check_profile(body, ctype, target.url))
    return out


def _listen(host: str, port: int) -> socket.socket:
    """Return a socket bound to ``host``:``port`` and listening.

    Raises InputError (one line) when the host does not resolve or the address cannot
    be bound (in use, not ours); werkzeug would print two lines of its own and exit.
    """
    from werkzeug.serving import select_address_family

    from profkit.errors import InputError

    try:  # the family werkzeug will give the socket it wraps around ours
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, select_address_family(host, port), socket.SOCK_STREAM,
            flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as e:
        raise InputError(f"--host {host}: cannot resolve it ({getattr(e, 'strerror', e)}): "
                         "give an address such as 127.0.0.1") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        sock.close()
        hint = "give another --port (0 picks a free one)" if e.errno == errno.EADDRINUSE else (
            "give another --host or --port")
        raise InputError(f"cannot listen on {host}:{port}: {e.strerror or e}: {hint}") from None
    return sock


def run(args: argparse.Namespace) -> int:
    """Check the inputs, start the app, open the browser, serve until interrupted."""
    import logging
    import webbrowser

    from werkzeug.serving import make_server

    from profkit.errors import CommandError, InputError
    from profkit.viewer import ViewerConfig, create_app
    from profkit.viewer.routes import warm

    if not 0 <= args.port <= 65535:
        raise InputError(f"--port {args.port}: use 0-65535 (0 picks a free port)")
    if args.bench is not None:
        from profkit.viewer.bench_app import create_bench_app
        from profkit.viewer.bench_data import load_store

        if args.files or len(args.base) > 1:
            raise CommandError("--bench DIR takes no FILE and at most one --base RUN "
                               "(see profkit view --help)", exit_code=2)
        store = load_store(args.bench, args.base[0] if args.base else None, args.new_run)
        app = create_bench_app(store, allow_remote=args.host is not None)
    elif not args.files or args.new_run is not None:
        raise CommandError("give FILE|URL to view, or --bench DIR (--new needs --bench)", exit_code=2)
    else:
        sources = resolve_sources(args.files, args.seconds)
        bases = resolve_sources(args.base, args.seconds)
        config = ViewerConfig(sources, bases, allow_remote=args.host is not None)
        app = create_app(config)
        warm(app)
    host = args.host or "127.0.0.1"
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    sock = _listen(host, args.port)
    try:
        server = make_server(host, args.port, app, threaded=True, fd=sock.fileno())
    finally:
        sock.close()  # the server holds its own duplicate of the socket
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{server.port}/"
    print(f"profkit view: serving {url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    if not args.no_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
