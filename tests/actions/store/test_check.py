"""``python -m actions.store check`` against the stand-ins: what it says for good credentials, a
read-only key, missing scopes and bad credentials; it never prints a secret."""

from __future__ import annotations

from typing import Any

import pytest

from actions.store.__main__ import main
from tests.actions.store.standins.shopify import ALL_SCOPES


def configure(monkeypatch: pytest.MonkeyPatch, standin: Any, **extra: str) -> list[str]:
    for name in ("STORE_ALLOW_WRITES",):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STORE_BACKEND", standin.platform)
    if standin.platform == "woocommerce":
        secrets = {"WOOCOMMERCE_CONSUMER_KEY": standin.key,
                   "WOOCOMMERCE_CONSUMER_SECRET": standin.secret}
        monkeypatch.setenv("WOOCOMMERCE_URL", standin.url)
    elif standin.platform == "tiendanube":
        secrets = {"TIENDANUBE_ACCESS_TOKEN": standin.token}
        monkeypatch.setenv("TIENDANUBE_API_URL", standin.url + "/v1")
        monkeypatch.setenv("TIENDANUBE_STORE_ID", standin.store_id)
        monkeypatch.setenv("TIENDANUBE_USER_AGENT", "Atiende check (dev@atiende.invalid)")
    else:
        secrets = {"SHOPIFY_ACCESS_TOKEN": standin.token}
        monkeypatch.setenv("SHOPIFY_SHOP", standin.url)
    secrets.update(extra)
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    return list(secrets.values())


def run(capsys: pytest.CaptureFixture[str], secrets: list[str]) -> tuple[int, str]:
    code = main(["check"])
    out = capsys.readouterr().out
    for secret in secrets:
        assert secret not in out
    return code, out


def test_woocommerce_read_write_key(woo, monkeypatch, capsys):
    code, out = run(capsys, configure(monkeypatch, woo, STORE_ALLOW_WRITES="true"))
    assert code == 0
    assert "OK   credentials: accepted" in out and "OK   read orders:" in out
    assert "OK   write permission: read/write key" in out
    assert "cancel orders: the bot does it" in out
    assert "open returns: not in the woocommerce API -> an agent does it" in out


def test_woocommerce_read_key_by_default(woo, monkeypatch, capsys):
    woo.permissions = "read"
    woo.tracking = False
    code, out = run(capsys, configure(monkeypatch, woo))
    assert code == 0
    assert "FAIL write permission: read-only key" in out
    assert "??   Shipment Tracking extension: not installed" in out
    assert "cancel orders: STORE_ALLOW_WRITES is off -> an agent does it" in out
    assert not [r for r in woo.requests if r.method not in {"GET", "PUT"}]


def test_woocommerce_bad_secret(woo, monkeypatch, capsys):
    code, out = run(capsys, configure(monkeypatch, woo,
                                      WOOCOMMERCE_CONSUMER_SECRET="cs_typo_in_the_secret"))
    assert code == 1 and "FAIL credentials: rejected (HTTP 401)" in out


def test_tiendanube_without_write_scope(tn, monkeypatch, capsys):
    tn.write = False
    code, out = run(capsys, configure(monkeypatch, tn, STORE_ALLOW_WRITES="true"))
    assert code == 0
    assert "OK   credentials: store 'Atiende Demo'" in out and "store currency: EUR" in out
    assert "FAIL write permission: no write_orders scope" in out
    assert "cancel orders: the key cannot write -> an agent does it" in out
    assert "change the address: not in the tiendanube API" in out


def test_tiendanube_with_write_scope_changes_nothing(tn, monkeypatch, capsys):
    before = {oid: (o["status"], o["updated_at"]) for oid, o in tn.tn_orders.items()}
    code, out = run(capsys, configure(monkeypatch, tn, STORE_ALLOW_WRITES="true"))
    assert code == 0 and "OK   write permission: write_orders granted" in out
    assert {oid: (o["status"], o["updated_at"]) for oid, o in tn.tn_orders.items()} == before
    assert len(tn.calls("/cancel", "POST")) == 1 and tn.calls("/cancel")[0].path.endswith(
        "/orders/0/cancel")


def test_shopify_scopes(shop, monkeypatch, capsys):
    shop.scopes = set(ALL_SCOPES) - {"write_orders", "write_returns", "read_inventory"}
    code, out = run(capsys, configure(monkeypatch, shop))
    assert code == 0
    assert "OK   credentials: shop 'Atiende Demo'" in out
    assert "??   read_inventory: missing: no stock counts" in out
    assert "FAIL write permission: read-only app" in out


def test_shopify_bad_token(shop, monkeypatch, capsys):
    code, out = run(capsys, configure(monkeypatch, shop, SHOPIFY_ACCESS_TOKEN="shpat_wrong_one"))
    assert code == 1 and "FAIL credentials: rejected (HTTP 401)" in out


def test_demo_store(store_db, monkeypatch, capsys):
    monkeypatch.setenv("STORE_BACKEND", "demo")
    code, out = run(capsys, [])
    assert code == 0 and "OK   demo store file" in out and "cancel orders: the bot does it" in out


def test_configuration_errors_name_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("STORE_BACKEND", "shopify")
    monkeypatch.delenv("SHOPIFY_SHOP", raising=False)
    code, out = run(capsys, [])
    assert code == 2 and "SHOPIFY_SHOP" in out


def test_shopify_dev_dashboard_credentials(shop, monkeypatch, capsys):
    monkeypatch.delenv("SHOPIFY_ACCESS_TOKEN", raising=False)
    secrets = configure(monkeypatch, shop, SHOPIFY_CLIENT_ID=shop.client_id,
                        SHOPIFY_CLIENT_SECRET=shop.client_secret)
    monkeypatch.delenv("SHOPIFY_ACCESS_TOKEN")
    code, out = run(capsys, [s for s in secrets if s != shop.token])
    assert code == 0 and "OK   credentials: shop 'Atiende Demo'" in out
    assert "shpat_cc_" not in out
