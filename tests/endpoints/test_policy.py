"""Access policy, parameters and error shapes of the framework-neutral endpoint core."""

from __future__ import annotations

import sys
from typing import Dict, Optional
from urllib.parse import quote

import pytest

from profkit.endpoints import EndpointConfig, ProfileEndpoints
from profkit.endpoints.http import Request, Response
from profkit.errors import InputError


def ask(endpoints: ProfileEndpoints, path: str, query: str = "", *, client: Optional[str] = "127.0.0.1",
        method: str = "GET", headers: Optional[Dict[str, str]] = None) -> Response:
    sub = endpoints.subpath(path)
    assert sub is not None, path
    return endpoints.handle(Request(method, sub, query, client, headers or {}))


def assert_go_error(resp: Response, status: int, body: str) -> None:
    assert resp.status == status
    assert resp.body.decode() == body + "\n"
    assert resp.header("X-Go-Pprof") == "1"
    assert resp.header("Content-Type") == "text/plain; charset=utf-8"
    assert resp.header("Content-Disposition") is None
    assert resp.header("X-Content-Type-Options") == "nosniff"


@pytest.mark.parametrize("client", ["127.0.0.1", "127.8.9.1", "::1", "::ffff:127.0.0.1"])
def test_loopback_clients_are_served_by_default(client: str) -> None:
    resp = ask(ProfileEndpoints(EndpointConfig()), "/debug/profile/cmdline", client=client)
    assert resp.status == 200


@pytest.mark.parametrize("client", ["10.1.2.3", "192.168.0.5", "2001:db8::1", None, "", "garbage"])
def test_other_clients_are_refused_by_default(client: Optional[str]) -> None:
    resp = ask(ProfileEndpoints(EndpointConfig()), "/debug/profile/cmdline", client=client)
    assert_go_error(resp, 403, "permission denied")


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP"])
def test_proxied_loopback_request_is_refused(header: str) -> None:
    resp = ask(ProfileEndpoints(EndpointConfig()), "/debug/profile/cmdline",
               headers={header.lower(): "203.0.113.9"})
    assert_go_error(resp, 403, "permission denied")


def test_allow_list_replaces_loopback() -> None:
    ep = ProfileEndpoints(EndpointConfig(allow=["10.0.0.0/8", "192.168.1.7"]))
    assert ask(ep, "/debug/profile/cmdline", client="10.20.30.40").status == 200
    assert ask(ep, "/debug/profile/cmdline", client="192.168.1.7").status == 200
    assert ask(ep, "/debug/profile/cmdline", client="192.168.1.8").status == 403
    assert ask(ep, "/debug/profile/cmdline", client="127.0.0.1").status == 403


def test_token_is_required_when_configured() -> None:
    ep = ProfileEndpoints(EndpointConfig(token="s3cret"))
    resp = ask(ep, "/debug/profile/cmdline", client="198.51.100.4")
    assert_go_error(resp, 401, "unauthorized: send Authorization: Bearer <token>")
    assert resp.header("WWW-Authenticate") == 'Bearer realm="profkit"'
    wrong = ask(ep, "/debug/profile/cmdline", headers={"authorization": "Bearer s3cre"})
    assert wrong.status == 401
    basic = ask(ep, "/debug/profile/cmdline", headers={"authorization": "Basic s3cret"})
    assert basic.status == 401
    ok = ask(ep, "/debug/profile/cmdline", client="198.51.100.4",
             headers={"authorization": "Bearer s3cret"})
    assert ok.status == 200


def test_token_and_allow_list_must_both_hold() -> None:
    ep = ProfileEndpoints(EndpointConfig(token="t", allow=["10.0.0.0/8"]))
    auth = {"authorization": "Bearer t"}
    assert ask(ep, "/debug/profile/cmdline", client="10.0.0.1", headers=auth).status == 200
    assert ask(ep, "/debug/profile/cmdline", client="11.0.0.1", headers=auth).status == 403
    assert ask(ep, "/debug/profile/cmdline", client="10.0.0.1").status == 401


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_only_get_is_accepted(method: str) -> None:
    resp = ask(ProfileEndpoints(EndpointConfig()), "/debug/profile/cmdline", method=method)
    assert_go_error(resp, 405, "method not allowed: use GET")
    assert resp.header("Allow") == "GET"


