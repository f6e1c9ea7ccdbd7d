"""Who the client of a request is, for per-client limits: one rule for both servers.

The client is the connecting address; when that address is a trusted proxy (listed in
``FORWARDED_ALLOW_IPS``: comma-separated addresses or networks, ``*`` for any; default
``127.0.0.1``), it is the right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy
(the left-most one when all are trusted). That is uvicorn's rule (its ``ProxyHeadersMiddleware``,
which rewrites the ASGI scope of the handoff API from the same variable, read by
``handoff_api.ratelimit.client_address``); Rasa's Sanic server has no such middleware, so the
bot's channels (``bot/channels/admission.py``) apply this function to the raw peer address and
headers. Behind a proxy that is not trusted, every shopper is one client.

Standard library only: imported by both environments (Rasa's Python 3.10 and the app's 3.11).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache

DEFAULT_TRUSTED = "127.0.0.1"  # uvicorn's default for --forwarded-allow-ips


class TrustedProxies:
    def __init__(self, spec: str = DEFAULT_TRUSTED) -> None:
        items = [item.strip() for item in spec.split(",") if item.strip()]
        self.any = "*" in items
        self.networks = []
        self.literals = set()
        for item in items:
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.literals.add(item)  # e.g. a unix socket path, compared as text

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TrustedProxies:
        return cls(env.get("FORWARDED_ALLOW_IPS") or DEFAULT_TRUSTED)

    def __contains__(self, host: str | None) -> bool:
        if not host:
            return False
        if self.any or host in self.literals:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


@lru_cache(maxsize=8)
def _trusted(spec: str) -> TrustedProxies:
    return TrustedProxies(spec)


def _host(entry: str) -> str:
    """``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:5678`` or ``::1`` → the address alone."""
    entry = entry.strip()
    if entry.startswith("[") and "]" in entry:
        return entry[1:entry.index("]")]
    if entry.count(":") == 1:
        return entry.split(":", 1)[0]
    return entry


def client_address(peer: str | None, forwarded_for: Iterable[str] = (),
                   trusted: TrustedProxies | str = DEFAULT_TRUSTED) -> str:
    """The client of a request whose TCP peer is ``peer`` and whose ``X-Forwarded-For`` header
    values are ``forwarded_for`` (each may list several, comma-separated)."""
    proxies = _trusted(trusted) if isinstance(trusted, str) else trusted
    if not peer:
        return "unknown"
    if peer not in proxies:
        return peer
    hops = [_host(h) for value in forwarded_for for h in value.split(",") if h.strip()]
    if not hops:
        return peer
    for host in reversed(hops):
        if host not in proxies:
            return host
    return hops[0]
