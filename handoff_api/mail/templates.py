"""Every e-mail the service sends, in every language: ONE catalogue (Spanish first).

A template is a subject and a plain-text body with ``{field}`` placeholders. :func:`render` picks
the shopper's language (Spanish when unknown) and refuses a template that misses a field, so a
mail never goes out with a hole in it. Add a kind here (both languages, same fields) to send a
new kind of mail; ``tests/handoff_api/mail/test_templates.py`` checks the catalogue is complete.
"""

from __future__ import annotations

import string
from typing import Any

LANGUAGES = ("es", "en")

CATALOGUE: dict[str, dict[str, dict[str, str]]] = {
    # an agent answers an offline case (queue timeout or out of hours) by e-mail
    "offline_answer": {
        "es": {
            "subject": "Respuesta a tu consulta (caso #{case}) · {store}",
            "body": "Hola{name}:\n\n"
                    "Te escribimos por la consulta que dejaste en nuestro chat el {opened}.\n\n"
                    "{answer}\n\n"
                    "Un saludo,\n{agent}\nAtención al cliente de {store}\n\n"
                    "--\nCaso #{case}. Si necesitas algo más, responde a este correo o vuelve a "
                    "escribirnos en el chat.\n",
        },
        "en": {
            "subject": "Answer to your question (case #{case}) · {store}",
            "body": "Hi{name},\n\n"
                    "We're writing about the question you left in our chat on {opened}.\n\n"
                    "{answer}\n\n"
                    "Best regards,\n{agent}\n{store} customer service\n\n"
                    "--\nCase #{case}. If you need anything else, reply to this e-mail or write "
                    "to us in the chat again.\n",
        },
    },
    # the promised answer time is near and nobody has answered yet
    "offline_reminder": {
        "es": {
            "subject": "Seguimos con tu consulta (caso #{case}) · {store}",
            "body": "Hola{name}:\n\n"
                    "No nos hemos olvidado de ti: una persona del equipo está revisando tu "
                    "consulta (caso #{case}) y te responderá antes del {due}.\n\n"
                    "Un saludo,\nAtención al cliente de {store}\n",
        },
        "en": {
            "subject": "We're on your question (case #{case}) · {store}",
            "body": "Hi{name},\n\n"
                    "We haven't forgotten you: someone from the team is looking at your question "
                    "(case #{case}) and will answer you by {due}.\n\n"
                    "Best regards,\n{store} customer service\n",
        },
    },
    # --- order notices (issue #16): a store's order event told to the shopper by e-mail --------
    # {tracking} is the "tracking" fragment below (or empty), {stop_url} the one-click opt-out
    "order_shipped": {
        "es": {
            "subject": "Tu pedido {order} está en camino · {store}",
            "body": "Hola{name}:\n\n"
                    "Tu pedido {order} ha salido de nuestro almacén y ya está en manos del "
                    "transportista.\n\n"
                    "{tracking}"
                    "Si tienes cualquier duda, responde a este correo o escríbenos en el chat.\n\n"
                    "Un saludo,\nAtención al cliente de {store}\n\n"
                    "--\nTe escribimos porque hiciste un pedido en {store}. Si no quieres más "
                    "avisos de tus pedidos: {stop_url}\n",
        },
        "en": {
            "subject": "Your order {order} is on its way · {store}",
            "body": "Hi{name},\n\n"
                    "Your order {order} has left our warehouse and is now with the carrier.\n\n"
                    "{tracking}"
                    "If you have any question, reply to this e-mail or write to us in the chat.\n\n"
                    "Best regards,\n{store} customer service\n\n"
                    "--\nYou get this because you ordered from {store}. To stop notices about "
                    "your orders: {stop_url}\n",
        },
    },
    "order_out_for_delivery": {
        "es": {
            "subject": "Tu pedido {order} llega hoy · {store}",
            "body": "Hola{name}:\n\n"
                    "Tu pedido {order} ha salido para el reparto y debería llegarte hoy.\n\n"
                    "{tracking}"
                    "Un saludo,\nAtención al cliente de {store}\n\n"
                    "--\nTe escribimos porque hiciste un pedido en {store}. Si no quieres más "
                    "avisos de tus pedidos: {stop_url}\n",
        },
        "en": {
            "subject": "Your order {order} arrives today · {store}",
            "body": "Hi{name},\n\n"
                    "Your order {order} is out for delivery and should reach you today.\n\n"
                    "{tracking}"
                    "Best regards,\n{store} customer service\n\n"
                    "--\nYou get this because you ordered from {store}. To stop notices about "
                    "your orders: {stop_url}\n",
        },
    },
    "order_delivered": {
        "es": {
            "subject": "Tu pedido {order} ha sido entregado · {store}",
            "body": "Hola{name}:\n\n"
                    "Según el transportista, tu pedido {order} ya está entregado. Si no lo has "
                    "recibido o algo no está bien, responde a este correo o escríbenos en el "
                    "chat y lo miramos.\n\n"
                    "Un saludo,\nAtención al cliente de {store}\n\n"
                    "--\nTe escribimos porque hiciste un pedido en {store}. Si no quieres más "
                    "avisos de tus pedidos: {stop_url}\n",
        },
        "en": {
            "subject": "Your order {order} was delivered · {store}",
            "body": "Hi{name},\n\n"
                    "The carrier says your order {order} has been delivered. If you haven't "
                    "received it or something is wrong, reply to this e-mail or write to us in "
                    "the chat and we'll look into it.\n\n"
                    "Best regards,\n{store} customer service\n\n"
                    "--\nYou get this because you ordered from {store}. To stop notices about "
                    "your orders: {stop_url}\n",
        },
    },
    "order_refunded": {
        "es": {
            "subject": "Reembolso de tu pedido {order} · {store}",
            "body": "Hola{name}:\n\n"
                    "Hemos emitido el reembolso de tu pedido {order}: {amount}. Según tu banco o "
                    "método de pago, puede tardar unos días en verse en tu cuenta.\n\n"
                    "Un saludo,\nAtención al cliente de {store}\n\n"
                    "--\nTe escribimos porque hiciste un pedido en {store}. Si no quieres más "
                    "avisos de tus pedidos: {stop_url}\n",
        },
        "en": {
            "subject": "Refund for your order {order} · {store}",
            "body": "Hi{name},\n\n"
                    "We've issued the refund for your order {order}: {amount}. Depending on your "
                    "bank or payment method, it may take a few days to show in your account.\n\n"
                    "Best regards,\n{store} customer service\n\n"
                    "--\nYou get this because you ordered from {store}. To stop notices about "
                    "your orders: {stop_url}\n",
        },
    },
    # the bot opened a claim for a damaged, wrong or missing item (actions/claims.py)
    "claim_confirmation": {
        "es": {
            "subject": "Tu incidencia {claim} del pedido {order} · {store}",
            "body": "Hola{name}:\n\n"
                    "Hemos abierto la incidencia {claim} del pedido {order}.\n\n"
                    "Artículo: {items}\nProblema: {problem}\nSolución: {remedy}\n\n"
                    "{next}\n\n"
                    "Un saludo,\nAtención al cliente de {store}\n\n"
                    "--\nIncidencia {claim}. Si necesitas algo más, responde a este correo o "
                    "escríbenos en el chat.\n",
        },
        "en": {
            "subject": "Your claim {claim} for order {order} · {store}",
            "body": "Hi{name},\n\n"
                    "We've opened claim {claim} for order {order}.\n\n"
                    "Item: {items}\nProblem: {problem}\nRemedy: {remedy}\n\n"
                    "{next}\n\n"
                    "Best regards,\n{store} customer service\n\n"
                    "--\nClaim {claim}. If you need anything else, reply to this e-mail or write "
                    "to us in the chat.\n",
        },
    },
    # the shopper withdrew from a purchase in the chat (right of withdrawal; actions/withdrawal.py):
    # the acknowledgement on a durable medium, with the date and time of the withdrawal
    "withdrawal_ack": {
        "es": {
            "subject": "Acuse de recibo de tu desistimiento del pedido {order} · {store}",
            "body": "Hola{name}:\n\n"
                    "Hemos recibido tu desistimiento del contrato de compra del pedido {order}.\n\n"
                    "Fecha y hora del desistimiento: {when}\n"
                    "Código de desistimiento: {code}\n"
                    "Artículos: {items}\n\n"
                    "{next}\n\n"
                    "Este correo es el acuse de recibo de tu desistimiento en un soporte duradero "
                    "({law}). Guárdalo.\n\n"
                    "Un saludo,\nAtención al cliente de {store}\n\n"
                    "--\nDesistimiento {code}. Si necesitas algo más, responde a este correo o "
                    "escríbenos en el chat.\n",
        },
        "en": {
            "subject": "Acknowledgement of your withdrawal from order {order} · {store}",
            "body": "Hi{name},\n\n"
                    "We have received your withdrawal from the purchase contract of order "
                    "{order}.\n\n"
                    "Date and time of the withdrawal: {when}\n"
                    "Withdrawal code: {code}\n"
                    "Items: {items}\n\n"
                    "{next}\n\n"
                    "This e-mail acknowledges your withdrawal on a durable medium ({law}). "
                    "Please keep it.\n\n"
                    "Best regards,\n{store} customer service\n\n"
                    "--\nWithdrawal {code}. If you need anything else, reply to this e-mail or "
                    "write to us in the chat.\n",
        },
    },
}

