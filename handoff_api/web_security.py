"""Browser-facing protections of every answer: security headers and the cross-origin check.

* **Headers** on every response: a Content-Security-Policy without inline script (``script-src
  'self'``; the pages keep all their JavaScript in files), ``frame-ancestors 'none'`` and
  ``X-Frame-Options: DENY`` (no page can be framed for click-jacking), ``X-Content-Type-Options:
  nosniff``, ``Referrer-Policy: same-origin``. ``connect-src`` allows this origin and the Rasa
  server's socket.io on the same host name (the demo store's widget talks to port 5005).
  FastAPI's own ``/docs`` and ``/redoc`` pages load Swagger/ReDoc from a CDN with inline
  script; they get the headers but no CSP.
* **Cross-origin state changes refused**: a POST/PUT/PATCH/DELETE whose ``Origin`` (or, without
  one, ``Sec-Fetch-Site: cross-site``) is not this API's own origin is answered 403 before any
  route runs, login included (not the widget's typing signal, authenticated by a header only:
  ``HEADER_AUTHENTICATED``). Server-to-server callers (the bot side, scripts) send neither
  header and are unaffected; the console's cookie requests also need a CSRF token
  (:mod:`handoff_api.auth`).

A pure ASGI middleware (no ``BaseHTTPMiddleware``), so streaming answers (SSE) pass through
untouched.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

Scope = dict[str, Any]
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: POSTs authenticated by a header only, never a cookie (so no CSRF): the widget's typing signal,
#: which a store on another domain sends with the conversation token in ``X-Atiende-Conversation``
#: (a custom header: browsers send it cross-origin only after the CORS preflight the API answers
#: for the ``HANDOFF_CORS_ORIGINS``)
HEADER_AUTHENTICATED = frozenset({"/api/widget/typing"})
NO_CSP_PREFIXES = ("/docs", "/redoc")


def content_security_policy(host: str) -> str:
    try:
        hostname = urlsplit(f"//{host.strip()}").hostname or ""
    except ValueError:
        hostname = ""
    if hostname and ":" in hostname:
        hostname = f"[{hostname}]"
    rasa = f"http://{hostname}:* https://{hostname}:* ws://{hostname}:* wss://{hostname}:*" \
        if hostname else ""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob: https:",
        f"connect-src 'self' {rasa}".strip(),
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _default_port(scheme: str) -> str:
    return "443" if scheme in ("https", "wss") else "80"


def same_origin(origin: str, host: str, scheme: str) -> bool:
    """``Origin`` names this server (host and port; the scheme may differ behind a TLS proxy)."""
    try:
        sent = urlsplit(origin)
        here = urlsplit(f"//{host.strip()}")
        sent_port, here_port = sent.port, here.port
    except ValueError:
        return False
    if not sent.hostname or not here.hostname or sent.hostname != here.hostname:
        return False
    a = str(sent_port or _default_port(sent.scheme))
    b = str(here_port or _default_port(scheme))
    # behind a TLS-terminating proxy the API sees http :80 while the browser says https :443
    return a == b or {a, b} <= {"80", "443"}


class WebSecurityMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if scope["method"] in UNSAFE and scope.get("path") not in HEADER_AUTHENTICATED:
            refused = self._cross_origin(headers, host, scope.get("scheme", "http"))
            if refused:
                await self._refuse(send, refused)
                return
        path = scope.get("path", "")
        extra = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                 (b"referrer-policy", b"same-origin")]
        if not path.startswith(NO_CSP_PREFIXES):
            extra.append((b"content-security-policy",
                          content_security_policy(host).encode("latin-1")))
        else:
            extra.append((b"content-security-policy", b"frame-ancestors 'none'"))

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _v in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *[(k, v) for k, v in extra if k not in present]]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    def _cross_origin(headers: dict[str, str], host: str, scheme: str) -> str | None:
        origin = headers.get("origin")
        if origin is not None:
            if origin == "null" or not same_origin(origin, host, scheme):
                return f"Cross-origin request refused (Origin {origin[:100]} is not this site)"
            return None
        if headers.get("sec-fetch-site") == "cross-site":
            return "Cross-origin request refused (Sec-Fetch-Site: cross-site)"
        return None

    @staticmethod
    async def _refuse(send: Any, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"x-content-type-options", b"nosniff")]})
        await send({"type": "http.response.body", "body": body})
