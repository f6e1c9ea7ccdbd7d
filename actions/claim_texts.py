"""What the claim flow says (``actions/claim_form.py``, ``actions/claims.py``): its Spanish and
English messages, registered with :mod:`actions.i18n`, and the yes/no buttons of the read-back."""

from __future__ import annotations

from actions.i18n import register

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

