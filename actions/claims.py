"""A delivered item that arrived damaged, wrong or incomplete: the claim form and its action.

Opened by ``item_problem`` (``action_item_problem`` says sorry and fills ``problem`` and
``claim_description`` from the shopper's words). ``claim_form`` asks, in order: the order number
and e-mail/phone (the shared identity check), which item(s) (``claim_item``), the photo evidence
when the market's policy wants it for this problem (``claim_photo``: the keys of the images the
conversation holds in the shared media storage; wrong or missing items skip it where
``claim_photo_required`` says so), the remedy (``claim_remedy``: ``replacement`` when the same
variant is in stock, else ``refund``) and a yes to the read-back (``claim_confirm``).

``action_create_claim`` then opens the claim as an RMA in the store (the RMA number is the claim
id; the reason starts with ``[claim:<problem>]`` and lists the photo keys), re-reads it and gives
the next steps. A person takes over, with everything in the handoff packet (the claim written out
in ``store_request``, the photo keys in the slots), when the items are worth more than the
market's approval threshold, when the shopper already made a claim, when it is reported after
``claim_report_days``, or when no photo came after ``claim_photo_asks`` asks.
"""

from __future__ import annotations

import abc
import logging
import re
from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import OrderFormValidation
from actions.handoff_client import HandoffAPIError, get_handoff_client
from actions.i18n import register, t
from actions.order_common import (
    REQUEST_SLOT,
    OrderAction,
    backend_error,
    format_money,
    language,
    payment_label,
    today,
    verified_order_id,
    why_not,
)
from actions.policy import (
    CLAIM_MARK,
    CLAIM_PROBLEMS,
    check_claim,
    claim_photo_needed,
    is_claim,
    market_policy,
)
from actions.return_form import OrderItemsQuestion
from actions.returns import (
    SKIPPED,
    check_exchange_stock,
    explain_refusal,
    item_label,
    match_items,
    match_returned,
)
from actions.store import (
    InvalidOperation,
    OperationNotSupported,
    Order,
    OrderItem,
    StoreError,
    get_store,
)
from actions.store.mapping import fold

logger = logging.getLogger("actions.claims")

CLAIM_SLOTS = ("claim_item", "claim_photo", "claim_remedy", "claim_confirm")
CLAIM_FLOW_SLOTS = (*CLAIM_SLOTS, "claim_photo_asks", "claim_description", "problem")
NO_PHOTO = "none"  # claim_photo after the last ask without a photo: a person takes over
_REFUND = re.compile(r"\b(reembols|dinero|devuelv|plata|refund|money|cash)", re.IGNORECASE)
_REPLACE = re.compile(r"\b(repos|reenv|reemplaz|sustitu|otr[oa] igual|nuev[oa]|el correcto|"
                      r"la correcta|mand|envi|replace|send|another|new one|right one|correct)",
                      re.IGNORECASE)

