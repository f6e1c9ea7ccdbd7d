"""Store platforms' order webhooks, and the shopper's way to stop order notices.

* ``POST /webhooks/store/{woocommerce,tiendanube,shopify}``: server-to-server, authenticated by
  the platform's HMAC signature over the raw body (no cookie, no bot token, no CSRF token: a
  platform cannot send one). What happens to a delivery: :mod:`handoff_api.store_events`;
* ``GET /notifications/stop?t=…`` shows the opt-out page of the link in order e-mails, its button
  (and mail clients' one-click List-Unsubscribe) ``POST``s to the same URL; a GET never opts out,
  because mail scanners open links;
* ``POST /api/notifications/opt-out`` (bot token): the shopper said stop in a conversation.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from handoff_api.deps import BotDep, ServicesDep
from handoff_api.mail.templates import fragment
from handoff_api.order_contacts import check_stop_token, contact_hash, opt_out
from handoff_api.ratelimit import limit
from handoff_api.routes.common import errors, read_capped
from handoff_api.store_events import get_notifier
from handoff_api.store_webhooks import Refused

router = APIRouter(tags=["store events"])
#: the opt-out page is public: a flood from one address is slowed like the widget's
PUBLIC = [Depends(limit("notifications", lambda s: s.public_rate_limit))]  # type: ignore[attr-defined]


class EventAck(BaseModel):
    """What became of a delivery: ``ignored`` (nothing to tell), ``duplicate`` (already handled),
    ``sent`` (WhatsApp template), ``mailed`` (in the mail outbox), ``opted_out``, ``no_contact``,
    ``stale`` (the store says otherwise now), ``not_found``."""

    status: str
    detail: str | None = None
    key: str | None = None


_ERROR_MODEL = errors()[503]["model"]
WEBHOOK_ERRORS = {
    **errors(400, 413),
    401: {"model": _ERROR_MODEL,
          "description": "Missing signature header, or it does not match the body (HMAC-SHA256 "
                         "with the platform's secret)"},
    503: {"model": _ERROR_MODEL,
          "description": "Not configured (no webhook secret, or STORE_BACKEND is another "
                         "platform), or the store or WhatsApp is down: retry later (the "
                         "platforms do)"},
}
#: the body is read raw (the signature covers its exact bytes); documented, not parsed by FastAPI
WEBHOOK_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "object", "description": "the platform's webhook payload, as it sent it"}}}}}


async def _body(request: Request, limit: int) -> bytes:
    return await read_capped(request, limit, f"Body is over the limit of {limit} bytes")


async def _receive(platform: str, request: Request, services: Any) -> JSONResponse:
    body = await _body(request, services.settings.store_webhook_max_bytes)
    notifier = get_notifier(services, request.app.state)
    try:
        outcome = await notifier.handle(platform, request.headers, body)
    except Refused as exc:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    return JSONResponse(EventAck(status=outcome.status, detail=outcome.detail,
                                 key=outcome.key).model_dump(), status_code=outcome.status_code)


@router.post("/webhooks/store/woocommerce", response_model=EventAck, responses=WEBHOOK_ERRORS,
             openapi_extra=WEBHOOK_BODY)
async def woocommerce_webhook(request: Request, services: ServicesDep) -> JSONResponse:
    """WooCommerce webhook (topic ``order.updated``; other topics are acknowledged): signed with
    ``X-WC-Webhook-Signature`` = base64 HMAC-SHA256 of the body with the webhook's secret
    (``WOOCOMMERCE_WEBHOOK_SECRET``); ``X-WC-Webhook-Topic``, ``X-WC-Webhook-Delivery-ID``."""
    return await _receive("woocommerce", request, services)


@router.post("/webhooks/store/tiendanube", response_model=EventAck, responses=WEBHOOK_ERRORS,
             openapi_extra=WEBHOOK_BODY)
async def tiendanube_webhook(request: Request, services: ServicesDep) -> JSONResponse:
    """Tiendanube / Nuvemshop webhook (``order/fulfilled``, ``order/paid``…; body
    ``{"store_id", "event", "id"}``): signed with ``x-linkedstore-hmac-sha256`` = hex HMAC-SHA256
    of the body with the app's client secret (``TIENDANUBE_WEBHOOK_SECRET``)."""
    return await _receive("tiendanube", request, services)


