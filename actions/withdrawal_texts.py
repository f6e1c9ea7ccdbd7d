"""What the right-of-withdrawal flow says (``actions/withdrawal.py``): its Spanish and English
messages, registered with :mod:`actions.i18n`, and the two texts built from a market's rules (the
moment of a withdrawal in the market's time zone, the unit of its period)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from actions.i18n import register, t
from actions.order_common import format_date
from actions.withdrawal_rules import WithdrawalRules

MESSAGES = {
    "withdrawal_order_invalid": {
        "es": "No reconozco un número de pedido ahí. Tiene el formato AT123456 y aparece en el "
              "correo de confirmación de la compra.",
        "en": "I don't see an order number there. It looks like AT123456 and it's in the "
              "purchase confirmation e-mail.",
    },
    "withdrawal_name_invalid": {
        "es": "Necesito el nombre de la persona que hizo la compra (nombre y apellidos).",
        "en": "I need the name of the person who made the purchase (first and last name).",
    },
    "withdrawal_email_invalid": {
        "es": "Necesito el correo electrónico con el que hiciste la compra.",
        "en": "I need the e-mail address you used for the purchase.",
    },
    # one answer for "no such order" and "that e-mail is not the order's" (no enumeration)
    "withdrawal_no_match": {
        "es": "No encuentro el pedido {order_id} con ese correo. Revisa el número de pedido y el "
              "correo de la compra (te quedan {left} intentos). ¿Cuál es el número de pedido?",
        "en": "I can't find order {order_id} with that e-mail. Please check the order number and "
              "the purchase e-mail ({left} attempts left). What's the order number?",
    },
    "withdrawal_locked": {
        "es": "No he podido identificar el pedido con esos datos. Una persona del equipo puede "
              "registrar tu desistimiento: ¿quieres que te pase con ella?",
        "en": "I couldn't identify the order with those details. A person on our team can record "
              "your withdrawal: would you like me to put you through?",
    },
    "withdrawal_closed": {
        "es": "El pedido {order_id} ya figura como {status}, así que no queda ningún contrato del "
              "que desistir. Si algo no cuadra, una persona del equipo lo revisa contigo.",
        "en": "Order {order_id} is already {status}, so there is no contract left to withdraw "
              "from. If something doesn't add up, a person on our team will look at it with you.",
    },
    "withdrawal_already": {
        "es": "Ya registramos tu desistimiento del pedido {order_id} el {when} (código {code}). "
              "No hace falta hacer nada más: el acuse de recibo está en tu correo.",
        "en": "We already recorded your withdrawal from order {order_id} on {when} (code {code}). "
              "There's nothing else to do: the acknowledgement is in your e-mail.",
    },
    "withdrawal_no_function": {
        "es": "En tu mercado ({market}) la ley no prevé un botón de desistimiento para compras "
              "online, pero nuestra política de devoluciones te cubre: tienes {days} días desde la "
              "entrega para devolver el pedido {order_id}{until}, con la etiqueta "
              "gratuita{covered}. ¿Quieres empezar la devolución?",
        "en": "In your market ({market}) the law has no withdrawal button for online purchases, "
              "but our returns policy covers you: you have {days} days from delivery to return "
              "order {order_id}{until}, with the free label{covered}. Would you like to start the "
              "return?",
    },
    "withdrawal_until": {"es": " (hasta el {date})", "en": " (until {date})"},
    "withdrawal_covered": {
        "es": "; incluye los {days} días que la ley te da para cancelar una compra a distancia",
        "en": "; it includes the {days} days the law gives you to cancel a distance purchase",
    },
    "withdrawal_no_function_expired": {
        "es": "En tu mercado ({market}) la ley no prevé un botón de desistimiento para compras "
              "online, y el plazo de devolución de {days} días del pedido {order_id} terminó el "
              "{date}. Una persona del equipo puede revisar tu caso.",
        "en": "In your market ({market}) the law has no withdrawal button for online purchases, "
              "and the {days}-day return window of order {order_id} ended on {date}. A person on "
              "our team can look at your case.",
    },
    "withdrawal_expired_return": {
        "es": "El plazo legal de desistimiento del pedido {order_id} ({days} {unit} desde la "
              "entrega) terminó el {deadline}, así que ya no puedo registrarlo como desistimiento. "
              "Aun así, nuestra política de devoluciones sigue abierta hasta el {until}: puedes "
              "devolverlo con la etiqueta gratuita. ¿Empezamos la devolución?",
        "en": "The legal withdrawal period of order {order_id} ({days} {unit} from delivery) ended "
              "on {deadline}, so I can no longer record it as a withdrawal. Our returns policy "
              "is still open until {until}, though: you can return it with the free label. "
              "Shall we start the return?",
    },
    "withdrawal_expired": {
        "es": "El plazo legal de desistimiento del pedido {order_id} ({days} {unit} desde la "
              "entrega) terminó el {deadline}, y también el de devolución de la tienda. Una "
              "persona del equipo puede revisar tu caso (por ejemplo, si el artículo tiene un "
              "defecto, la garantía sigue vigente).",
        "en": "The legal withdrawal period of order {order_id} ({days} {unit} from delivery) ended "
              "on {deadline}, and so did the store's return window. A person on our team can look "
              "at your case (for example, the warranty still covers a faulty item).",
    },
    "withdrawal_unit_calendar": {"es": "días naturales", "en": "calendar days"},
    "withdrawal_unit_business": {"es": "días hábiles", "en": "business days"},
    "withdrawal_period_within": {
        "es": "Estás dentro del plazo legal: {days} {unit} desde la entrega, hasta el {deadline} "
              "incluido.",
        "en": "You're within the legal period: {days} {unit} from delivery, until {deadline} "
              "inclusive.",
    },
    "withdrawal_period_not_started": {
        "es": "El pedido aún no se ha entregado: el plazo legal de {days} {unit} empieza el día "
              "que lo recibas, y puedes desistir ya.",
        "en": "The order hasn't been delivered yet: the legal period of {days} {unit} starts on "
              "the day you receive it, and you can withdraw now.",
    },
    "withdrawal_readback": {
        "es": "Vas a desistir del contrato de compra del pedido {order_id} ({items}, {total}), a "
              "nombre de {name}.\n{period}\nNo tienes que dar ningún motivo. Para que quede "
              "registrado, pulsa «{confirm}».",
        "en": "You're withdrawing from the purchase contract of order {order_id} ({items}, "
              "{total}), in the name of {name}.\n{period}\nYou don't need to give any reason. To "
              "record it, press \"{confirm}\".",
    },
    "withdrawal_start_return": {"es": "Empezar la devolución", "en": "Start the return"},
    "withdrawal_keep": {"es": "No, mantener la compra", "en": "No, keep the purchase"},
    "withdrawal_not_recorded": {
        "es": "De acuerdo, no he registrado ningún desistimiento: tu compra sigue en pie. ¿Te "
              "ayudo con algo más?",
        "en": "All right, I haven't recorded any withdrawal: your purchase stands. Can I help "
              "you with anything else?",
    },
    "withdrawal_done": {
        "es": "Hecho: tu desistimiento del pedido {order_id} quedó registrado el {when}. Código "
              "de desistimiento: {code}.\n{mail}\n{next}",
        "en": "Done: your withdrawal from order {order_id} was recorded on {when}. Withdrawal "
              "code: {code}.\n{mail}\n{next}",
    },
    "withdrawal_mailed": {
        "es": "Te he enviado el acuse de recibo a {email}, con la fecha y la hora.",
        "en": "I've sent the acknowledgement to {email}, with the date and time.",
    },
    "withdrawal_not_mailed": {
        "es": "No he podido enviarte el acuse por correo ahora mismo; guarda este mensaje (fecha, "
              "hora y código) y el equipo te lo enviará en cuanto sea posible.",
        "en": "I couldn't e-mail the acknowledgement right now; keep this message (date, time and "
              "code) and the team will send it as soon as possible.",
    },
    "withdrawal_next": {
        "es": "Qué pasa ahora: una persona del equipo te escribirá en menos de {hours} h con las "
              "instrucciones para devolver los artículos. Te devolveremos {amount} a {method}"
              "{refund}.",
        "en": "What happens now: a person on our team will write to you within {hours} h with "
              "how to send the items back. We'll refund {amount} to {method}{refund}.",
    },
    "withdrawal_refund_days": {
        "es": " en un plazo máximo de {days} días desde hoy (podemos esperar a recibir los "
              "artículos o la prueba de su envío)",
        "en": " within {days} days from today at the latest (we may wait until we receive the "
              "items or proof that you sent them)",
    },
    "withdrawal_when": {"es": "{date} a las {time} h ({zone})", "en": "{date} at {time} ({zone})"},
    "withdrawal_note": {
        "es": "[desistimiento] Pedido {order_id} ({market}), código {code}, declarado el {when} "
              "por {name} ({channel}). {period} Ley: {law}. {store}",
        "en": "[withdrawal] Order {order_id} ({market}), code {code}, declared on {when} by "
              "{name} ({channel}). {period} Law: {law}. {store}",
    },
    "withdrawal_note_within": {"es": "Dentro de plazo (hasta el {deadline}).",
                               "en": "Within the period (until {deadline})."},
    "withdrawal_note_not_started": {"es": "Antes de la entrega.", "en": "Before delivery."},
    "withdrawal_note_store_ok": {"es": "Registrado en la tienda.",
                                 "en": "Recorded in the store."},
    "withdrawal_note_store_missing": {
        "es": "NO registrado en la tienda ({why}): regístralo allí.",
        "en": "NOT recorded in the store ({why}): record it there.",
    },
}
register(MESSAGES)


def when_text(moment: datetime, rules: WithdrawalRules, lang: str) -> str:
    """``7 de diciembre de 2026 a las 09:12 h (UTC+01:00)`` in the market's time zone."""
    try:
        zone = ZoneInfo(rules.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = moment.astimezone(zone)
    offset = local.strftime("%z")
    zone_text = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    return t("withdrawal_when", lang, date=format_date(local.date(), lang),
             time=local.strftime("%H:%M"), zone=zone_text)


def unit_text(rules: WithdrawalRules, lang: str) -> str:
    return t("withdrawal_unit_business" if rules.business_days else "withdrawal_unit_calendar",
             lang)
