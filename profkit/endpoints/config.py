"""Endpoint configuration and the access policy (who may fetch profiles).

Safe by default: with no ``allow`` list and no ``token`` only loopback clients get an
answer, like ``go tool pprof -http``'s web UI. A request that carries a proxy header
(``is_proxied``: ``Forwarded``, ``Via``, any ``X-Forwarded-*``, ``X-Real-IP``,
``X-Client-IP``, ``X-Original-Forwarded-For``, ``X-Cluster-Client-IP``,
``CF-Connecting-IP``, ``True-Client-IP``, ``Fastly-Client-IP``,
``X-Envoy-External-Address``) is not treated as loopback, because a reverse proxy or
CDN on the same host makes every outside client look like 127.0.0.1.
With ``allow`` set, the client address must fall in one of its networks; with ``token``
set, the request must carry ``Authorization: Bearer <token>`` (compared in constant
time). Both may be set; then both must hold.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import List, Mapping, Optional, Sequence, Union

from profkit.endpoints import http
from profkit.errors import InputError
from profkit.model import kinds as model_kinds

DEFAULT_PREFIX = model_kinds.DEFAULT_PREFIX
FEATURES = ("heap", "locks")
#: Lower-case names of headers that proxies and CDNs add to name the real client.
PROXY_HEADERS = (
    "forwarded", "via", "x-forwarded-for", "x-real-ip", "x-client-ip",
    "x-original-forwarded-for", "x-cluster-client-ip", "cf-connecting-ip",
    "true-client-ip", "fastly-client-ip", "x-envoy-external-address",
)
#: Any header with this prefix (X-Forwarded-Host, -Proto, ...) also marks a proxy.
PROXY_PREFIX = "x-forwarded-"
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


@dataclass(frozen=True)
class EndpointConfig:
    """How the ``/debug/profile`` endpoints are mounted and who may use them.

    Attributes:
        prefix: URL path the endpoints live under (default ``/debug/profile``).
        allow: client addresses or networks (``"10.0.0.0/8"``) allowed besides
            nothing; empty means loopback only.
        token: bearer token required on every request when set.
        max_seconds: the largest ``seconds`` accepted (a larger one is a 400).
        default_seconds: CPU/wall window when ``seconds`` is absent (capped by max).
        enable: process-wide collectors to start at mount: ``"heap"``, ``"locks"``.
        cpu_rate_hz: sampling rate of ``/cpu`` and ``/wall``.
        heap_interval_bytes: mean bytes between heap samples when ``heap`` is enabled.
        request_labels: label samples taken during a request with its route and method.
        request_profiles: honour ``X-Profkit-Profile: 1`` / ``?profkit_profile=1`` from
            allowed clients (a per-request pyinstrument profile, ``<prefix>/requests``).
        slowest: also profile every request and keep the N slowest (0: off).
        profiles_kept: asked-for request profiles kept (oldest evicted).
        profiles_max_bytes: bound on the bytes of all kept request profiles.
        profile_interval: pyinstrument's sampling interval for request profiles, seconds.
        workers: one profile from every worker of a gunicorn/uvicorn master
            (``profkit.endpoints.workers``); None detects the master, False is off.
    """

    prefix: str = DEFAULT_PREFIX
    allow: Sequence[str] = ()
    token: Optional[str] = None
    max_seconds: int = 60
    default_seconds: int = 30
    enable: Sequence[str] = ()
    cpu_rate_hz: int = 100
    heap_interval_bytes: int = 512 * 1024
    request_labels: bool = True
    request_profiles: bool = True
    slowest: int = 0
    profiles_kept: int = 32
    profiles_max_bytes: int = 16 * 1024 * 1024
    profile_interval: float = 0.001
    workers: Optional[bool] = None

    def __post_init__(self) -> None:
        prefix = "/" + self.prefix.strip("/")
        object.__setattr__(self, "prefix", "" if prefix == "/" else prefix)
        if isinstance(self.allow, str):
            object.__setattr__(self, "allow", (self.allow,))
        if isinstance(self.enable, str):
            object.__setattr__(self, "enable", (self.enable,))
        unknown = [f for f in self.enable if f not in FEATURES]
        if unknown:
            raise InputError(f"enable: unknown feature {unknown[0]!r} (choose from heap, locks)")
        if self.max_seconds < 1 or self.default_seconds < 1:
            raise InputError("max_seconds and default_seconds must be at least 1")
        if self.slowest < 0 or self.profiles_kept < 1 or self.profiles_max_bytes < 1:
            raise InputError("slowest must be >= 0, profiles_kept and profiles_max_bytes >= 1")
        if not 0 < self.profile_interval <= 1:
            raise InputError("profile_interval must be more than 0 and at most 1 second")
        if self.token is not None and not self.token:
            raise InputError("token must not be empty (leave it unset to disable)")
        self.networks()  # validate early: a typo must fail at mount, not per request

    def networks(self) -> List[Network]:
        """Return ``allow`` parsed as networks; InputError names a bad entry."""
        nets: List[Network] = []
        for entry in self.allow:
            try:
                nets.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise InputError(f"allow: {entry!r} is not an IP address or network") from None
        return nets


def _parse_ip(client: Optional[str]) -> Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]:
    if not client:
        return None
    try:
        addr = ipaddress.ip_address(client.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def is_proxied(headers: Mapping[str, str]) -> bool:
    """Return whether ``headers`` (lower-case names) carry any proxy header (module doc)."""
    return any(h in headers for h in PROXY_HEADERS) or any(
        h.startswith(PROXY_PREFIX) for h in headers
    )


def check_access(
    config: EndpointConfig, networks: Sequence[Network], request: http.Request
) -> Optional[http.Response]:
    """Return an error response if ``request`` may not use the endpoints, else None.

    Order: method (405, GET only), client address (403 ``permission denied``), token
    (401 with ``WWW-Authenticate: Bearer``). ``request`` is not modified.
    """
    if request.method != "GET":
        return http.error(405, "method not allowed: use GET", extra=(("Allow", "GET"),))
    addr = _parse_ip(request.client)
    if networks:
        allowed = addr is not None and any(addr in net for net in networks)
    elif config.token is not None:
        allowed = True
    else:
        proxied = is_proxied(request.headers)
        allowed = addr is not None and addr.is_loopback and not proxied
    if not allowed:
        return http.error(403, "permission denied")
    if config.token is not None:
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode("utf-8"), config.token.encode("utf-8")
        )
        if not ok:
            return http.error(
                401, "unauthorized: send Authorization: Bearer <token>",
                extra=(("WWW-Authenticate", 'Bearer realm="profkit"'),),
            )
    return None