@router.post("/webhooks/store/shopify", response_model=EventAck, responses=WEBHOOK_ERRORS,
             openapi_extra=WEBHOOK_BODY)
async def shopify_webhook(request: Request, services: ServicesDep) -> JSONResponse:
    """Shopify webhook (``fulfillments/create``, ``fulfillments/update``, ``refunds/create``…):
    signed with ``X-Shopify-Hmac-Sha256`` = base64 HMAC-SHA256 of the body with the app's client
    secret (``SHOPIFY_WEBHOOK_SECRET``); ``X-Shopify-Topic``, ``X-Shopify-Webhook-Id``."""
    return await _receive("shopify", request, services)


# -- opt-out --------------------------------------------------------------------------------------
Token = Query(..., min_length=10, max_length=200, alias="t", description="the link's token")
Lang = Query("es", pattern="^(es|en)$", description="page language")


def _page(lang: str, store: str, text: str, form: str = "") -> HTMLResponse:
    title = html.escape(fragment("stop_page_title", lang))
    return HTMLResponse(
        f"<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{title} · {html.escape(store)}</title></head>"
        f"<body style=\"font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;"
        f"padding:0 1rem\"><h1>{title}</h1><p>{html.escape(text)}</p>{form}</body></html>",
        # its own policy (secweb): inline style attributes only, no script at all, posts to itself
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                 "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"})


def _contact(services: Any, token: str) -> str:
    contact = check_stop_token(services.settings.secret_key, token)
    if contact is None:
        raise HTTPException(400, "This opt-out link is not valid (altered or cut); use the link "
                                 "from the e-mail as it is")
    return contact


@router.get("/notifications/stop", response_class=HTMLResponse, responses=errors(400),
            dependencies=PUBLIC)
def stop_page(services: ServicesDep, t: str = Token, lang: str = Lang) -> HTMLResponse:
    """The page behind an order e-mail's opt-out link: asks, and its button POSTs."""
    _contact(services, t)
    store = services.settings.store_name
    form = (f"<form method=\"post\"><button type=\"submit\" style=\"font-size:1.1rem;"
            f"padding:.6rem 1rem\">{html.escape(fragment('stop_page_button', lang))}"
            f"</button></form>")
    return _page(lang, store, fragment("stop_page_ask", lang, store=store), form)


@router.post("/notifications/stop", response_class=HTMLResponse, responses=errors(400),
             dependencies=PUBLIC)
def stop(services: ServicesDep, t: str = Token, lang: str = Lang) -> HTMLResponse:
    """Opt out (the page's button, or a mail client's RFC 8058 one-click POST)."""
    contact = _contact(services, t)
    opt_out(services.write_sessions(), [contact], "email_link")
    store = services.settings.store_name
    return _page(lang, store, fragment("stop_page_done", lang))


class OptOutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(None, max_length=40, description="e.g. the WhatsApp number")
    email: str | None = Field(None, max_length=254)
    source: str = Field("bot", pattern="^(bot|whatsapp|agent)$")


@router.post("/api/notifications/opt-out", dependencies=[BotDep], responses=errors(401))
def post_opt_out(body: OptOutIn, services: ServicesDep) -> dict[str, Any]:
    """The shopper said stop (e.g. tapped "Stop" under a WhatsApp order notice): no more order
    notices to this phone or e-mail, on any channel."""
    hashes = [h for h in (contact_hash("phone", body.phone), contact_hash("email", body.email))
              if h]
    if not hashes:
        raise HTTPException(422, "Give a phone (7+ digits) or an e-mail address to opt out")
    added = opt_out(services.write_sessions(), hashes, body.source)
    return {"opted_out": True, "contacts": len(hashes), "new": added}