MESSAGES = {
    "claim_items_intro": {
        "es": "Estos son los artículos del pedido {order_id}:\n{items}\n{question}",
        "en": "These are the items in order {order_id}:\n{items}\n{question}",
    },
    "claim_question_damaged": {"es": "¿Cuál ha llegado dañado o defectuoso?",
                               "en": "Which one arrived damaged or faulty?"},
    "claim_question_wrong_item": {"es": "¿Cuál es el que no corresponde a lo que pediste?",
                                  "en": "Which one isn't what you ordered?"},
    "claim_question_missing": {"es": "¿Cuál falta en el paquete?",
                               "en": "Which one is missing from the parcel?"},
    "claim_item_unknown": {
        "es": "No he sabido identificar ese artículo. Elige uno de la lista:\n{items}",
        "en": "I couldn't tell which item you mean. Please pick one from the list:\n{items}",
    },
    "claim_not_delivered": {
        "es": "El pedido {order_id} todavía no figura como entregado, así que no puedo abrir una "
              "incidencia por un artículo recibido. Si el paquete te llegó dañado o incompleto, "
              "una persona del equipo lo revisa con el transportista.",
        "en": "Order {order_id} isn't shown as delivered yet, so I can't open a claim for a "
              "received item. If the parcel reached you damaged or incomplete, a person on our "
              "team will check it with the carrier.",
    },
    "claim_photo_missing": {
        "es": "Todavía no me ha llegado ninguna foto en esta conversación.",
        "en": "No photo has reached me in this conversation yet.",
    },
    "claim_photo_received": {"es": "Gracias, tengo {n} foto(s).",
                             "en": "Thanks, I've got {n} photo(s)."},
    "claim_ask_remedy": {
        "es": "¿Cómo prefieres que lo solucionemos?\n{options}",
        "en": "How would you like us to put it right?\n{options}",
    },
    "claim_option_replacement": {
        "es": "• Reposición: te enviamos {item} sin coste (hay stock).",
        "en": "• Replacement: we send you {item} at no cost (it's in stock).",
    },
    "claim_option_refund": {"es": "• Reembolso de {amount} a {method}.",
                            "en": "• A refund of {amount} to {method}."},
    "claim_no_replacement": {
        "es": "Ahora mismo no queda stock de {item} para reponerlo, así que te propongo el "
              "reembolso.",
        "en": "{item} is out of stock right now, so I can't replace it: I suggest a refund.",
    },
    "claim_remedy_unclear": {"es": "¿Prefieres la reposición o el reembolso?",
                             "en": "Would you prefer a replacement or a refund?"},
    "claim_readback": {
        "es": "Antes de abrir nada, repasemos la incidencia:\n• Artículo: {items}\n"
              "• Problema: {problem}\n• Fotos: {photos}\n• Solución: {remedy}\n• Importe: {amount}"
              "\n• Devolución: {pickup}\n¿La abro?",
        "en": "Before I open anything, let's go over the claim:\n• Item: {items}\n"
              "• Problem: {problem}\n• Photos: {photos}\n• Remedy: {remedy}\n• Amount: {amount}"
              "\n• Sending it back: {pickup}\nShall I open it?",
    },
    "claim_problem_damaged": {"es": "llegó dañado o defectuoso", "en": "arrived damaged or faulty"},
    "claim_problem_wrong_item": {"es": "no es lo que pediste", "en": "not what you ordered"},
    "claim_problem_missing": {"es": "falta en el paquete", "en": "missing from the parcel"},
    "claim_photos_none": {"es": "no hacen falta", "en": "not needed"},
    "claim_remedy_replacement": {"es": "reposición sin coste", "en": "free replacement"},
    "claim_remedy_refund": {"es": "reembolso a {method}", "en": "refund to {method}"},
    "claim_amount_replacement": {"es": "sin coste", "en": "no cost"},
    "claim_pickup": {"es": "recogida gratuita; no gasta tu plazo de devolución",
                     "en": "free collection; it doesn't use up your return window"},
    "claim_pickup_missing": {"es": "no hay nada que devolver", "en": "nothing to send back"},
    "claim_created": {
        "es": "Listo, he abierto la incidencia {rma} ({remedy}) para: {items}.\n{next}",
        "en": "Done, I've opened claim {rma} ({remedy}) for: {items}.\n{next}",
    },
    "claim_next_replacement": {
        "es": "Te enviamos el artículo en cuanto el almacén lo prepare; si hay que recoger el "
              "otro, el transportista te avisa: no pagas nada.",
        "en": "We'll ship the item as soon as the warehouse has it ready; if the other one needs "
              "collecting, the carrier will contact you: you pay nothing.",
    },
    "claim_next_refund": {
        "es": "Te devolvemos {amount} a {method}; si hay que recoger el artículo, el transportista "
              "te avisa y no pagas nada.",
        "en": "We'll refund {amount} to {method}; if the item needs collecting, the carrier will "
              "contact you and you pay nothing.",
    },
    "claim_mailed": {"es": "\nTe he enviado la confirmación por correo.",
                     "en": "\nI've e-mailed you the confirmation."},
    "claim_not_created": {
        "es": "De acuerdo, no he abierto ninguna incidencia. ¿Te ayudo con algo más?",
        "en": "All right, I haven't opened any claim. Can I help you with anything else?",
    },
    "claim_not_confirmed": {
        "es": "He pedido la incidencia pero el sistema no me la muestra todavía, así que prefiero "
              "no darte un número que no puedo comprobar.",
        "en": "I requested the claim but the system doesn't show it yet, so I'd rather not give "
              "you a number I can't check.",
    },
    "claim_to_person_approval_required": {
        "es": "Por el importe, esta incidencia la revisa una persona del equipo. Te paso con ella "
              "con todo preparado (pedido, artículo, problema y fotos).",
        "en": "Because of the amount, a person on our team reviews this claim. I'm putting you "
              "through with everything ready (order, item, problem and photos).",
    },
    "claim_to_person_repeated_claim": {
        "es": "Ya tienes otra incidencia con nosotros, así que esta la revisa una persona del "
              "equipo. Te paso con ella con todo preparado.",
        "en": "You already have another claim with us, so a person on our team reviews this one. "
              "I'm putting you through with everything ready.",
    },
    "claim_to_person_claim_late": {
        "es": "Han pasado más de {days} días desde la entrega, así que lo revisa una persona del "
              "equipo (puede aplicarse la garantía). Te paso con ella con todo preparado.",
        "en": "It's been more than {days} days since delivery, so a person on our team reviews "
              "it (the warranty may apply). I'm putting you through with everything ready.",
    },
    "claim_to_person_no_photo": {
        "es": "Sin foto no puedo tramitarla yo, pero una persona del equipo sí puede ayudarte. Te "
              "paso con ella con todo preparado.",
        "en": "Without a photo I can't process it myself, but a person on our team can help. I'm "
              "putting you through with everything ready.",
    },
    "claim_to_person_store": {
        "es": "En esta tienda las incidencias las abre una persona del equipo. Te paso con ella "
              "con la incidencia ya preparada, así no tendrás que repetir nada.",
        "en": "In this shop a person on our team opens claims. I'm putting you through with the "
              "claim already filled in, so you won't need to repeat anything.",
    },
    "claim_request": {
        "es": "{mark} Incidencia del pedido {order_id}: {items}. Problema: {problem}. "
              "Descripción: «{description}». Fotos: {photos}. Solución pedida: {remedy}.",
        "en": "{mark} Claim for order {order_id}: {items}. Problem: {problem}. "
              "Description: \"{description}\". Photos: {photos}. Remedy asked: {remedy}.",
    },
}
register(MESSAGES)

