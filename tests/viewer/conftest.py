"""Shared fixtures of the viewer tests: test profiles (written once per session), a
real werkzeug server running the viewer app (one per module, port 0, loopback) and
one headless Chromium per module (Debian's /usr/bin/chromium via Playwright).

Under ``CI=true`` a missing Chromium fails the browser tests (``require_tool``).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import viewer_profiles  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="session")
def profiles(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """Paths of the test profiles (see viewer_profiles), written once."""
    d = tmp_path_factory.mktemp("viewer-profiles")
    out = {
        "labelled": viewer_profiles.write_labelled(d / "labelled.pb.gz"),
        "inlined": viewer_profiles.write_inlined(d / "inlined.pb.gz"),
        "numeric": viewer_profiles.write_numeric(d / "numeric.pb.gz"),
        "xss": viewer_profiles.write_xss(d / "xss.pb.gz"),
        "source": viewer_profiles.write_with_source(d),
    }
    pair = viewer_profiles.write_diff_pair(d / "base.pb.gz", d / "new.pb.gz")
    out.update(pair)
    return out


class Server:
    """A viewer app served by werkzeug in a thread; ``url(path)`` names its pages."""

    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server

        self._srv = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._srv.server_port
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self._srv.shutdown()
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def serve() -> Iterator[Callable[..., Server]]:
    """Yield ``serve(app) -> Server``; every server started is shut down at module end."""
    started: List[Server] = []

    def start(app: Any) -> Server:
        s = Server(app)
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module (Playwright, Debian's binary)."""
    from tool_helpers import require_tool

    chromium = require_tool("chromium", "apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page; fails the test on a page error or any dialog (alert = XSS)."""
    # bypass_csp: the page must be safe by escaping alone (CSP is a second line);
    # Playwright's wait_for_function also needs eval, which the app's CSP forbids.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    pg = context.new_page()
    errors: List[str] = []
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    pg.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    pg.errors = errors  # type: ignore[attr-defined]
    pg.set_default_timeout(30000)
    yield pg
    context.close()
    assert not errors, errors

