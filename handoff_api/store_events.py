"""Order events → proactive messages (issue #16): a store platform says an order shipped, is out
for delivery, was delivered or refunded, and the shopper is told once, on the channel they use.

One verified delivery goes through these steps (:meth:`OrderNotifier.handle`):

1. **signature** — HMAC-SHA256 of the raw body with the platform's secret, compared in constant
   time, in each platform's own header and encoding (:data:`SCHEMES`): WooCommerce
   ``X-WC-Webhook-Signature`` (base64), Shopify ``X-Shopify-Hmac-Sha256`` (base64), Tiendanube /
   Nuvemshop ``x-linkedstore-hmac-sha256`` (hex). No secret configured: 503, nothing accepted;
2. **normalise** with :mod:`actions.store.events` (the payload is a hint, not the truth);
   topics that tell the shopper nothing (order created, paid, product updates), and deliveries
   about another shop (:func:`origin`), are answered 200 ``ignored``;
3. **claim** the notice key (``platform:order:kind``) in ``order_notices``: an insert, so of five
   concurrent replays one wins on SQLite and on PostgreSQL, and any later retry, or a second
   webhook announcing the same fact, finds the row and is answered ``duplicate``;
4. **re-read the order** through the store adapter (:class:`OrderSource`) and confirm the event
   (a late "shipped" for an order already delivered is ``stale`` and not sent). The store down:
   the claim is released and the platform gets a 503, so its retry tries again;
5. **opt-out**: any of the order's contacts (hashed, :func:`contact_hash`) on the list → nothing;
6. **channel** (:func:`choose_channel`): WhatsApp — an approved template, the only message
   allowed outside the 24-hour window — when WhatsApp and a template for this event are
   configured (``WHATSAPP_ORDER_TEMPLATES``, else the template registry's ``order_<kind>``
   utility template once a sync from Meta says it is approved:
   :mod:`contracts.whatsapp_templates`) and the order's phone is a WhatsApp contact the store
   has talked to (:class:`KnownWhatsAppContacts`); e-mail otherwise, through the durable mail
   outbox with a one-click opt-out link (List-Unsubscribe). A WhatsApp refusal that will not
   change (template not approved, number not on WhatsApp) falls back to e-mail; a transient one
   is a 503 retry.

Steps 1–2 are in :mod:`handoff_api.store_webhooks`, steps 5–6 in :mod:`handoff_api.order_contacts`.
Logs name the platform, the notice key and the outcome, never an address or a phone.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from handoff_api.mail.outbox import enqueue_mail
from handoff_api.mail.templates import fragment, render
from handoff_api.models import OrderNotice
from handoff_api.order_contacts import (
    KnownWhatsAppContacts,
    WhatsAppContacts,
    choose_channel,
    contact_hash,
    is_opted_out,
    order_hashes,
    stop_token,
)
from handoff_api.queue import now_utc
from handoff_api.store_webhooks import SCHEMES, Refused, origin, parse, verify

if TYPE_CHECKING:  # pragma: no cover - typing only
    from actions.store.base import Order
    from actions.store.events import OrderEvent
    from handoff_api.deps import Services

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a claim not finished by then (crash) may be claimed again
STOP_PAYLOAD = "atiende_stop_order_notices"  # the template's quick-reply button
_WOO_PING = re.compile(rb"webhook_id=\d{1,20}")


# -- 4. the order, re-read through the store adapter ----------------------------------------------
class OrderSource(Protocol):
    """Re-reads the order an event names; raises ``OrderNotFound`` / ``StoreUnavailable``."""

    platform: str

    async def order_for(self, event: OrderEvent) -> Order: ...

    def owns(self, shop: str | None) -> bool:
        """Whether a delivery from ``shop`` (see :func:`origin`) is about this store."""
        ...


class StoreOrderSource:
    """:class:`OrderSource` over the store adapters of :mod:`actions.store` (``STORE_BACKEND``):
    by the platform's id (``get_order_by_ref``, the platform adapters), else by the number the
    shopper sees, in Atiende's spelling (the demo store)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.platform = str(getattr(store, "platform", "store"))

    @classmethod
    def from_env(cls) -> StoreOrderSource:
        import dataclasses

        from actions.store import build_store
        from actions.store.settings import StoreSettings

        # no cache: an event is news, the last lookup's answer is not
        return cls(build_store(dataclasses.replace(StoreSettings.from_env(), cache_seconds=0)))

    def owns(self, shop: str | None) -> bool:
        settings = getattr(self.store, "settings", None)
        if shop is None or settings is None:
            return True
        if self.platform == "tiendanube" and settings.tiendanube_store_id:
            return shop == str(settings.tiendanube_store_id)
        if self.platform == "shopify" and settings.shopify_url:
            from urllib.parse import urlsplit

            return shop == (urlsplit(settings.shopify_url).hostname or "").lower()
        return True

    async def order_for(self, event: OrderEvent) -> Order:
        from actions.store.base import OrderNotFound
        from actions.store.mapping import canonical_order_id

        by_ref = getattr(self.store, "get_order_by_ref", None)
        if by_ref is not None and event.order_ref:  # one direct read, no search
            return await by_ref(event.order_ref)  # type: ignore[no-any-return]
        if event.number:  # as the bot asks for it: AT101003, whatever the platform wrote
            return await self.store.get_order(  # type: ignore[no-any-return]
                canonical_order_id(event.number))
        raise OrderNotFound(f"{self.platform} adapter cannot look orders up by id")


