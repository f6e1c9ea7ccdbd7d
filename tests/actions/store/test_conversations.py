"""The same conversation stories against every store backend, through the trained Rasa model.

For STORE_BACKEND = demo, woocommerce, tiendanube and shopify this starts a real action server
(rasa-sdk, app env) on that backend — the platforms on their stand-ins, all seeded with the same
demo orders and catalogue — plus a second one with STORE_ALLOW_WRITES=false, and plays the stories
of ``stories.yml`` through the trained model (``models/atiende.tar.gz``, loaded once by
``rasa_player.py`` in the bot env). A recording stand-in of the handoff API receives the packets.
Each story then becomes one test per backend. Without the model the module is skipped loudly
(``ATIENDE_REQUIRE_MODEL=1`` makes that a failure), as in tests/bot.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from actions.store.seed import seed_database
from actions.store.shopify import ShopifyStore
from actions.store.tiendanube import TiendanubeStore
from actions.store.woocommerce import WooCommerceStore
from tests.actions.helpers import demo
from tests.actions.store.standins.common import ThreadedServer
from tests.actions.store.standins.shopify import ShopifyStandIn
from tests.actions.store.standins.tiendanube import TiendanubeStandIn
from tests.actions.store.standins.woocommerce import WooCommerceStandIn
from tests.bot.trained_model import MODEL, ROOT, model_test_marks

pytestmark = model_test_marks("STORE CONVERSATION TESTS")

STORIES = yaml.safe_load((Path(__file__).parent / "stories.yml").read_text(encoding="utf-8"))
BACKENDS = ("demo", "woocommerce", "tiendanube", "shopify")
NATIVE = {"demo": {"cancel_order", "change_address", "create_return"},
          "woocommerce": set(WooCommerceStore.native_operations),
          "tiendanube": set(TiendanubeStore.native_operations),
          "shopify": set(ShopifyStore.native_operations)}
REQUESTED = {("shopify", "create_return")}  # the platform records it for the team to approve
BOT_PYTHON = ROOT / ".venv" / "bot" / "bin" / "python"


class HandoffRecorder(ThreadedServer):
    """Stand-in of the handoff API: accepts packets (201, first in the queue) and keeps them."""

    name = "handoff"

    def __init__(self) -> None:
        super().__init__()
        self.packets: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def app(self) -> Any:
        async def handoffs(request: Request) -> JSONResponse:
            packet = await request.json()
            with self.lock:
                self.packets.append(packet)
                number = len(self.packets)
            return JSONResponse({"id": number, "status": "queued", "position": 1,
                                 "estimated_wait_seconds": 60, "within_business_hours": True,
                                 "next_open_at": None}, 201)

        async def other(request: Request) -> JSONResponse:
            return JSONResponse({"stored": True}, 201)

        return Starlette(routes=[Route("/api/handoffs", handoffs, methods=["POST"]),
                                 Route("/{rest:path}", other, methods=["GET", "POST"])])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def outcome_for(backend: str, operation: str, read_only: bool) -> str:
    if read_only or operation not in NATIVE[backend]:
        return "handoff"
    return "requested" if (backend, operation) in REQUESTED else "done"


def fill(value: Any, order: Any) -> Any:
    if isinstance(value, list):
        return [fill(v, order) for v in value]
    if order is None:
        return value
    fields = {"id": order.id, "email": order.customer["email"],
              **{k: v for k, v in vars(order).items() if isinstance(v, str)}}
    return value.format(**fields)


def story_order(standin_orders: list[Any], story: dict[str, Any]) -> Any:
    spec = story.get("order")
    if not spec:
        return None
    return demo(standin_orders, spec["scenario"], spec["language"], spec.get("market"))


def action_server_env(backend: str, read_only: bool, tmp: Path, standins: dict[str, Any],
                      handoff: HandoffRecorder) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("STORE_", "WOOCOMMERCE_", "TIENDANUBE_", "SHOPIFY_"))}
    data = tmp / f"{backend}-{'ro' if read_only else 'rw'}"
    data.mkdir()
    env.update({"ATIENDE_DATA_DIR": str(data), "HANDOFF_API_URL": handoff.url,
                "HANDOFF_BOT_TOKEN": "conv-bot-token", "STORE_BACKEND": backend,
                "STORE_ALLOW_WRITES": "false" if read_only else "true",
                "STORE_TIMEOUT_SECONDS": "5", "PYTHONUNBUFFERED": "1"})
    if backend == "demo":
        seed_database(data / "store.db", force=True)
        env["STORE_DATABASE"] = str(data / "store.db")
    elif backend == "woocommerce":
        s = standins[backend]
        env.update(WOOCOMMERCE_URL=s.url, WOOCOMMERCE_CONSUMER_KEY=s.key,
                   WOOCOMMERCE_CONSUMER_SECRET=s.secret)
    elif backend == "tiendanube":
        s = standins[backend]
        env.update(TIENDANUBE_API_URL=s.url + "/v1", TIENDANUBE_STORE_ID=s.store_id,
                   TIENDANUBE_ACCESS_TOKEN=s.token,
                   TIENDANUBE_USER_AGENT="Atiende tests (dev@atiende.invalid)",
                   STORE_PUBLIC_URL="https://tienda.atiende-demo.example")
    else:
        s = standins[backend]
        env.update(SHOPIFY_SHOP=s.url, SHOPIFY_ACCESS_TOKEN=s.token)
    return env


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Start everything, play every story on every backend once, return what happened."""
    if not BOT_PYTHON.exists():
        pytest.fail(f"bot environment missing at {BOT_PYTHON} (scripts/bootstrap.sh bot)")
    tmp = tmp_path_factory.mktemp("conversations")
    started = time.monotonic()
    standins = {"woocommerce": WooCommerceStandIn().start(),
                "tiendanube": TiendanubeStandIn().start(), "shopify": ShopifyStandIn().start()}
    handoff = HandoffRecorder().start()
    servers: list[subprocess.Popen[bytes]] = []
    try:
        runs = []
        for backend in BACKENDS:
            orders = standins[backend].orders if backend in standins else \
                standins["woocommerce"].orders  # the demo store holds the same demo orders
            for read_only, stories in ((False, STORIES["stories"]),
                                       (True, STORIES["read_only_stories"])):
                port = free_port()
                env = action_server_env(backend, read_only, tmp, standins, handoff)
                servers.append(subprocess.Popen(
                    [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", str(port)],
                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(  # noqa: SIM115
                        tmp / f"actions-{backend}-{read_only}.log", "wb")))
                runs.append({
                    "name": f"{backend}-{'ro' if read_only else 'rw'}", "backend": backend,
                    "read_only": read_only, "port": port,
                    "action_url": f"http://127.0.0.1:{port}/webhook",
                    "conversations": [{"id": s["id"], "turns": [
                        fill(t["user"], story_order(orders, s)) for t in s["turns"]]}
                        for s in stories]})
        deadline = time.monotonic() + 180
        for run, server in zip(runs, servers, strict=True):
            while True:
                assert server.poll() is None, f"action server {run['name']} exited"
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{run['port']}/health",
                                           timeout=2).read()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "action servers did not start in 180 s"
                    time.sleep(0.5)
        ready = time.monotonic()
        plan = tmp / "plan.json"
        plan.write_text(json.dumps({"model": str(MODEL), "runs": runs}), encoding="utf-8")
        result = subprocess.run([str(BOT_PYTHON), str(Path(__file__).parent / "rasa_player.py"),
                                 str(plan)], cwd=ROOT, capture_output=True, text=True,
                                timeout=900, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        turns = [json.loads(line[5:]) for line in result.stdout.splitlines()
                 if line.startswith("TURN ")]
        assert turns, "the player produced nothing:\n" + result.stderr[-3000:]
        timing = {"setup_s": ready - started, "total_s": time.monotonic() - started,
                  "turns": len(turns)}
        sys.stderr.write(f"\n[store conversations] {timing['turns']} turns on "
                         f"{len(runs)} action servers; set-up {timing['setup_s']:.0f} s, "
                         f"total {timing['total_s']:.0f} s\n")
        yield {"turns": turns, "packets": list(handoff.packets), "runs": runs,
               "standins": standins, "timing": timing}
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        for standin in standins.values():
            standin.stop()
        handoff.stop()


def check_story(played: dict[str, Any], backend: str, story: dict[str, Any],
                read_only: bool) -> None:
    run = f"{backend}-{'ro' if read_only else 'rw'}"
    standins = played["standins"]
    orders = (standins.get(backend) or standins["woocommerce"]).orders
    order = story_order(orders, story)
    turns = [t for t in played["turns"] if t["run"] == run and t["conversation"] == story["id"]]
    assert len(turns) == len(story["turns"]), f"{run}/{story['id']}: turns missing"
    transcript = "\n".join(f"> {t['intent']} {t['actions']}\n" + "\n".join(t["texts"])
                           for t in turns)
    for spec, turn in zip(story["turns"], turns, strict=True):
        said = "\n".join(turn["texts"])
        wanted = spec.get("expect") or []
        if "outcome" in spec:
            kind = outcome_for(backend, story["operation"], read_only)
            wanted = spec["outcome"][kind]
            if kind == "handoff":
                assert "action_handoff" in turn["actions"], transcript
                packet = next((p for p in played["packets"]
                               if p["conversation_id"] == turn["sender"]), None)
                assert packet is not None, f"no handoff packet\n{transcript}"
                assert packet["reason"] == "approval_required"
                for text in fill(spec.get("packet") or [], order):
                    assert text in packet["slots"].get("store_request", ""), packet["slots"]
        for item in wanted:
            options = fill(item if isinstance(item, list) else [item], order)
            assert any(o in said for o in options), \
                f"{run}/{story['id']} turn {turn['turn']}: none of {options}\n{transcript}"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("story", STORIES["stories"], ids=lambda s: s["id"])
def test_story_on_every_backend(played, backend, story):
    check_story(played, backend, story, read_only=False)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("story", STORIES["read_only_stories"], ids=lambda s: s["id"])
def test_read_only_store_hands_changes_to_agents(played, backend, story):
    check_story(played, backend, story, read_only=True)


def test_the_platform_changes_are_real(played):
    """What the stories did is visible in the platforms' own state, not only in the replies."""
    woo = played["standins"]["woocommerce"]
    cancelled = demo(woo.orders, "cancellable", "es")
    body = next(o for o in woo.woo_orders.values() if o["number"] == cancelled.id[2:])
    assert body["status"] == "cancelled"
    shop = played["standins"]["shopify"]
    returned = demo(shop.orders, "return_window", "es")
    node = next(o for o in shop.shop_orders if o["name"] == f"#{returned.id[2:]}")
    assert [r["status"] for r in node["_returns"]] == ["REQUESTED"]
    read_only = demo(woo.orders, "cancellable", "es", "MX")
    body = next(o for o in woo.woo_orders.values() if o["number"] == read_only.id[2:])
    assert body["status"] == "processing"  # the read-only run changed nothing