YES_NO = {
    "es": [{"title": "Sí, ábrela", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
    "en": [{"title": "Yes, open it", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
}


@lru_cache(maxsize=1)
def media() -> Any:
    """The shared media storage (``MEDIA_*`` settings), opened once per process."""
    from media_store import open_store, settings_from_env

    return open_store(settings_from_env())


async def conversation_photos(conversation_id: str) -> list[str]:
    """Keys of the images the shopper sent in this conversation (the channels and the widget's
    upload store them as they arrive); images an agent sent (a size chart) are not evidence."""
    try:
        stored = await media().list_conversation(conversation_id)
    except Exception as exc:  # noqa: BLE001 - no photo is a person's case, not a crash
        logger.warning("media storage unavailable for a claim: %s", exc.__class__.__name__)
        return []
    return [m.key for m in stored if m.kind == "image" and m.source != "agent"]


def problem_of(tracker: Tracker) -> str:
    value = tracker.get_slot("problem")
    return value if value in CLAIM_PROBLEMS else "damaged"


def claim_candidates(order: Order) -> list[OrderItem]:
    done = order.returned_item_ids()
    return [i for i in order.items if i.id not in done]


def claim_list(order: Order, lang: str) -> str:
    return "\n".join(f"{n}. {item_label(i, order, lang)}"
                     for n, i in enumerate(claim_candidates(order), start=1))


def parse_remedy(text: Any) -> str | None:
    folded = fold(str(text or ""))
    if folded in {"replacement", "refund"}:
        return folded
    if _REFUND.search(folded):
        return "refund"
    if _REPLACE.search(folded):
        return "replacement"
    return None


async def earlier_claims(order: Order) -> int:
    """Claims the same shopper opened before (any order), counted from the store."""
    try:
        orders = await get_store().list_customer_orders(order.email)
    except StoreError:
        orders = [order]
    return sum(1 for o in orders for r in o.returns if is_claim(r))


class ValidateClaimForm(OrderFormValidation):
    form = "claim_form"

    def name(self) -> str:
        return "validate_claim_form"

    async def after_verified(self, order: Order, dispatcher: CollectingDispatcher,
                             tracker: Tracker, lang: str) -> dict[str, Any]:
        from actions.store import OrderStatus

        if order.status != OrderStatus.DELIVERED:
            dispatcher.utter_message(text=t("claim_not_delivered", lang, order_id=order.id))
            return {**{s: SKIPPED for s in CLAIM_SLOTS}, "handoff_reason": "approval_required"}
        if not tracker.get_slot("claim_item"):
            question = t(f"claim_question_{problem_of(tracker)}", lang)
            dispatcher.utter_message(text=t("claim_items_intro", lang, order_id=order.id,
                                            items=claim_list(order, lang), question=question))
        return {}

    async def validate_claim_item(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value == SKIPPED:
            return {"claim_item": SKIPPED}
        lang = language(tracker)
        order = await self._order(tracker, dispatcher, lang)
        if order is None:
            return {"claim_item": None}
        if isinstance(order, dict):
            return {**order, "claim_item": None}
        text = value if isinstance(value, str) else None
        items = match_items(order, text)
        if not items:
            earlier = match_returned(order, text)
            decision = check_claim(order, [i.id for i in earlier], today(),
                                   market_policy(order.market)) if earlier else None
            if decision is not None and decision.item_id is not None:
                dispatcher.utter_message(text=explain_refusal(decision, order, lang))
                return {s: SKIPPED for s in CLAIM_SLOTS}
            dispatcher.utter_message(text=t("claim_item_unknown", lang,
                                            items=claim_list(order, lang)))
            return {"claim_item": None}
        photo = claim_photo_needed(problem_of(tracker), market_policy(order.market))
        return {"claim_item": "; ".join(i.name for i in items),
                "claim_photo": None if photo else SKIPPED}

    async def validate_claim_photo(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value in (SKIPPED, NO_PHOTO):
            return {"claim_photo": value}
        lang = language(tracker)
        keys = await conversation_photos(tracker.sender_id)
        if keys:
            dispatcher.utter_message(text=t("claim_photo_received", lang, n=len(keys)))
            return {"claim_photo": ",".join(keys)}
        asks = int(float(tracker.get_slot("claim_photo_asks") or 0)) + 1
        order_id = verified_order_id(tracker)
        policy = market_policy(None)
        if order_id:
            try:
                policy = market_policy((await get_store().get_order(order_id)).market)
            except StoreError:
                pass
        if asks >= policy.claim_photo_asks:
            return {"claim_photo": NO_PHOTO, "claim_photo_asks": float(asks)}
        dispatcher.utter_message(text=t("claim_photo_missing", lang))
        return {"claim_photo": None, "claim_photo_asks": float(asks)}

    async def validate_claim_remedy(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value == SKIPPED:
            return {"claim_remedy": SKIPPED}
        lang = language(tracker)
        remedy = parse_remedy(value)
        if remedy is None:
            dispatcher.utter_message(text=t("claim_remedy_unclear", lang))
            return {"claim_remedy": None}
        if remedy == "replacement":
            order = await self._order(tracker, dispatcher, lang)
            if not isinstance(order, Order):
                return {"claim_remedy": None}
            items = match_items(order, tracker.get_slot("claim_item"))
            if not await replaceable(items, lang):
                dispatcher.utter_message(text=t("claim_no_replacement", lang,
                                                item=", ".join(i.name for i in items)))
                return {"claim_remedy": "refund"}
        return {"claim_remedy": remedy}

    async def validate_claim_confirm(self, value: Any, dispatcher: CollectingDispatcher,
                                     tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value == SKIPPED or isinstance(value, bool):
            return {"claim_confirm": value}
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return {"claim_confirm": value.lower() == "true"}
        return {"claim_confirm": None}

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: dict[str, Any]) -> list[str]:
        slots = await super().required_slots(domain_slots, dispatcher, tracker, domain)
        if tracker.get_slot("claim_photo") == NO_PHOTO:
            # no photo after the last ask: stop asking, the action hands over to a person
            return [s for s in slots if s not in {"claim_remedy", "claim_confirm"}]
        return slots


async def replaceable(items: list[OrderItem], lang: str) -> bool:
    """Every item's own variant (same size) is in stock in the store's catalogue."""
    for item in items:
        check = await check_exchange_stock(get_store(), item, item.size or "", None, lang) \
            if item.size else None
        if check is None:
            try:
                products = await get_store().search_products(item.sku, lang=lang, limit=3)
            except StoreError:
                return False
            product = next((p for p in products if p.sku.lower() == item.sku.lower()), None)
            if product is None or not product.available:
                return False
        elif check.outcome != "in_stock":
            return False
    return bool(items)


class _ClaimQuestion(OrderItemsQuestion, abc.ABC):
    item_slot = "claim_item"


class ActionAskClaimRemedy(_ClaimQuestion):
    def name(self) -> str:
        return "action_ask_claim_remedy"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language(tracker)
        context = await self._context(tracker)
        if context is None or not context[1]:
            dispatcher.utter_message(text=t("claim_remedy_unclear", lang))
            return []
        order, items = context
        amount = format_money(sum(i.total_cents for i in items), order.currency, lang)
        options = []
        buttons = []
        if await replaceable(items, lang):
            options.append(t("claim_option_replacement", lang,
                             item=", ".join(i.name for i in items)))
            title = t("claim_remedy_replacement", lang)
            buttons.append({"title": title, "payload": title})
        options.append(t("claim_option_refund", lang, amount=amount,
                         method=payment_label(order.payment_method, lang)))
        refund_title = t("claim_remedy_refund", lang,
                         method=payment_label(order.payment_method, lang))
        buttons.append({"title": refund_title, "payload": refund_title})
        dispatcher.utter_message(text=t("claim_ask_remedy", lang, options="\n".join(options)),
                                 buttons=buttons)
        return []


def claim_readback(order: Order, items: list[OrderItem], problem: str, photos: str | None,
                   remedy: str, lang: str) -> str:
    keys = [k for k in (photos or "").split(",") if k and photos not in (SKIPPED, NO_PHOTO)]
    value = sum(i.total_cents for i in items)
    method = payment_label(order.payment_method, lang)
    return t("claim_readback", lang, items=", ".join(item_label(i, order, lang) for i in items),
             problem=t(f"claim_problem_{problem}", lang),
             photos=str(len(keys)) if keys else t("claim_photos_none", lang),
             remedy=t(f"claim_remedy_{remedy}", lang, method=method),
             amount=t("claim_amount_replacement", lang) if remedy == "replacement"
             else format_money(value, order.currency, lang),
             pickup=t("claim_pickup_missing" if problem == "missing" else "claim_pickup", lang))


class ActionAskClaimConfirm(_ClaimQuestion):
    def name(self) -> str:
        return "action_ask_claim_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language(tracker)
        context = await self._context(tracker)
        if context is None or not context[1]:
            dispatcher.utter_message(text=t("claim_remedy_unclear", lang))
            return []
        order, items = context
        remedy = tracker.get_slot("claim_remedy")
        dispatcher.utter_message(
            text=claim_readback(order, items, problem_of(tracker), tracker.get_slot("claim_photo"),
                                remedy if remedy in ("replacement", "refund") else "refund", lang),
            buttons=YES_NO[lang])
        return []


async def mail_confirmation(order: Order, claim: str, items: list[OrderItem], problem: str,
                            remedy: str, follow: str, lang: str) -> bool:
    """The claim confirmation e-mail, through the handoff API's mailer; False (logged, no
    personal data) when it could not be queued — the claim itself stands."""
    mail = {"key": f"claim:{claim}", "kind": "claim_confirmation", "to": order.email,
            "language": lang, "name": order.customer.name.split()[0] if order.customer.name
            else "", "claim": claim, "order": order.id,
            "items": ", ".join(item_label(i, order, lang) for i in items),
            "problem": t(f"claim_problem_{problem}", lang), "remedy": remedy, "next": follow}
    try:
        return await get_handoff_client().send_mail(mail)
    except HandoffAPIError as exc:
        logger.warning("claim %s: confirmation e-mail not queued: %s", claim,
                       exc.__class__.__name__)
        return False


class ActionCreateClaim(OrderAction):
    """Open the confirmed claim as an RMA, or hand it to a person with everything attached."""

    action_name = "action_create_claim"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
                     lang: str) -> list[EventType]:
        reset = [SlotSet(s, None) for s in CLAIM_FLOW_SLOTS]
        if tracker.get_slot("claim_item") == SKIPPED:
            if tracker.get_slot("handoff_reason") == "approval_required":
                return [*reset, FollowupAction("action_handoff")]  # not delivered: a person
            return reset  # already explained (a return or claim is open for the item)
        policy = market_policy(order.market)
        items = match_items(order, tracker.get_slot("claim_item"))
        problem = problem_of(tracker)
        photos = tracker.get_slot("claim_photo")
        remedy = tracker.get_slot("claim_remedy")
        remedy = remedy if remedy in ("replacement", "refund") else "refund"
        decision = check_claim(order, [i.id for i in items], today(), policy,
                               earlier_claims=await earlier_claims(order))
        why = None
        if photos == NO_PHOTO:
            why = "no_photo"
        elif decision.needs_agent:
            why = decision.code
        elif not decision.allowed:
            if decision.item_id is not None:
                dispatcher.utter_message(text=explain_refusal(decision, order, lang))
            else:
                dispatcher.utter_message(text=t("claim_not_delivered", lang, order_id=order.id))
            return reset
        request = self.request(order, items, problem, tracker, photos, remedy, lang)
        if why is not None:
            dispatcher.utter_message(text=t(f"claim_to_person_{why}", lang,
                                            days=policy.claim_report_days))
            return [SlotSet(REQUEST_SLOT, request), SlotSet("handoff_reason", "approval_required"),
                    FollowupAction("action_handoff")]
        if tracker.get_slot("claim_confirm") is not True:
            dispatcher.utter_message(text=t("claim_not_created", lang))
            return reset
        store = self.store()
        value = sum(i.total_cents for i in items)
        try:
            if not store.supports("create_return"):
                raise OperationNotSupported("create_return", why_not(store, "create_return"))
            created = await store.create_return(
                order.id, item_ids=[i.id for i in items], reason=request,
                kind="exchange" if remedy == "replacement" else "refund",
                refund_cents=0 if remedy == "replacement" else value)
        except InvalidOperation:
            created = None
        except OperationNotSupported:
            dispatcher.utter_message(text=t("claim_to_person_store", lang))
            return [SlotSet(REQUEST_SLOT, request), SlotSet("handoff_reason", "approval_required"),
                    FollowupAction("action_handoff")]
        fresh = await store.get_order(order.id)
        record = next((r for r in fresh.returns if created and r.rma == created.rma), None)
        if record is None:
            dispatcher.utter_message(text=t("claim_not_confirmed", lang))
            return backend_error(dispatcher, lang, None, self.name()) + reset
        method = payment_label(order.payment_method, lang)
        follow = t("claim_next_replacement", lang) if remedy == "replacement" else t(
            "claim_next_refund", lang, amount=format_money(value, order.currency, lang),
            method=method)
        remedy_text = t(f"claim_remedy_{remedy}", lang, method=method)
        mailed = await mail_confirmation(order, record.rma, items, problem, remedy_text, follow,
                                         lang)
        dispatcher.utter_message(text=t(
            "claim_created", lang, rma=record.rma, items=", ".join(i.name for i in items),
            remedy=remedy_text, next=follow) + (t("claim_mailed", lang) if mailed else ""))
        return reset

    @staticmethod
    def request(order: Order, items: list[OrderItem], problem: str, tracker: Tracker,
                photos: Any, remedy: str, lang: str) -> str:
        """The claim written out: the RMA's reason and the agent's note (photo keys included)."""
        keys = photos if isinstance(photos, str) and photos not in (SKIPPED, NO_PHOTO) else "-"
        description = " ".join(str(tracker.get_slot("claim_description") or "-").split())[:300]
        return t("claim_request", lang, mark=f"{CLAIM_MARK}{problem}]", order_id=order.id,
                 items=", ".join(item_label(i, order, lang) for i in items),
                 problem=t(f"claim_problem_{problem}", lang), description=description,
                 photos=keys, remedy=t(f"claim_remedy_{remedy}", lang,
                                       method=payment_label(order.payment_method, lang)))
