"""``profkit view --bench DIR`` and ``profkit bench compare --html``: the benchmark view.

One store per module (written once): 16 runs of ``t::slow`` (1 ms for runs 1-8, 1.5 ms for
runs 9-16: one change point) beside ``t::steady``; runs 8 and 9 recorded per-benchmark
profiles (the viewer's diff pair, 10 calls each) and hold a regressed benchmark whose name
is HTML. The Flask test client checks the routes; a real werkzeug server and Chromium check
that the chart draws with every non-loopback request blocked and that a regression's link
opens the viewer's diff flame graph.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from profkit.cli import main
from profkit.viewer import ViewerConfig, create_app
from profkit.viewer.bench_app import create_bench_app
from profkit.viewer.bench_data import load_store

XSS = "t::test_<img src=x onerror=alert(1)>"
PROFKIT = [sys.executable, "-m", "profkit"]


def _stats(median: float, seed: int) -> Dict[str, Any]:
    rng = random.Random(seed)
    data = [median * rng.lognormvariate(0, 0.02) for _ in range(30)]
    return {"data": data, "rounds": len(data), "median": sorted(data)[15], "mean": sum(data) / 30,
            "stddev": 0.0, "min": min(data), "max": max(data)}


def _bench(name: str, median: float, seed: int, profile: str = "") -> Dict[str, Any]:
    extra = {"profkit_profile": profile, "profkit_profile_calls": 10} if profile else {}
    return {"fullname": name, "name": name, "stats": _stats(median, seed), "extra_info": extra}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, profiles: Dict[str, Path]) -> Path:
    d = tmp_path_factory.mktemp("bench-store")
    (d / "profiles").mkdir()
    shutil.copy(profiles["base"], d / "profiles" / "base.pb.gz")
    shutil.copy(profiles["new"], d / "profiles" / "new.pb.gz")
    for i in range(1, 17):
        slow = 1e-3 if i <= 8 else 1.5e-3
        prof = {8: "profiles/base.pb.gz", 9: "profiles/new.pb.gz"}.get(i, "")
        benches = [_bench("t::slow", slow, i, prof), _bench("t::steady", 2e-3, 100 + i)]
        if i in (8, 9):
            benches.append(_bench(XSS, slow, 200 + i, prof))
            benches.append(_bench("t::unprofiled", slow, 300 + i))
        doc = {"machine_info": {"node": "ci"}, "commit_info": {"id": f"{i:040x}"},
               "datetime": f"2026-01-01T00:{i:02d}:00", "benchmarks": benches}
        (d / f"{i:04d}_{i:040x}_20260101.json").write_text(json.dumps(doc))
    return d


@pytest.fixture(scope="module")
def client(store: Path) -> Any:
    return create_bench_app(load_store(str(store), "0008", "0009")).test_client()


def _rows(doc: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {r["name"]: r for r in doc["compare"]["rows"]}


def test_data_holds_trends_change_points_and_the_chosen_runs(client: Any) -> None:
    doc = client.get("/bench/data.json").get_json()
    series = {s["name"]: s for s in doc["series"]}
    assert len(series["t::slow"]["y"]) == 16
    (cp,) = series["t::slow"]["change_points"]
    assert cp["position"] == 8 and cp["change"] == pytest.approx(0.5, abs=0.05)
    assert series["t::steady"]["change_points"] == []
    assert doc["compare"]["base"].startswith("0008_") and doc["compare"]["new"].startswith("0009_")
    rows = _rows(doc)
    assert rows["t::slow"]["verdict"] == "slower" and rows["t::slow"]["flame"] == "diff/0/"
    assert rows[XSS]["flame"] == "diff/1/"
    assert rows["t::unprofiled"]["flame"] is None
    assert "no profile recorded" in rows["t::unprofiled"]["profile_note"]
    assert rows["t::steady"]["verdict"] != "slower" and rows["t::steady"]["flame"] is None


def test_default_compares_the_last_two_runs(store: Path) -> None:
    doc = load_store(str(store)).doc
    assert doc["compare"]["base"].startswith("0015_") and doc["compare"]["new"].startswith("0016_")
    assert _rows(doc)["t::slow"]["verdict"] != "slower"


def test_a_regression_link_serves_the_viewer_on_its_per_call_diff(
        client: Any, profiles: Dict[str, Path]) -> None:
    whole = create_app(ViewerConfig([str(profiles["new"])], [str(profiles["base"])])).test_client()
    expected = whole.get("/api/flame").get_json()
    got = client.get("/bench/diff/0/api/flame").get_json()
    assert got["diff"] is True
    assert got["total"] == pytest.approx(expected["total"] / 10)  # 10 calls per profile
    assert client.get("/bench/diff/0").status_code == 308
    page = client.get("/bench/diff/0/")
    assert page.status_code == 200 and b"<canvas" in page.data
    meta = client.get("/bench/diff/1/api/meta").get_json()
    assert meta["title"].startswith(XSS)
    assert client.get("/bench/diff/2/").status_code == 404


def test_page_assets_are_local_and_fixed(client: Any) -> None:
    import plotly

    page = client.get("/bench/")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert not re.search(rb"https?://", page.data)
    bundled = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    assert client.get("/bench/static/plotly.min.js").data == bundled
    assert client.get("/bench/static/bench.js").status_code == 200
    assert client.get("/bench/static/app.py").status_code == 404
    assert client.get("/bench/static/..%2fapp.py").status_code == 404
    assert client.get("/").headers["Location"].endswith("/bench/")


def test_non_loopback_clients_are_refused(client: Any) -> None:
    for path in ("/bench/data.json", "/bench/diff/0/api/flame"):
        r = client.get(path, environ_base={"REMOTE_ADDR": "10.0.0.1"})
        assert r.status_code == 403, path


@pytest.mark.parametrize("args, code, words", [
    (["--bench", "/nonexistent/store"], 1, "not a directory"),
    (["--bench", "{store}", "--base", "0042"], 1, "matches no run"),
    (["--bench", "{store}", "{store}"], 2, "takes no FILE"),
    ([], 2, "--bench DIR"),
])
def test_bad_bench_arguments_are_one_line(store: Path, args: List[str], code: int, words: str) -> None:
    argv = [a.format(store=store) for a in args]
    proc = subprocess.run([*PROFKIT, "view", *argv, "--no-browser"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.count("\n") == 1 and words in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "serving" not in proc.stderr


def test_compare_html_links_each_regression_to_a_self_contained_diff_flame(
        store: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    base, new = sorted(store.glob("0008_*.json")), sorted(store.glob("0009_*.json"))
    assert main(["bench", "compare", str(base[0]), str(new[0]), "--html", str(out)]) == 1
    table = out.read_text()
    assert "<img" not in table and "t::test_&lt;img src=x onerror=alert(1)&gt;" in table
    links = re.findall(r'href="([^"]+)"', table)
    assert links == ["report.flame-1.html", "report.flame-2.html"]
    assert "no profile recorded on either side" in table
    for link in links:
        flame = (tmp_path / link).read_text()
        assert "connect-src" not in flame and "default-src 'none'" in flame  # no network
        assert '<script type="application/json" id="payload">' in flame
    assert not re.search(r"<script\b", table)


def test_compare_html_without_profiles_writes_only_the_table(tmp_path: Path) -> None:
    def run(name: str, median: float) -> str:
        p = tmp_path / name
        p.write_text(json.dumps({"machine_info": {}, "benchmarks": [_bench("t::x", median, 1)]}))
        return str(p)

    out = tmp_path / "r.html"
    assert main(["bench", "compare", run("a.json", 1e-3), run("b.json", 2e-3), "--html", str(out)]) == 1
    assert sorted(p.name for p in tmp_path.glob("r*.html")) == ["r.html"]
    assert "no profile recorded on either side" in out.read_text()


@pytest.mark.browser
@pytest.mark.slow
def test_chart_draws_offline_and_a_regression_opens_its_diff_flame(
        browser: Any, serve: Any, store: Path) -> None:
    from browser_helpers import boxes

    srv = serve(create_bench_app(load_store(str(store), "0008", "0009")))
    # The app's own CSP stays on: plotly must draw under it (no wait_for_function, which needs eval).
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: List[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(srv.url("/")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    errors: List[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    pg.set_default_timeout(30000)
    try:
        pg.goto(srv.url("/bench/"))
        pg.wait_for_selector("body[data-chart=drawn]")
        assert pg.locator("#chart .main-svg").count() >= 1
        assert pg.locator("#chart .scatterlayer .trace").count() >= 3  # 2 series + change point
        assert pg.locator("#error").is_hidden()
        row = pg.locator("#compare tbody tr", has_text=XSS)
        assert row.locator("td").first.inner_text() == XSS  # shown as text, not markup
        pg.locator("#compare tbody tr", has_text="t::slow").locator("a.flame-link").click()
        pg.wait_for_url(re.compile(r"/bench/diff/0/"))
        pg.wait_for_selector("body[data-draws]")
        names = {b["name"] for b in boxes(pg)}
        assert {"calc.grow", "newpath.fresh", "oldpath.gone"} <= names
        assert "t::slow" in pg.inner_text("#title")  # the benchmark's name, not "<profile>"
        assert "<profile>" not in pg.inner_text("#title")
    finally:
        context.close()
    assert not errors, errors
    assert not outside, outside


@pytest.mark.browser
@pytest.mark.slow
def test_compare_html_opens_from_disk_offline_and_links_to_a_drawn_diff_flame(
        browser: Any, store: Path, tmp_path: Path) -> None:
    from browser_helpers import boxes, wait_drawn

    out = tmp_path / "report.html"
    base, new = sorted(store.glob("0008_*.json")), sorted(store.glob("0009_*.json"))
    assert main(["bench", "compare", str(base[0]), str(new[0]), "--html", str(out)]) == 1
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: List[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    errors: List[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    pg.set_default_timeout(30000)
    try:
        pg.goto(out.as_uri())
        cell = pg.locator("tbody tr", has_text="onerror").locator("td").first
        assert cell.inner_text() == XSS
        pg.locator("tbody tr", has_text="t::slow").locator("a.flame-link").click()
        pg.wait_for_url(re.compile(r"report\.flame-1\.html"))
        wait_drawn(pg)
        assert {"calc.grow", "newpath.fresh", "oldpath.gone"} <= {b["name"] for b in boxes(pg)}
    finally:
        context.close()
    assert not errors, errors
    assert not outside, outside


def test_a_single_run_store_shows_its_trend_and_no_compare(store: Path, tmp_path: Path) -> None:
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(sorted(store.glob("0001_*.json"))[0], one)
    doc = create_bench_app(load_store(str(one))).test_client().get("/bench/data.json").get_json()
    assert doc["runs"] == 1 and doc["compare"] is None
    assert {s["name"] for s in doc["series"]} == {"t::slow", "t::steady"}