@pytest.mark.parametrize("path", ["/debug/profile/cmdline", "/debug/profile/nosuch"])
def test_head_gets_405_headers_and_no_body(path: str) -> None:
    resp = ask(ProfileEndpoints(EndpointConfig()), path, method="HEAD")
    assert (resp.status, resp.body) == (405, b"")
    assert resp.header("Allow") == "GET" and resp.header("X-Go-Pprof") == "1"


@pytest.mark.parametrize("debug", ["2", "3", "7", "+2", "9223372036854775807"])
@pytest.mark.parametrize("name", ["threads", "goroutine"])
def test_debug_2_and_above_is_the_full_thread_dump(name: str, debug: str) -> None:
    resp = ask(ProfileEndpoints(EndpointConfig()), f"/debug/profile/{name}", f"debug={quote(debug)}")
    assert resp.status == 200, resp.body
    assert resp.header("Content-Type") == "text/plain; charset=utf-8"
    first = resp.body.decode().splitlines()[0]
    assert first.startswith(("thread ", "task ")) and first.endswith(":")


@pytest.mark.parametrize("debug", ["-1", "abc", "1.5", " 1", "1" + "0" * 400, "9223372036854775808"])
@pytest.mark.parametrize("name", ["threads", "heap", "threadcreate"])
def test_bad_debug_is_400(name: str, debug: str) -> None:
    resp = ask(ProfileEndpoints(EndpointConfig()), f"/debug/profile/{name}", f"debug={quote(debug)}")
    assert_go_error(resp, 400, 'invalid value for "debug" - must be a non-negative integer')


def test_empty_debug_is_absent_as_in_go() -> None:
    resp = ask(ProfileEndpoints(EndpointConfig()), "/debug/profile/threads", "debug=")
    assert resp.status == 200 and resp.header("Content-Type") == "application/octet-stream"


def test_unknown_profile_is_404_like_go() -> None:
    resp = ask(ProfileEndpoints(EndpointConfig()), "/debug/profile/nosuch")
    assert_go_error(resp, 404, "Unknown profile")


@pytest.mark.parametrize("path", ["/debug/profile/cpu", "/debug/profile/profile", "/debug/profile/wall"])
@pytest.mark.parametrize("seconds", ["-1", "0", "abc", "", "nan", "inf", "1e999", "1_0", " 1 ",
                                     "1" + "0" * 400, "0x10", "١"])
def test_bad_capture_window_is_400(path: str, seconds: str) -> None:
    resp = ask(ProfileEndpoints(EndpointConfig()), path, f"seconds={quote(seconds)}")
    assert_go_error(resp, 400, 'invalid value for "seconds" - must be a positive number')


def test_capture_window_is_capped() -> None:
    resp = ask(ProfileEndpoints(EndpointConfig(max_seconds=20)), "/debug/profile/profile", "seconds=86400")
    assert_go_error(resp, 400, '"seconds" is 86400, more than this server allows (20, its max_seconds)')


@pytest.mark.parametrize("name", ["heap", "allocs", "block", "mutex", "goroutine", "threadcreate"])
@pytest.mark.parametrize("seconds", ["-5", "0", "1.5", "ten", "1" + "0" * 400, "1_0", " 1 ", "1e3",
                                     "١", "", "9223372036854775808"])
def test_bad_delta_seconds_use_gos_text(name: str, seconds: str) -> None:
    # Go's strconv.ParseInt: sign and ASCII digits within int64, nothing else
    resp = ask(ProfileEndpoints(EndpointConfig()), f"/debug/profile/{name}", f"seconds={quote(seconds)}")
    assert_go_error(resp, 400, 'invalid value for "seconds" - must be a positive integer')


def test_large_delta_seconds_hit_the_cap_printed_as_an_integer() -> None:
    ep = ProfileEndpoints(EndpointConfig())
    for raw in ["1000000", "+1000000", "9223372036854775807"]:
        resp = ask(ep, "/debug/profile/goroutine", f"seconds={quote(raw)}")
        assert_go_error(resp, 400, f'"seconds" is {int(raw)}, more than this server allows '
                                   "(60, its max_seconds)")


