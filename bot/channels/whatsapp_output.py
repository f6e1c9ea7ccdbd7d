"""WhatsApp Cloud API output: how Rasa's responses become WhatsApp messages.

* text is written in WhatsApp's marks (``*bold*``, tables as lines, plain URLs with a preview:
  :mod:`bot.channels.formatting`) and split at 4096 characters (paragraph, line, word);
* up to 3 buttons → an interactive *button* message (titles ≤ 20 chars);
  more → an interactive *list* (≤ 10 rows per message, titles ≤ 24; the full title goes
  into the row description when cut). The payload (e.g. ``/rate{"rating":"4"}``) is the
  reply id, which WhatsApp sends back when the shopper taps it;
* nothing free-form is sent outside the 24-hour customer-service window (Meta would refuse it
  with error 131047 anyway): the refusal is logged with its reason. The one exception is the
  rating request after a hand-back (buttons whose payloads are ``/rate{…}``): outside the window
  it goes as the approved *utility* template registered for ``csat``
  (:mod:`contracts.whatsapp_templates`), its five quick-reply buttons carrying the rating
  payloads, in the shopper's language;
* only when Meta refuses an interactive message (a 4xx that is not the window) the menu goes as
  numbered text, and a reply "2" is read as the second option (:mod:`bot.channels.options`);
* a reply of a shopper message's turn goes through that turn's :class:`bot.outgoing.TurnReplies`
  (``replies``): when the turn runs again after a crash, what already reached Meta is not sent
  again.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from rasa.core.channels.channel import OutputChannel

from bot.channels.formatting import has_url, to_whatsapp
from bot.channels.meta import MetaStateStore, graph_post, graph_send
from bot.channels.options import OfferedOptions, numbered_text, payloads
from bot.channels.texts import t
from bot.outgoing import TurnReplies

logger = logging.getLogger(__name__)

TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
MAX_BUTTONS = 3
BUTTON_TITLE_LIMIT = 20
MAX_LIST_ROWS = 10
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
REPLY_ID_LIMIT = 256
RATING_PAYLOAD_PREFIX = "/rate{"  # actions/rating.py rating_buttons
#: Meta's codes for "outside the window" and for "cannot be reached": a text would fail too
NO_FALLBACK_CODES = {131047, 131026, 131051, 130429, 131048, 131056}


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Chunks of at most ``limit`` characters, cut at the most natural boundary."""
    text = text.strip()
    chunks: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind("\n\n"), -1)
        if cut < limit // 2:
            cut = window.rfind("\n")
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        chunks.append(text)
    return chunks


def clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _reply_id(button: dict[str, Any]) -> str:
    payload = str(button.get("payload") or button.get("title") or "")
    if len(payload) > REPLY_ID_LIMIT:
        logger.warning("whatsapp.button_payload_too_long (%d chars): using the title", len(payload))
        payload = str(button.get("title", ""))[:REPLY_ID_LIMIT]
    return payload


