"""What every platform stand-in shares: a real HTTP server on 127.0.0.1, the demo world it serves,
request recording, credential checks and injected faults.

A stand-in is a Starlette app served by uvicorn in a background thread, so the adapter under test
talks real HTTP (httpx, sockets, headers) and an action server in another process can use it too.
Each stand-in is seeded from the demo store's own data (``build_demo_orders`` and
``build_catalogue``), converted into the platform's documented payload shapes, so the same
conversation stories hold on every backend.

Faults are queued per test: ``standin.faults.add(status=429, headers={"Retry-After": "1"})``
answers the next matching request with that status before the real route runs.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from actions.store.demo_catalogue import DemoProduct, build_catalogue
from actions.store.seed import DemoOrder, build_demo_orders
from actions.store_calendar import today as store_today

FIXTURES = Path(__file__).parent / "fixtures"


@functools.cache
def _load(name: str) -> Any:
    return yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))


def fixture(name: str) -> Any:
    """A recorded payload (YAML; the comment at its top names the documentation page)."""
    return copy.deepcopy(_load(name))


def money(cents: int) -> str:
    """Platforms send amounts as decimal strings with two places."""
    return f"{cents / 100:.2f}"


def iso(value: datetime | date | None, *, z: bool = False) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        text = value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        return text + ("Z" if z else "")
    return value.isoformat()


def split_demo_address(line: str, market: str) -> dict[str, str]:
    """The demo store's one-line addresses in the fields platforms keep (written out per market,
    independently of the adapters' own parser)."""
    parts = [p.strip() for p in line.split(",")]
    out = {"address1": parts[0], "address2": "", "postcode": "", "city": "", "state": ""}
    if market == "US":  # "245 W 17th St, Apt 4C, New York, NY 10011"
        state, postcode = parts[-1].split()
        out.update(state=state, postcode=postcode, city=parts[-2],
                   address2=", ".join(parts[1:-2]))
    elif market == "CO":  # "Carrera 7 # 71-21, apto 502, Bogotá": no postcode
        out.update(city=parts[-1], address2=", ".join(parts[1:-1]))
    else:  # "Calle de Atocha 27, 3º B, 28012 Madrid"
        postcode, _, city = parts[-1].partition(" ")
        out.update(postcode=postcode, city=city, address2=", ".join(parts[1:-1]))
    return out


@dataclass
class Fault:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    path: str = ""  # only requests whose path contains this
    method: str = ""
    delay: float = 0.0  # seconds to stall before answering (timeouts)


class Faults:
    """Answers queued for the next requests (each used once)."""

    def __init__(self) -> None:
        self._queue: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, status: int, *, times: int = 1, headers: dict[str, str] | None = None,
            body: Any = None, path: str = "", method: str = "", delay: float = 0.0) -> None:
        """Queue ``times`` answers; ``status=0`` with a ``delay`` stalls, then serves normally."""
        with self._lock:
            self._queue.extend(Fault(status, dict(headers or {}), body, path, method, delay)
                               for _ in range(times))

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for n, fault in enumerate(self._queue):
                if fault.path in path and (not fault.method or fault.method == method):
                    return self._queue.pop(n)
        return None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class ThreadedServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a background thread."""

    name = "server"

    def __init__(self) -> None:
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def app(self) -> Any:  # pragma: no cover
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Any:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="error",
                                access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True,
                                        name=f"standin-{self.name}")
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


class StandIn(ThreadedServer):
    """Base class: subclasses build ``routes()`` and ``check_auth()`` for their platform."""

    platform = "standin"

    def __init__(self, *, today: date | None = None) -> None:
        super().__init__()
        self.name = self.platform
        self.today = today or store_today()
        self.faults = Faults()
        self.requests: list[Recorded] = []
        self.lock = threading.RLock()
        self.reset()

    # -- demo world ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Reseed from the demo data (every story starts from the same store)."""
        with self.lock:
            self.orders: list[DemoOrder] = build_demo_orders(self.today)
            self.catalogue: list[DemoProduct] = build_catalogue()
            self.requests.clear()
            self.faults.clear()
            self.seed()

    def seed(self) -> None:  # pragma: no cover - subclasses convert the demo world
        raise NotImplementedError

    # -- HTTP -----------------------------------------------------------------------------------
    def routes(self) -> list[Any]:  # pragma: no cover
        raise NotImplementedError

    def check_auth(self, request: Request) -> Response | None:  # pragma: no cover
        """None when the request carries the right credentials, else the platform's 401."""
        raise NotImplementedError

    def fault_response(self, fault: Fault) -> Response:
        body = fault.body if fault.body is not None else {"error": f"injected {fault.status}"}
        return JSONResponse(body, status_code=fault.status, headers=fault.headers)

    def app(self) -> Starlette:
        standin = self

        async def middleware(scope: Any, receive: Callable[..., Any], send: Callable[..., Any]
                             ) -> None:
            if scope["type"] != "http":
                await inner(scope, receive, send)
                return
            request = Request(scope, receive)
            body = await request.body()
            with standin.lock:
                standin.requests.append(Recorded(request.method, request.url.path,
                                                 dict(request.query_params),
                                                 dict(request.headers), body))

            async def replay() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            denied = standin.check_auth(request)
            fault = None if denied else standin.faults.take(request.method, request.url.path)
            if fault is not None and fault.delay:
                await asyncio.sleep(fault.delay)
                if fault.status == 0:
                    fault = None
            if denied is not None or fault is not None:
                response = denied or standin.fault_response(fault)  # type: ignore[arg-type]
                await response(scope, replay, send)
                return
            await inner(scope, replay, send)

        inner = Starlette(routes=self.routes())
        return middleware  # type: ignore[return-value]

    def calls(self, fragment: str = "", method: str = "") -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests
                    if fragment in r.path and (not method or r.method == method)]
