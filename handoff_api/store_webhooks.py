"""Steps 1 and 2 of an order event (:mod:`handoff_api.store_events`): the platform's signature
(HMAC-SHA256 of the raw body, in each platform's own header and encoding) and the body read into
an :class:`~actions.store.events.OrderEvent` with its notice key; :class:`Refused` says why not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from actions.store.events import OrderEvent

PLATFORMS = ("woocommerce", "tiendanube", "shopify")
#: what a shopper is told about (paid and cancelled have their own store mails / agent follow-up)
NOTIFY_KINDS = ("shipped", "out_for_delivery", "delivered", "refunded")
#: platform -> (signature header, encoding of the HMAC-SHA256 digest, secret's env variable)
SCHEMES = {
    "woocommerce": ("X-WC-Webhook-Signature", "base64", "WOOCOMMERCE_WEBHOOK_SECRET"),
    "shopify": ("X-Shopify-Hmac-Sha256", "base64", "SHOPIFY_WEBHOOK_SECRET"),
    "tiendanube": ("x-linkedstore-hmac-sha256", "hex", "TIENDANUBE_WEBHOOK_SECRET"),
}
_REF = re.compile(r"\d{1,20}")


class Refused(Exception):
    """A delivery refused with an HTTP status and a reason for the platform's webhook log."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


# -- 1. signatures --------------------------------------------------------------------------------
def sign(platform: str, secret: str, body: bytes) -> str:
    """The header value ``platform`` sends for ``body`` (tests and docs use it too)."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode() if SCHEMES[platform][1] == "base64" \
        else digest.hex()


def verify(platform: str, secret: str, headers: Mapping[str, str], body: bytes) -> None:
    """Raises :class:`Refused` unless ``body`` carries ``platform``'s valid signature."""
    header, encoding, env = SCHEMES[platform]
    if not secret:
        raise Refused(503, f"{platform} webhooks are not configured on this server: set {env}")
    given = (headers.get(header) or "").strip()
    if not given:
        raise Refused(401, f"missing {header} header (HMAC-SHA256 of the body)")
    if encoding == "hex":
        given = given.lower()
    if not hmac.compare_digest(given.encode("ascii", "replace"),
                               sign(platform, secret, body).encode()):
        raise Refused(401, f"{header} does not match the body: wrong secret or altered body")


# -- 2. normalise ---------------------------------------------------------------------------------
def _ref(value: Any, what: str) -> str:
    text = str(value if value is not None else "")
    if isinstance(value, bool) or not _REF.fullmatch(text):
        raise Refused(422, f"{what} must be a numeric id, got {text[:40]!r}")
    return text


def origin(platform: str, headers: Mapping[str, str], body: bytes) -> str | None:
    """Which shop sent a delivery, when the platform says: Tiendanube's ``store_id`` (one app
    secret signs for every store that installed the app), Shopify's ``X-Shopify-Shop-Domain``
    (likewise); WooCommerce's secret belongs to one webhook of one shop."""
    if platform == "shopify":
        return (headers.get("X-Shopify-Shop-Domain") or "").strip().lower() or None
    if platform == "tiendanube":
        match = re.search(rb'"store_id"\s*:\s*"?(\d{1,20})', body)
        return match.group(1).decode() if match else None
    return None


def parse(platform: str, headers: Mapping[str, str], body: bytes, *,
          completed_means: str = "delivered") -> tuple[OrderEvent | None, str]:
    """``(event, notice_key)`` of a verified body; ``(None, reason)`` for a topic the shopper is
    not told about. Raises :class:`Refused` (400/422) for a body that cannot be read."""
    from actions.store.events import from_shopify, from_tiendanube, from_woocommerce

    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(400, f"body is not JSON: {str(exc)[:100]}") from None
    if not isinstance(payload, dict):
        raise Refused(400, "body must be a JSON object")
    fallback = hashlib.sha256(body).hexdigest()[:32]  # no delivery id header: the body decides
    suffix = ""
    if platform == "woocommerce":
        topic = (headers.get("X-WC-Webhook-Topic") or "").strip()
        if not topic:
            raise Refused(400, "missing X-WC-Webhook-Topic header")
        if topic != "order.updated":  # a new order (POS, import) is not news to its shopper
            return None, f"topic {topic} is not an order update"
        _ref(payload.get("id"), "order id")
        event = from_woocommerce(topic, payload, completed_means=completed_means,
                                 delivery_id=headers.get("X-WC-Webhook-Delivery-ID") or fallback)
    elif platform == "tiendanube":
        if not payload.get("event"):
            raise Refused(400, "missing \"event\" in the body")
        _ref(payload.get("id"), "id")
        event = from_tiendanube(payload)
    else:
        topic = (headers.get("X-Shopify-Topic") or "").strip()
        if not topic:
            raise Refused(400, "missing X-Shopify-Topic header")
        if not (topic.startswith(("orders/", "fulfillments/")) or topic == "refunds/create"):
            return None, f"topic {topic} is not about an order"
        _ref(payload.get("order_id") if topic.startswith(("fulfillments/", "refunds/"))
             else payload.get("id"), "order id")
        webhook_id = headers.get("X-Shopify-Webhook-Id") or headers.get(
            "X-Shopify-Event-Id") or fallback
        event = from_shopify(topic, payload, webhook_id=webhook_id)
        if topic == "refunds/create" and payload.get("id") is not None:
            suffix = ":" + _ref(payload.get("id"), "refund id")  # each refund is its own news
    if event.kind not in NOTIFY_KINDS:
        return None, f"nothing to tell the shopper ({event.kind or 'no change they see'})"
    return event, f"{platform}:{event.order_ref}:{event.kind}{suffix}"
