"""Store settings, read once from the environment and handed to the adapters.

``StoreSettings.from_env()`` validates everything up front and names the variable that is wrong
(never its value: some are secrets). Secrets are kept out of ``repr`` so a settings object can be
logged or shown in a traceback without leaking a key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

BACKENDS = ("demo", "woocommerce", "tiendanube", "shopify")
ALIASES = {"sqlite": "demo"}  # the demo store's original name keeps working
SHOPIFY_API_VERSION = "2025-01"


class SettingsError(ValueError):
    """A store setting is missing or malformed; the message names the variable."""


def _float(env: Mapping[str, str], name: str, default: float, *, positive: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value < 0 or (positive and value == 0):
        raise SettingsError(f"{name} must be {'positive' if positive else 'zero or more'}")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise SettingsError(f"{name} must be a whole number >= 0, got {raw!r}")
    return int(raw)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip().lower() or choices[0]
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _required(env: Mapping[str, str], name: str, backend: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"STORE_BACKEND={backend} needs {name} (see docs/stores.md)")
    return value


def _url(env: Mapping[str, str], name: str, backend: str, default: str | None = None) -> str:
    value = env.get(name, "").strip() or default or _required(env, name, backend)
    if not re.match(r"^https?://[^\s/]+", value):
        raise SettingsError(f"{name} must be an http(s) URL")
    host = re.sub(r"^https?://", "", value).split("/")[0].split(":")[0]
    if value.startswith("http://") and host not in {"127.0.0.1", "localhost", "::1"}:
        raise SettingsError(f"{name} must use https (plain http only for a local test server)")
    return value.rstrip("/")


def _category_map(raw: str) -> dict[str, str]:
    """``STORE_CATEGORY_MAP="Calzado=footwear;Bañadores=swimwear"``."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in re.split(r"[;\n]", raw))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SettingsError("STORE_CATEGORY_MAP entries look like 'Platform category=policy "
                                f"category', got {part!r}")
        mapping[key.strip()] = value.strip()
    return mapping


