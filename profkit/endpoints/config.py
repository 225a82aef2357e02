"""Endpoint configuration and the access policy (who may fetch profiles).

Safe by default: with no ``allow`` list and no ``token`` only loopback clients get an
answer, like ``go tool pprof -http``'s web UI. A request that carries a proxy header
(``Forwarded``, ``X-Forwarded-For``, ``X-Real-IP``) is not treated as loopback, because
a reverse proxy on the same host makes every outside client look like 127.0.0.1.
With ``allow`` set, the client address must fall in one of its networks; with ``token``
set, the request must carry ``Authorization: Bearer <token>`` (compared in constant
time). Both may be set; then both must hold.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import List, Optional, Sequence, Union

from profkit.endpoints import http
from profkit.errors import InputError

DEFAULT_PREFIX = "/debug/profile"
FEATURES = ("heap", "locks")
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
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
        proxied = any(h in request.headers for h in PROXY_HEADERS)
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
