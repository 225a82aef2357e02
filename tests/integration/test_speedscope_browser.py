"""profkit's speedscope output opened in the real speedscope app (npm package) in Chromium."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
from tool_helpers import IN_CI, require_tool

from profkit.model import FrameKey, Profile, ProfileBuilder, load
from profkit.render import speedscope

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _speedscope_index() -> Path:
    """Return speedscope's bundled index.html (``npm install -g speedscope``)."""
    require_tool("npm", "apt-get install npm")
    root = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True).stdout.strip()
    index = Path(root) / "speedscope" / "dist" / "release" / "index.html"
    if not index.exists():
        msg = f"speedscope app not found at {index} (npm install -g speedscope@1.25.0)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return index


@pytest.fixture(scope="module")
def open_in_speedscope(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Yield ``open(json_text) -> page`` showing the file in speedscope, as its CLI does."""
    chromium = require_tool("chromium", "apt-get install chromium")
    index = _speedscope_index()
    from playwright.sync_api import sync_playwright

    d = tmp_path_factory.mktemp("speedscope")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium, args=["--allow-file-access-from-files", "--no-sandbox"]
        )
        pages = []

        def open_file(text: str, n: int = 0):  # type: ignore[no-untyped-def]
            js = d / f"profile{len(pages)}.js"
            payload = base64.b64encode(text.encode("utf-8")).decode()
            js.write_text(f"speedscope.loadFileFromBase64('p.json', {json.dumps(payload)})")
            page = browser.new_page()
            pages.append(page)
            errors: list = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda dlg: (errors.append(dlg.message), dlg.dismiss()))
            page.goto(f"{index.as_uri()}#localProfilePath={js}")
            page.wait_for_function("document.title !== 'speedscope'", timeout=20000)
            assert not errors, errors
            return page

        yield open_file
        browser.close()


def _threads_profile() -> Profile:
    b = ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")],
                       period_type=("cpu", "nanoseconds"), period=10_000_000)
    mod = FrameKey("app.<module>", "/srv/app.py", 3, 1)
    work = FrameKey("app.work.<locals>.<genexpr>", "/srv/app.py", 9, 8)
    b.add([work, mod], [3, 30_000_000], {"thread_id": "7", "thread_name": "MainThread"})
    b.add([FrameKey("größe.<lambda>"), mod], [2, 20_000_000], {"thread_id": "8", "thread_name": "worker"})
    return b.build(duration_nanos=10**9)


def test_go_profile_loads_with_its_totals(open_in_speedscope, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    page = open_in_speedscope(speedscope.render(load(corpus / "sample.cpu"), 1))
    assert page.title() == "profkit: cpu/nanoseconds - speedscope"
    page.get_by_text("Sandwich").click()
    page.get_by_text("main.busyLoop").first.wait_for(timeout=10_000)  # filled after the click
    body = page.inner_text("body")
    assert "main.busyLoop" in body and "runtime.mapiternext" in body
    assert "1.76s (100%)" in body  # the cpu total of sample.cpu


def test_threads_become_separate_profiles(open_in_speedscope) -> None:  # type: ignore[no-untyped-def]
    page = open_in_speedscope(speedscope.render(_threads_profile(), 1))
    page.get_by_text("Sandwich").click()
    # the sandwich table is filled after the click returns: wait for its first row
    page.get_by_text("app.work.<locals>.<genexpr>").first.wait_for(timeout=10_000)
    body = page.inner_text("body")
    assert "MainThread" in body and "app.work.<locals>.<genexpr>" in body
    assert "30.00ms (100%)" in body  # only MainThread's samples in the first profile
