"""Loopback requests carrying any proxy or CDN client header are treated as proxied."""

from __future__ import annotations

import pytest

from profkit.endpoints import EndpointConfig, ProfileEndpoints
from profkit.endpoints.config import is_proxied
from profkit.endpoints.http import Request


def _status(headers: dict) -> int:
    ep = ProfileEndpoints(EndpointConfig())
    sub = ep.subpath("/debug/profile/cmdline")
    assert sub is not None
    return ep.handle(Request("GET", sub, "", "127.0.0.1", headers)).status


@pytest.mark.parametrize("header", [
    "CF-Connecting-IP", "True-Client-IP", "X-Client-IP", "X-Original-Forwarded-For",
    "X-Cluster-Client-IP", "Fastly-Client-IP", "X-Envoy-External-Address", "Via",
    "X-Forwarded-Host", "X-Forwarded-Proto",
])
def test_proxy_headers_make_a_loopback_request_proxied(header: str) -> None:
    assert is_proxied({header.lower(): "203.0.113.9"})
    assert _status({header.lower(): "203.0.113.9"}) == 403


def test_plain_loopback_request_is_served() -> None:
    assert not is_proxied({"user-agent": "curl", "accept": "*/*"})
    assert _status({"user-agent": "curl"}) == 200