def confirms(kind: str, order: Order) -> bool:
    """Whether the store's current state still says what the event says."""
    from actions.store.base import OrderStatus as S

    if kind in ("shipped", "out_for_delivery"):
        return order.status in (S.SHIPPED, S.IN_TRANSIT)
    if kind == "delivered":
        return order.status == S.DELIVERED
    return order.status == S.REFUNDED or bool(order.refunds)  # refunded (also partly)


def parse_pairs(text: str) -> dict[str, str]:
    """``"shipped=pedido_enviado, delivered=pedido_entregado"`` → dict."""
    pairs = (p.partition("=") for p in text.split(",") if "=" in p)
    return {k.strip(): v.strip() for k, _, v in pairs if k.strip() and v.strip()}


@dataclass(frozen=True)
class Outcome:
    status: str  # ignored | duplicate | sent | mailed | opted_out | no_contact | stale | ...
    detail: str | None = None
    key: str | None = None
    status_code: int = 200


# -- the whole flow -------------------------------------------------------------------------------
class OrderNotifier:
    def __init__(self, services: Services, *, orders: OrderSource | None = None,
                 contacts: WhatsAppContacts | None = None,
                 completed_means: str = "delivered") -> None:
        settings = services.settings
        self.services = services
        self.settings = settings
        self.sessions = services.write_sessions()
        self._orders = orders
        self.contacts = contacts or KnownWhatsAppContacts(
            services.sessions, settings.channel_state_url.strip()
            or Path(settings.data_dir) / "meta_channels.db")
        self.completed_means = completed_means
        self.secrets = {"woocommerce": settings.woocommerce_webhook_secret,
                        "tiendanube": settings.tiendanube_webhook_secret,
                        "shopify": settings.shopify_webhook_secret}
        self.templates = parse_pairs(settings.whatsapp_order_templates)
        self.template_languages = parse_pairs(settings.whatsapp_template_languages)
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def orders(self) -> OrderSource:
        if self._orders is None:  # built on first use: the store adapter reads its own env
            try:
                self._orders = StoreOrderSource.from_env()
            except ValueError as exc:  # SettingsError: the store is not configured
                raise Refused(503, f"the store is not configured here: {exc}") from None
        return self._orders

    def _completed_means(self, platform: str) -> str:
        """What WooCommerce's "completed" means for this store (the adapter's setting)."""
        if platform != "woocommerce":
            return self.completed_means
        store_settings = getattr(getattr(self.orders, "store", None), "settings", None)
        return str(getattr(store_settings, "woocommerce_completed_means", self.completed_means))

    # -- claims -----------------------------------------------------------------------------------
    def _claim(self, key: str, event: OrderEvent) -> bool:
        now = now_utc()
        with self.sessions() as s:
            row = s.get(OrderNotice, key)
            if row is None:
                s.add(OrderNotice(key=key, platform=event.platform, order_ref=event.order_ref[:64],
                                  kind=event.kind, status="processing", attempts=1,
                                  delivery_key=event.key[:200], claimed_at=now, created_at=now,
                                  updated_at=now))
                try:
                    s.commit()
                    return True
                except IntegrityError:  # a concurrent replay inserted it first
                    s.rollback()
                    return False
            if row.status == "retry" or (row.status == "processing"
                                         and row.claimed_at < now - LEASE):
                taken = s.execute(update(OrderNotice).where(
                    OrderNotice.key == key, OrderNotice.status == row.status,
                    OrderNotice.claimed_at == row.claimed_at).values(
                    status="processing", claimed_at=now, updated_at=now,
                    attempts=OrderNotice.attempts + 1, delivery_key=event.key[:200]))
                s.commit()
                return taken.rowcount == 1
            return False

    def _finish(self, key: str, status: str, *, channel: str | None = None,
                detail: str | None = None, external_id: str | None = None,
                mail: dict[str, Any] | None = None) -> int | None:
        """Record the outcome; an e-mail is enqueued in the same transaction."""
        with self.sessions() as s:
            mail_id = None
            if mail is not None:
                mail_id = enqueue_mail(s, key=f"order_notice:{key}"[:200], kind="order_notice",
                                       sender=self.settings.smtp_from, **mail).id
            s.execute(update(OrderNotice).where(OrderNotice.key == key).values(
                status=status, channel=channel, detail=(detail or None) and detail[:500],
                external_id=external_id, mail_id=mail_id, updated_at=now_utc()))
            s.commit()
            return mail_id

    def _opted_out(self, hashes: list[str]) -> bool:
        with self.services.sessions() as s:
            return is_opted_out(s, hashes)

    # -- entry point ------------------------------------------------------------------------------
    async def handle(self, platform: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        if platform == "woocommerce" and not headers.get(SCHEMES[platform][0]) \
                and _WOO_PING.fullmatch(body.strip()):
            # WooCommerce pings the URL unsigned when the webhook is saved: nothing to act on
            return Outcome("ignored", "WooCommerce ping")
        verify(platform, self.secrets[platform], headers, body)
        event, key = parse(platform, headers, body, completed_means=self._completed_means(platform))
        if event is None:
            return Outcome("ignored", key)
        if not self.orders.owns(origin(platform, headers, body)):
            # one app secret signs for every shop that installed the app: not ours, not a word
            return Outcome("ignored", "the delivery is about another shop")
        if not await asyncio.to_thread(self._claim, key, event):
            logger.info("order notice %s: duplicate delivery %s", key, event.key)
            return Outcome("duplicate", "this event was already handled", key)
        try:
            outcome = await self._notify(key, event)
        except Exception as exc:
            await asyncio.to_thread(self._finish, key, "retry", detail=type(exc).__name__)
            if isinstance(exc, Refused):
                logger.warning("order notice %s: will retry (%s)", key, exc.detail)
                raise
            logger.exception("order notice %s failed", key)
            raise Refused(503, "could not handle the event now; retry later") from None
        logger.info("order notice %s: %s%s", key, outcome.status,
                    f" ({outcome.detail})" if outcome.detail else "")
        return outcome

    async def _notify(self, key: str, event: OrderEvent) -> Outcome:
        from actions.store.base import OrderNotFound, StoreError

        source = self.orders
        if source.platform not in (event.platform, "store"):
            raise Refused(503, f"the store backend here is {source.platform}, not "
                               f"{event.platform}: set STORE_BACKEND={event.platform}")

        try:
            order = await source.order_for(event)
        except OrderNotFound:
            await asyncio.to_thread(self._finish, key, "not_found")
            return Outcome("not_found", "the store does not know this order", key)
        except StoreError as exc:
            raise Refused(503, f"the store could not be read ({type(exc).__name__}); "
                               "retry later") from None
        assert event.kind is not None
        if not confirms(event.kind, order):
            detail = f"the store says the order is {order.status.value} now"
            await asyncio.to_thread(self._finish, key, "stale", detail=detail)
            return Outcome("stale", detail, key)
        if await asyncio.to_thread(self._opted_out, order_hashes(order)):
            await asyncio.to_thread(self._finish, key, "opted_out")
            return Outcome("opted_out", "the shopper asked for no notices", key)
        template = self.templates.get(event.kind)
        synced = None if template else self._synced_template(event.kind, order.customer.language)
        if synced is not None:
            template = synced.name
        relay = self._whatsapp()
        ready = bool(template and relay is not None and getattr(relay, "configured", False))
        wa_id = await asyncio.to_thread(self.contacts.wa_id_for, order.customer.phone) \
            if ready and order.customer.phone else None
        channel = choose_channel(email=order.customer.email, wa_id=wa_id, whatsapp_ready=ready)
        whatsapp_refusal = None
        if channel == "whatsapp":
            assert relay is not None and template is not None and wa_id is not None
            language = self.template_languages.get(order.customer.language) or \
                order.customer.language
            components: list[dict[str, Any]] = [
                {"type": "body", "parameters": [{"type": "text", "text": order.id}]},
                {"type": "button", "sub_type": "quick_reply", "index": "0",
                 "parameters": [{"type": "payload", "payload": STOP_PAYLOAD}]}]
            if synced is not None:  # the registry's template: its own parameters and buttons
                from contracts import whatsapp_templates as wt

                language = synced.language
                components = wt.components(
                    synced, {p.name: order.id for p in synced.parameters[:1]},
                    [STOP_PAYLOAD] if synced.buttons else None)
            result = await relay.send_template(wa_id, template, language, components)
            if result.ok:
                await asyncio.to_thread(self._finish, key, "sent", channel="whatsapp",
                                        external_id=result.external_id)
                return Outcome("sent", "WhatsApp template", key)
            if result.retryable:
                raise Refused(503, "WhatsApp did not answer; retry later")
            whatsapp_refusal = result.reason
            channel = choose_channel(email=order.customer.email, wa_id=None,
                                     whatsapp_ready=False)
        if channel is None:
            await asyncio.to_thread(self._finish, key, "no_contact", detail=whatsapp_refusal)
            return Outcome("no_contact", "the order has no e-mail or WhatsApp contact", key)
        mail_id = await asyncio.to_thread(self._finish, key, "mailed", channel="email",
                                          detail=whatsapp_refusal, mail=self._mail(event, order))
        if mail_id is not None and self.services.mail is not None:
            task = asyncio.create_task(self.services.mail.deliver(mail_id))
            self._tasks.add(task)  # sent now; the outbox worker retries if this fails
            task.add_done_callback(self._tasks.discard)
        return Outcome("mailed", "e-mail", key)

    def _synced_template(self, kind: str, language: str | None) -> Any:
        """Without ``WHATSAPP_ORDER_TEMPLATES``: the registry's ``order_<kind>`` utility template
        in the shopper's language (issue #17) — only once a sync from the Graph API has said it
        is APPROVED (a template merely written in the file may not exist at Meta)."""
        from contracts import whatsapp_templates as wt

        if wt.load_synced(self.settings.data_dir) is None:
            return None
        return wt.pick(wt.registry(self.settings.data_dir), f"order_{kind}", language or "es")

    def _whatsapp(self) -> Any:
        try:
            relay = self.services.relays.get("whatsapp")
        except LookupError:
            return None
        return relay if hasattr(relay, "send_template") else None

    def stop_url(self, contact: str, language: str) -> str:
        base = (self.settings.public_url or
                f"http://{self.settings.host}:{self.settings.port}").rstrip("/")
        return (f"{base}/notifications/stop?t={stop_token(self.settings.secret_key, contact)}"
                f"&lang={language}")

    def _mail(self, event: OrderEvent, order: Order) -> dict[str, Any]:
        language = order.customer.language if order.customer.language in ("es", "en") else "es"
        first = (order.customer.name or "").split()
        tracking = ""
        if event.kind in ("shipped", "out_for_delivery") and order.tracking_number:
            tracking = fragment("tracking", language, carrier=order.carrier or "-",
                                number=order.tracking_number, url=order.tracking_url or "")
        refund = sum(r.amount_cents for r in order.refunds) or order.total_cents
        amount = f"{refund / 100:.2f} {order.currency}"
        if language == "es":
            amount = amount.replace(".", ",")
        contact = contact_hash("email", order.customer.email)
        assert contact is not None
        url = self.stop_url(contact, language)
        subject, body = render(f"order_{event.kind}", language,
                               name=f" {first[0]}" if first else "", order=order.id,
                               store=self.settings.store_name, tracking=tracking,
                               stop_url=url, amount=amount)
        return {"to": order.customer.email, "language": language, "subject": subject,
                "body": body, "headers": {"List-Unsubscribe": f"<{url}>",
                                          "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}}


def get_notifier(services: Services, state: Any) -> OrderNotifier:
    """The app's notifier (built on first use; tests put their own on ``app.state``)."""
    notifier = getattr(state, "order_notifier", None)
    if notifier is None:
        notifier = OrderNotifier(services)
        state.order_notifier = notifier
    return notifier  # type: ignore[no-any-return]
