"""What the fault tests share below the seam itself: the tokens and ports the processes get, the
patience of a resending client, Meta's signature, polling, the answer a shopper gets
(:class:`Reply`) and :class:`GraphSink`, a fake Graph API that records what the bot sends to
WhatsApp shoppers."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BOT_TOKEN = "faults-bot-token-0123456789abcdef"
RASA_TOKEN = "faults-rasa-token-0123456789abcdef"
WA_SECRET = "faults-whatsapp-app-secret"
WA_PHONE_ID = "106540352242922"
DEMO_PASSWORD = "atiende-demo"
# How long a shopper's client keeps resending, and how long a close may take to reach the bot:
# a Rasa restart loads the model again, which took up to 4 min on the 2 shared cores at load 20
PATIENCE = float(os.environ.get("ATIENDE_FAULTS_PATIENCE", "600"))
CHANNEL_VARS = ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN",
                "WHATSAPP_PHONE_NUMBER_ID", "MESSENGER_PAGE_ACCESS_TOKEN", "MESSENGER_APP_SECRET",
                "MESSENGER_VERIFY_TOKEN")


def sign(body: bytes, secret: str) -> str:
    """Meta's ``X-Hub-Signature-256`` header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.3) -> Any:
    """Poll ``check`` until it returns something truthy; AssertionError naming ``what`` after."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class GraphSink:
    """A stand-in for Meta's Graph API: records every message the bot sends to WhatsApp.
    ``before_answer(body)``, when set, runs on each message before its 200 goes back (a fault
    injected at the moment Meta has a reply and the bot does not know it yet)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.before_answer: Callable[[dict[str, Any]], None] | None = None
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with sink._lock:
                    try:
                        sink.sent.append(json.loads(raw))
                    except ValueError:
                        sink.sent.append({"raw": raw.decode(errors="replace")})
                    n = len(sink.sent)
                if sink.before_answer is not None:
                    sink.before_answer(sink.sent[n - 1])
                body = json.dumps({"messages": [{"id": f"wamid.out.{n}"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def to(self, phone: str) -> list[dict[str, Any]]:
        with self._lock:
            return [b for b in self.sent if b.get("to") == phone]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Reply:
    status: int
    body: Any
    route: str | None
    duplicate: bool