def test_delta_with_debug_is_400() -> None:
    resp = ask(ProfileEndpoints(EndpointConfig()), "/debug/profile/goroutine", "seconds=1&debug=1")
    assert_go_error(resp, 400, "seconds and debug params are incompatible")


def test_seconds_on_cmdline_is_400() -> None:
    resp = ask(ProfileEndpoints(EndpointConfig()), "/debug/profile/cmdline", "seconds=3")
    assert_go_error(resp, 400, '"seconds" parameter is not supported for this profile type')


def test_cmdline_is_argv_joined_by_nul() -> None:
    resp = ask(ProfileEndpoints(EndpointConfig()), "/debug/profile/cmdline")
    assert resp.status == 200
    assert resp.body.decode().split("\x00") == sys.argv
    assert resp.header("Content-Type") == "text/plain; charset=utf-8"


def test_prefix_without_slash_redirects_to_index() -> None:
    resp = ask(ProfileEndpoints(EndpointConfig(prefix="/ops/prof/")), "/ops/prof")
    assert resp.status == 301
    assert resp.header("Location") == "/ops/prof/"


def test_paths_outside_the_prefix_are_not_ours() -> None:
    ep = ProfileEndpoints(EndpointConfig())
    assert ep.subpath("/debug/profiles") is None
    assert ep.subpath("/debug") is None
    assert ep.subpath("/debug/profile/heap") == "/heap"


def test_index_lists_every_profile_and_escapes_the_prefix() -> None:
    ep = ProfileEndpoints(EndpointConfig(prefix='/x"><script>alert(1)</script>'))
    resp = ep.handle(Request("GET", "/", "", "127.0.0.1", {}))
    page = resp.body.decode()
    assert resp.status == 200
    assert resp.header("Content-Type") == "text/html; charset=utf-8"
    assert "<script>" not in page
    for name in ["cpu", "wall", "heap", "allocs", "threads", "threadcreate", "block", "mutex", "cmdline"]:
        assert f">{name}</a>" in page
    assert "goroutine" in page and "threads?debug=2" in page
    assert page.count("(off: mount with enable=") == 4  # heap, allocs, block, mutex are off


@pytest.mark.parametrize("prefix", ["/debug/profile", "/ops/profile"])
def test_index_capture_hint_names_the_prefix(prefix: str) -> None:
    from profkit.cli.capture_url import build_target

    page = ProfileEndpoints(EndpointConfig(prefix=prefix)).handle(
        Request("GET", "/", "", "127.0.0.1", {})).body.decode()
    hint = f"http://HOST{prefix}/"
    assert f"profkit capture {hint} --seconds 10" in page
    assert build_target(hint, None, 10).url == f"http://HOST{prefix}/cpu?seconds=10"


@pytest.mark.parametrize(
    "options",
    [{"enable": ["gpu"]}, {"allow": ["not-an-ip"]}, {"max_seconds": 0}, {"token": ""}],
)
def test_bad_configuration_fails_at_mount(options: Dict[str, object]) -> None:
    with pytest.raises(InputError):
        EndpointConfig(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize("configured, share, expected", [
    (5, 1, "5"),      # a low configured rate is kept as it is (not raised to the 10 Hz floor)
    (5, 4, "5"),      # ... and a worker's share of it never goes under it nor over it
    (100, 4, "25"),   # one of four workers: a quarter of the rate
    (100, 64, "10"),  # many workers: the 10 Hz floor
])
def test_a_workers_share_of_the_rate(configured: int, share: int, expected: str) -> None:
    from profkit.model import parse

    endpoints = ProfileEndpoints(EndpointConfig(cpu_rate_hz=configured))
    sub = endpoints.subpath("/debug/profile/profile")
    assert sub is not None
    resp = endpoints.handle(Request("GET", sub, "seconds=0.05", "127.0.0.1", {}, rate_share=share))
    assert resp.status == 200, resp.body
    comments = parse(resp.body).comments
    assert any(f"requested {expected} Hz" in c for c in comments), comments