@dataclass(frozen=True)
class StoreSettings:
    """Everything the store adapters read from the environment (docs/stores.md lists it)."""

    backend: str = "demo"
    database: Path = Path("var/store.db")  # demo store file
    timeout: float = 3.0  # seconds per HTTP attempt / SQLite call
    retries: int = 2  # extra attempts after a 5xx, a timeout or a 429
    deadline: float = 8.0  # seconds for a whole call, waits included
    max_wait: float = 4.0  # longest Retry-After worth waiting for while a shopper waits
    cache_seconds: float = 30.0  # lookups reused within a conversation
    allow_writes: bool = False  # may the bot cancel/change/return itself?
    default_market: str = "ES"
    order_prefix: str = ""  # text before the digits in the platform's order numbers
    vip_tag: str = "vip"
    category_map: dict[str, str] = field(default_factory=dict)
    store_url: str = ""  # public shop URL, for product links where the API gives none
    # WooCommerce
    woocommerce_url: str = ""
    woocommerce_key: str = field(default="", repr=False)
    woocommerce_secret: str = field(default="", repr=False)
    woocommerce_completed_means: str = "delivered"  # or "shipped"
    # Tiendanube / Nuvemshop
    tiendanube_api_url: str = "https://api.tiendanube.com/v1"
    tiendanube_store_id: str = ""
    tiendanube_token: str = field(default="", repr=False)
    tiendanube_user_agent: str = ""
    # Shopify
    shopify_url: str = ""
    shopify_token: str = field(default="", repr=False)  # admin-created (legacy) custom app
    shopify_client_id: str = ""  # Dev Dashboard app: client credentials grant
    shopify_client_secret: str = field(default="", repr=False)
    shopify_api_version: str = SHOPIFY_API_VERSION

    def secrets(self) -> list[str]:
        """The secret values in use (tests check none of them ever reaches a log)."""
        return [s for s in (self.woocommerce_key, self.woocommerce_secret, self.tiendanube_token,
                            self.shopify_token, self.shopify_client_secret) if s]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StoreSettings:
        env = os.environ if env is None else env
        raw_backend = env.get("STORE_BACKEND", "demo").strip().lower() or "demo"
        backend = ALIASES.get(raw_backend, raw_backend)
        if backend not in BACKENDS:
            raise SettingsError(f"unknown STORE_BACKEND {raw_backend!r}; supported: "
                                f"{', '.join(BACKENDS)} (sqlite is an alias of demo)")
        database = Path(env.get("STORE_DATABASE", "").strip()
                        or Path(env.get("ATIENDE_DATA_DIR", "var")) / "store.db")
        market = env.get("STORE_DEFAULT_MARKET", "ES").strip().upper() or "ES"
        values: dict[str, object] = {
            "backend": backend,
            "database": database,
            "timeout": _float(env, "STORE_TIMEOUT_SECONDS", 3.0, positive=True),
            "retries": _int(env, "STORE_RETRIES", 2),
            "deadline": _float(env, "STORE_DEADLINE_SECONDS", 8.0, positive=True),
            "max_wait": _float(env, "STORE_MAX_WAIT_SECONDS", 4.0),
            "cache_seconds": _float(env, "STORE_CACHE_SECONDS", 30.0),
            # The demo store is the demo: it lets the bot act. Real stores start read-only.
            "allow_writes": _bool(env, "STORE_ALLOW_WRITES", backend == "demo"),
            "default_market": market,
            "order_prefix": env.get("STORE_ORDER_PREFIX", "").strip(),
            "vip_tag": env.get("STORE_VIP_TAG", "vip").strip() or "vip",
            "category_map": _category_map(env.get("STORE_CATEGORY_MAP", "")),
            "store_url": env.get("STORE_PUBLIC_URL", "").strip().rstrip("/"),
        }
        if backend == "woocommerce":
            values.update(
                woocommerce_url=_url(env, "WOOCOMMERCE_URL", backend),
                woocommerce_key=_required(env, "WOOCOMMERCE_CONSUMER_KEY", backend),
                woocommerce_secret=_required(env, "WOOCOMMERCE_CONSUMER_SECRET", backend),
                woocommerce_completed_means=_choice(env, "WOOCOMMERCE_COMPLETED_MEANS",
                                                    ("delivered", "shipped")),
            )
        elif backend == "tiendanube":
            agent = _required(env, "TIENDANUBE_USER_AGENT", backend)
            if not re.search(r"\(.*(@|https?://).*\)", agent):
                raise SettingsError("TIENDANUBE_USER_AGENT must name the app and a contact, like "
                                    "'Atiende (soporte@mitienda.com)': Tiendanube answers 400 "
                                    "without one")
            store_id = _required(env, "TIENDANUBE_STORE_ID", backend)
            if not store_id.isdigit():
                raise SettingsError("TIENDANUBE_STORE_ID must be the numeric store id")
            values.update(
                tiendanube_api_url=_url(env, "TIENDANUBE_API_URL", backend,
                                        "https://api.tiendanube.com/v1"),
                tiendanube_store_id=store_id,
                tiendanube_token=_required(env, "TIENDANUBE_ACCESS_TOKEN", backend),
                tiendanube_user_agent=agent,
            )
        elif backend == "shopify":
            shop = _required(env, "SHOPIFY_SHOP", backend)
            if not shop.startswith(("http://", "https://")):
                shop = "https://" + shop
            version = env.get("SHOPIFY_API_VERSION", "").strip() or SHOPIFY_API_VERSION
            if not re.fullmatch(r"\d{4}-\d{2}|unstable", version):
                raise SettingsError("SHOPIFY_API_VERSION looks like 2025-01")
            token = env.get("SHOPIFY_ACCESS_TOKEN", "").strip()
            client_id = env.get("SHOPIFY_CLIENT_ID", "").strip()
            client_secret = env.get("SHOPIFY_CLIENT_SECRET", "").strip()
            if not token and not (client_id and client_secret):
                raise SettingsError("STORE_BACKEND=shopify needs SHOPIFY_ACCESS_TOKEN (an app "
                                    "created in the Shopify admin) or SHOPIFY_CLIENT_ID and "
                                    "SHOPIFY_CLIENT_SECRET (a Dev Dashboard app; see "
                                    "docs/stores.md)")
            values.update(
                shopify_url=_url({"SHOPIFY_SHOP": shop}, "SHOPIFY_SHOP", backend),
                shopify_token=token, shopify_client_id=client_id,
                shopify_client_secret=client_secret, shopify_api_version=version,
            )
        return cls(**values)  # type: ignore[arg-type]