#: pieces of order notices, in the same languages (``fragment(name, language, **fields)``)
FRAGMENTS: dict[str, dict[str, str]] = {
    "tracking": {
        "es": "Seguimiento ({carrier}): {number}\n{url}\n\n",
        "en": "Tracking ({carrier}): {number}\n{url}\n\n",
    },
    # the page behind the opt-out link (GET shows it, its button POSTs: link scanners only GET)
    "stop_page_title": {"es": "Avisos de pedidos", "en": "Order notices"},
    "stop_page_ask": {
        "es": "¿Quieres dejar de recibir avisos de tus pedidos de {store} (envío, reparto, "
              "entrega, reembolso)?",
        "en": "Do you want to stop notices about your orders from {store} (shipping, delivery, "
              "refunds)?",
    },
    "stop_page_button": {"es": "Sí, no quiero más avisos", "en": "Yes, stop the notices"},
    "stop_page_done": {
        "es": "Hecho: no te enviaremos más avisos de pedidos. Tus pedidos siguen igual y puedes "
              "consultarlos en el chat cuando quieras.",
        "en": "Done: we won't send you order notices any more. Your orders are not affected and "
              "you can ask about them in the chat any time.",
    },
}

#: short texts sent on the shopper's chat channel (no e-mail known) for the same moments
CHAT_TEXTS: dict[str, dict[str, str]] = {
    "offline_reminder": {
        "es": "Seguimos con tu consulta (caso #{case}): una persona del equipo te responderá "
              "por aquí antes del {due}.",
        "en": "We're still on your question (case #{case}): someone from the team will answer "
              "you here by {due}.",
    },
}


def fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _fill(template: str, fields: dict[str, Any]) -> str:
    missing = fields_of(template) - fields.keys()
    if missing:
        raise KeyError(f"missing template fields: {', '.join(sorted(missing))}")
    return template.format(**fields)


def render(kind: str, language: str, **fields: Any) -> tuple[str, str]:
    """``(subject, body)`` of mail ``kind`` in ``language`` (Spanish if not available)."""
    entry = CATALOGUE[kind]
    chosen = entry.get(language) or entry["es"]
    return _fill(chosen["subject"], fields), _fill(chosen["body"], fields)


def fragment(name: str, language: str, **fields: Any) -> str:
    entry = FRAGMENTS[name]
    return _fill(entry.get(language) or entry["es"], fields)


def chat_text(kind: str, language: str, **fields: Any) -> str:
    entry = CHAT_TEXTS[kind]
    return _fill(entry.get(language) or entry["es"], fields)
