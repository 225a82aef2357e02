"""Flask, FastAPI and Django helpers: mounted explicitly, samples labelled by route template."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, List

import pytest
from endpoint_servers import WsgiServer, fetch

from profkit.model import Profile, parse

APPS = Path(__file__).parent / "apps"


def routes_cpu(p: Profile) -> dict[str, float]:
    idx = p.sample_index("cpu")
    total = p.total(idx) or 1
    out: dict[str, float] = {}
    for s in p.samples:
        for r in s.labels.get("route", []):
            out[r] = out.get(r, 0) + s.values[idx] / total
    return out


def capture_under_load(url: str, load_path: str, seconds: float = 2) -> Profile:
    stop = threading.Event()
    errors: List[int] = []

    def load() -> None:
        while not stop.is_set():
            status = fetch(url + load_path)[0]
            if status != 200:
                errors.append(status)

    workers = [threading.Thread(target=load) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        status, _, body = fetch(url + f"/debug/profile/profile?seconds={seconds}")
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert status == 200 and not errors
    return parse(body)


def test_importing_the_helpers_imports_no_framework() -> None:
    code = (
        "import sys, profkit.endpoints, profkit.integrations.flask, profkit.integrations.django, "
        "profkit.integrations.fastapi; "
        "print([m for m in ('flask', 'django', 'fastapi', 'starlette', 'werkzeug') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_flask_install_labels_by_url_rule(wsgi_server: Callable[[Any], WsgiServer]) -> None:
    from flask import Flask

    from profkit.integrations.flask import install

    app = Flask("t")
    install(app)

    @app.get("/books/<int:book_id>")
    def flask_book(book_id: int) -> str:
        end = time.perf_counter() + 0.02
        while time.perf_counter() < end:
            pass
        return str(book_id)

    with wsgi_server(app) as srv:
        assert fetch(srv.url + "/books/7")[2] == b"7"
        prof = capture_under_load(srv.url, "/books/7")
        assert fetch(srv.url + "/debug/profile/cmdline")[0] == 200
    shares = routes_cpu(prof)
    assert shares.get("/books/<int:book_id>", 0) > 0.5, shares
    assert "/books/7" not in shares  # the rule, not the concrete path


def test_fastapi_install_labels_by_route_template(uvicorn_app: Callable[..., str]) -> None:
    url = uvicorn_app("fastapi_app:app")
    assert fetch(url + "/items/3")[0] == 200
    shares = routes_cpu(capture_under_load(url, "/items/3"))
    assert shares.get("/items/{item_id}", 0) > 0.5, shares


@pytest.fixture
def django_site() -> Any:
    sys.path.insert(0, str(APPS))
    try:
        import django_site

        yield django_site
    finally:
        sys.path.remove(str(APPS))


def test_django_wsgi_wrap(django_site: Any, wsgi_server: Callable[[Any], WsgiServer]) -> None:
    from profkit.endpoints import ProfileMiddleware

    application = django_site.wsgi_application()
    assert isinstance(application, ProfileMiddleware)
    with wsgi_server(application) as srv:
        assert fetch(srv.url + "/items/4")[2] == b"item 4"
        shares = routes_cpu(capture_under_load(srv.url, "/items/4"))
    assert shares.get("/items/4", 0) > 0.5, shares


def test_django_asgi_wrap(uvicorn_app: Callable[..., str]) -> None:
    url = uvicorn_app("django_site:asgi_factory", factory=True)
    assert fetch(url + "/items/5")[2] == b"item 5"
    status, _, body = fetch(url + "/debug/profile/goroutine?debug=1")
    assert status == 200 and body.startswith(b"thread profile")
    # the sync view runs in asgiref's thread, inside a copy of the request's context: its
    # CPU carries the request's labels (they live in that context, profkit.collect.labels)
    shares = routes_cpu(capture_under_load(url, "/items/5"))
    assert shares.get("/items/5", 0) > 0.5, shares