def text_message(to: str, body: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": "text", "text": {"preview_url": has_url(body), "body": body}}


def interactive_messages(to: str, text: str, buttons: list[dict[str, Any]],
                         language: str = "es") -> list[dict[str, Any]]:
    """The Graph API bodies for a text with buttons (text chunks first if it is long)."""
    chunks = split_text(to_whatsapp(text or ""), INTERACTIVE_BODY_LIMIT) or \
        [t("more_options", language)]
    messages = [text_message(to, c) for c in chunks[:-1]]
    body = chunks[-1]
    base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": "interactive"}
    if len(buttons) <= MAX_BUTTONS:
        messages.append({**base, "interactive": {
            "type": "button", "body": {"text": body},
            "action": {"buttons": [
                {"type": "reply", "reply": {"id": _reply_id(b),
                                            "title": clip(b.get("title", ""),
                                                          BUTTON_TITLE_LIMIT)}}
                for b in buttons]}}})
        return messages
    for start in range(0, len(buttons), MAX_LIST_ROWS):
        rows = []
        for b in buttons[start:start + MAX_LIST_ROWS]:
            title = " ".join(str(b.get("title", "")).split())
            row: dict[str, Any] = {"id": _reply_id(b), "title": clip(title, ROW_TITLE_LIMIT)}
            if len(title) > ROW_TITLE_LIMIT:
                row["description"] = clip(title, ROW_DESCRIPTION_LIMIT)
            rows.append(row)
        messages.append({**base, "interactive": {
            "type": "list",
            "body": {"text": body if start == 0 else t("more_options", language)},
            "action": {"button": clip(t("list_button", language), BUTTON_TITLE_LIMIT),
                       "sections": [{"title": clip(t("list_button", language), 24),
                                     "rows": rows}]}}})
    return messages


def is_rating_request(buttons: list[dict[str, Any]]) -> bool:
    """The bot's 1-5 rating buttons after a hand-back (``/rate{"rating":"N"}``)."""
    return bool(buttons) and all(str(b.get("payload") or "").startswith(RATING_PAYLOAD_PREFIX)
                                 for b in buttons)


class WhatsAppOutput(OutputChannel):
    """Sends Rasa's responses with the WhatsApp Cloud API (``POST /{phone_number_id}/messages``)."""

    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    def __init__(self, graph_url: str, phone_number_id: str, access_token: str,
                 state: MetaStateStore, language: str = "es", *,
                 options: OfferedOptions | None = None,
                 language_of: Any = None, replies: TurnReplies | None = None) -> None:
        self.url = f"{graph_url.rstrip('/')}/{phone_number_id}/messages"
        self.access_token = access_token
        self.state = state
        self.language = language
        self.sent_ids: list[str] = []
        self.options = options
        #: async (conversation id) -> "es"/"en"/None: the shopper's language when this output
        #: was built without one (a hand-back comes through ``get_output_channel``)
        self.language_of = language_of
        #: the outgoing ledger of the message whose turn this serves (bot/outgoing.py); None
        #: outside one (Rasa's trigger_intent through get_output_channel)
        self.replies = replies

    async def _post(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """:func:`graph_post`, once per turn (a reply that went out before answers ``{}``)."""
        def post() -> Any:
            return graph_post(self.url, self.access_token, body, channel="whatsapp")
        if self.replies is None:
            return await post()
        return await self.replies.send(body, post, lambda a: a is not None, {})

    async def _post_detailed(self, body: dict[str, Any]
                             ) -> tuple[dict[str, Any] | None, int, int | None]:
        """:func:`graph_send`, once per turn (a reply that went out before: ``({}, 200, None)``)."""
        def post() -> Any:
            return graph_send(self.url, self.access_token, body, channel="whatsapp")
        if self.replies is None:
            return await post()
        return await self.replies.send(body, post, lambda a: a[0] is not None, ({}, 200, None))

    async def _send(self, recipient_id: str, body: dict[str, Any]) -> str | None:
        if not await self.state.window_open("whatsapp", recipient_id):
            logger.warning("whatsapp.send_refused to=%s reason=whatsapp_window_closed: the "
                           "shopper's last message is older than 24 h (a template is needed)",
                           recipient_id)
            return None
        answer = await self._post(body)
        if answer is None:
            return None
        message_id = ((answer.get("messages") or [{}])[0]).get("id")
        if message_id:
            self.sent_ids.append(message_id)
        logger.info("whatsapp.sent to=%s type=%s id=%s", recipient_id, body.get("type"),
                    message_id)
        return message_id

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for chunk in split_text(to_whatsapp(text)):  # Markdown answers in WhatsApp's own marks
            await self._send(recipient_id, text_message(recipient_id, chunk))

    async def send_text_with_buttons(self, recipient_id: str, text: str,
                                     buttons: list[dict[str, Any]], **kwargs: Any) -> None:
        if is_rating_request(buttons) and not await self.state.window_open("whatsapp",
                                                                           recipient_id):
            await self.send_rating_template(recipient_id, buttons)
            return
        bodies = interactive_messages(recipient_id, text, buttons, self.language)
        for body in bodies:
            if body.get("type") != "interactive":
                await self._send(recipient_id, body)
                continue
            if not await self.state.window_open("whatsapp", recipient_id):
                await self._send(recipient_id, body)  # refused and logged there
                return
            answer, status, code = await self._post_detailed(body)
            if answer is not None:
                self._sent(recipient_id, body, answer)
                continue
            if 400 <= status < 500 and status != 429 and code not in NO_FALLBACK_CODES:
                # Meta refuses the interactive message itself: the whole menu as numbered text
                logger.warning("whatsapp.interactive_refused to=%s code=%s: sending the menu as "
                               "text", recipient_id, code)
                await self.send_menu_as_text(recipient_id, text, buttons)
                return

    async def send_menu_as_text(self, recipient_id: str, text: str,
                                buttons: list[dict[str, Any]]) -> None:
        if self.options is not None:
            await self.options.remember("whatsapp", recipient_id, payloads(buttons))
        await self.send_text_message(recipient_id, numbered_text(to_whatsapp(text or ""),
                                                                 buttons))

    async def send_rating_template(self, recipient_id: str,
                                   buttons: list[dict[str, Any]]) -> str | None:
        """The rating request outside the window: the approved ``csat`` utility template."""
        from contracts import whatsapp_templates as wt

        language = self.language
        if self.language_of is not None:
            language = await self.language_of(recipient_id) or language
        template = wt.pick(wt.registry(os.environ.get("ATIENDE_DATA_DIR", "var")), "csat",
                           language)
        if template is None:
            logger.warning("whatsapp.send_refused to=%s reason=whatsapp_window_closed: no "
                           "approved csat template in the registry", recipient_id)
            return None
        body = {"messaging_product": "whatsapp", "recipient_type": "individual",
                "to": recipient_id, "type": "template",
                "template": {"name": template.name, "language": {"code": template.language},
                             "components": wt.components(template, {}, payloads(buttons))}}
        answer = await self._post(body)
        if answer is None:
            return None
        logger.info("whatsapp.template_sent to=%s template=%s use=csat", recipient_id,
                    template.name)
        return self._sent(recipient_id, body, answer)

    def _sent(self, recipient_id: str, body: dict[str, Any], answer: dict[str, Any]) -> str | None:
        message_id = ((answer.get("messages") or [{}])[0]).get("id")
        if message_id:
            self.sent_ids.append(message_id)
        logger.info("whatsapp.sent to=%s type=%s id=%s", recipient_id, body.get("type"),
                    message_id)
        return message_id

    async def send_quick_replies(self, recipient_id: str, text: str,
                                 quick_replies: list[dict[str, Any]], **kwargs: Any) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(recipient_id, {"messaging_product": "whatsapp", "to": recipient_id,
                                        "type": "image", "image": {"link": image}})

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any],
                               **kwargs: Any) -> None:
        """``custom: {whatsapp: {...}}`` in a response is sent as a raw Cloud API message."""
        raw = json_message.get("whatsapp") if isinstance(json_message, dict) else None
        if not isinstance(raw, dict):
            logger.info("whatsapp.custom_ignored: no 'whatsapp' key in custom payload")
            return
        await self._send(recipient_id, {"messaging_product": "whatsapp", "to": recipient_id,
                                        **raw})
