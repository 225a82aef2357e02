"""The middleware under real servers over loopback: werkzeug (threaded) and uvicorn."""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, Iterable

from endpoint_servers import WsgiServer, fetch

from profkit.endpoints import ProfileMiddleware


def hello_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"app saw {environ['PATH_INFO']}".encode()]


def forge_client(app: Any, addr: str) -> Any:
    def shim(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["REMOTE_ADDR"] = addr
        return app(environ, start_response)  # type: ignore[no-any-return]

    return shim


def test_wsgi_passes_other_paths_to_the_app(wsgi_server: Callable[[Any], WsgiServer]) -> None:
    with wsgi_server(ProfileMiddleware(hello_app)) as srv:
        status, _, body = fetch(srv.url + "/books/1")
        assert (status, body) == (200, b"app saw /books/1")
        status, _, body = fetch(srv.url + "/debug/profiles")
        assert (status, body) == (200, b"app saw /debug/profiles")


def test_wsgi_serves_cmdline_and_index(wsgi_server: Callable[[Any], WsgiServer]) -> None:
    with wsgi_server(ProfileMiddleware(hello_app)) as srv:
        status, headers, body = fetch(srv.url + "/debug/profile/cmdline")
        assert status == 200 and body.decode().split("\x00") == sys.argv
        assert headers["X-Content-Type-Options"] == "nosniff"
        status, headers, body = fetch(srv.url + "/debug/profile")  # redirected to the index
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert b'href="/debug/profile/heap"' in body


def test_wsgi_refuses_a_forged_remote_client(wsgi_server: Callable[[Any], WsgiServer]) -> None:
    with wsgi_server(forge_client(ProfileMiddleware(hello_app), "203.0.113.7")) as srv:
        status, headers, body = fetch(srv.url + "/debug/profile/cmdline")
        assert (status, body) == (403, b"permission denied\n")
        assert headers["X-Go-Pprof"] == "1"
        status, _, body = fetch(srv.url + "/")  # the app itself still answers
        assert (status, body) == (200, b"app saw /")


def test_wsgi_token(wsgi_server: Callable[[Any], WsgiServer]) -> None:
    app = forge_client(ProfileMiddleware(hello_app, token="tok-123"), "203.0.113.7")
    with wsgi_server(app) as srv:
        assert fetch(srv.url + "/debug/profile/cmdline")[0] == 401
        auth = {"Authorization": "Bearer tok-123"}
        assert fetch(srv.url + "/debug/profile/cmdline", headers=auth)[0] == 200


def test_wsgi_bad_seconds_over_http(wsgi_server: Callable[[Any], WsgiServer]) -> None:
    with wsgi_server(ProfileMiddleware(hello_app, max_seconds=30)) as srv:
        for value in ["-3", "0", "zzz", "99999"]:
            status, headers, body = fetch(srv.url + f"/debug/profile/profile?seconds={value}")
            assert status == 400, value
            assert headers["X-Go-Pprof"] == "1"
            assert body.count(b"\n") == 1 and b"Traceback" not in body
        status, _, _ = fetch(srv.url + "/debug/profile/profile", method="POST")
        assert status == 405


def test_uvicorn_serves_and_passes_through(uvicorn_app: Callable[..., str]) -> None:
    url = uvicorn_app("plain_asgi:application")
    assert fetch(url + "/sleep")[2] == b"hello from /sleep\n"
    status, _, body = fetch(url + "/debug/profile/cmdline")
    assert status == 200 and b"uvicorn" in body
    assert fetch(url + "/debug/profile/nosuch")[0] == 404


def test_uvicorn_refuses_a_forged_remote_client(uvicorn_app: Callable[..., str]) -> None:
    url = uvicorn_app("plain_asgi:application", {"PROFKIT_FORGE_CLIENT": "198.51.100.1"})
    status, _, body = fetch(url + "/debug/profile/cmdline")
    assert (status, body) == (403, b"permission denied\n")
    assert fetch(url + "/")[0] == 200


def test_uvicorn_token(uvicorn_app: Callable[..., str]) -> None:
    url = uvicorn_app("plain_asgi:application", {"PROFKIT_TOKEN": "abc"})
    assert fetch(url + "/debug/profile/cmdline")[0] == 401
    assert fetch(url + "/debug/profile/cmdline", headers={"Authorization": "Bearer abc"})[0] == 200


def test_uvicorn_root_path(uvicorn_app: Callable[..., str]) -> None:
    # A proxy maps /api/... to this server and strips /api; uvicorn puts --root-path back
    # in front of every scope["path"]. The endpoints match below it; their links keep it.
    url = uvicorn_app("plain_asgi:application", args=["--root-path", "/api"])
    status, _, body = fetch(url + "/debug/profile/cmdline")
    assert status == 200 and b"uvicorn" in body
    status, headers, body = fetch(url + "/debug/profile/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'href="/api/debug/profile/heap"' in body
    status, headers, _ = fetch(url + "/debug/profile", follow=False)
    assert (status, headers["location"]) == (301, "/api/debug/profile/")
    assert fetch(url + "/debug/profile/nosuch")[0] == 404
    assert fetch(url + "/debug/profile/goroutine")[0] == 200
    assert fetch(url + "/sleep")[2] == b"hello from /api/sleep\n"  # the app, not us
    assert fetch(url + "/debug/profiles")[2] == b"hello from /api/debug/profiles\n"
