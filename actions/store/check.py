"""``python -m actions.store check``: try the configured store's credentials and say, in plain
words, what the bot will be able to do with them and what it will hand to an agent.

Every probe is read-only: reads ask for one order and one product; write permissions are probed
with a request that cannot change anything (WooCommerce: ``PUT /orders/0``, answered 401 for a
read-only key and 400/404 otherwise; Tiendanube: ``POST /orders/0/cancel``, 401/403 without the
write scope, 404 with it; Shopify: the app's granted access scopes). Nothing printed contains a
credential.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from actions.store.base import OPERATIONS, StoreBackend, StoreError
from actions.store.settings import SettingsError, StoreSettings

OPERATION_NAMES = {"cancel_order": "cancel orders", "change_address": "change the address",
                   "create_return": "open returns"}


@dataclass(frozen=True)
class Probe:
    name: str
    ok: bool | None  # None: could not be determined
    detail: str = ""


async def probe_demo(store: StoreBackend, settings: StoreSettings) -> list[Probe]:
    path = settings.database
    if not path.is_file():
        return [Probe("demo store file", False, f"{path} does not exist: run "
                                                "`python -m actions.store seed`")]
    products = await store.search_products("zapatillas botas", limit=5)
    return [Probe("demo store file", True, str(path)),
            Probe("read products", bool(products), f"{len(products)} found for a sample search")]


async def run_checks(settings: StoreSettings) -> tuple[list[Probe], list[str]]:
    """The probes and the summary lines for ``settings``."""
    from actions.store import build_store

    store = build_store(settings)
    probes: list[Probe] = []
    try:
        if settings.backend == "demo":
            probes = await probe_demo(store, settings)
        else:
            probes = await store.check()  # type: ignore[attr-defined]
    except StoreError as exc:
        probes.append(Probe("connection", False, str(exc)))
    finally:
        await store.close()
    writes = {p.name: p.ok for p in probes}.get("write permission")
    summary = []
    for operation in OPERATIONS:
        name = OPERATION_NAMES[operation]
        native = getattr(type(store), "native_operations", frozenset(OPERATIONS))
        if operation not in native:
            summary.append(f"- {name}: not in the {settings.backend} API -> an agent does it "
                           "(the request arrives pre-filled)")
        elif not settings.allow_writes:
            summary.append(f"- {name}: STORE_ALLOW_WRITES is off -> an agent does it "
                           "(set it to true to let the bot do it)")
        elif writes is False:
            summary.append(f"- {name}: the key cannot write -> an agent does it")
        else:
            summary.append(f"- {name}: the bot does it")
    return probes, summary


def main_check() -> int:
    try:
        settings = StoreSettings.from_env()
    except SettingsError as exc:
        print(f"configuration error: {exc}")
        return 2
    print(f"store backend: {settings.backend}")
    probes, summary = asyncio.run(run_checks(settings))
    for probe in probes:
        mark = {True: "OK  ", False: "FAIL", None: "??  "}[probe.ok]
        print(f"  {mark} {probe.name}" + (f": {probe.detail}" if probe.detail else ""))
    print("what the bot can do:")
    for line in summary:
        print("  " + line)
    essential = [p for p in probes if p.name in {"credentials", "read orders", "connection",
                                                 "demo store file"}]
    return 0 if essential and all(p.ok for p in essential) else 1
