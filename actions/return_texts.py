"""What the return flow says (``actions/return_form.py``, ``actions/returns.py`` and their
helpers): its Spanish and English messages, registered with :mod:`actions.i18n`."""

from __future__ import annotations

from actions.i18n import register

MESSAGES = {
    "return_items_intro": {
        "es": "Estos son los artículos del pedido {order_id}:\n{items}\n¿Cuál quieres devolver? "
              "Puedes decirme el nombre, el número de la lista o «todo».",
        "en": "These are the items in order {order_id}:\n{items}\nWhich one would you like to "
              "return? Tell me its name, its number in the list or \"all\".",
    },
    "return_item_unknown": {
        "es": "No he sabido identificar ese artículo. Elige uno de la lista:\n{items}",
        "en": "I couldn't tell which item you mean. Please pick one from the list:\n{items}",
    },
    "return_item_line_not_returnable": {"es": " (no admite devolución)", "en": " (not returnable)"},
    "return_item_line_seal": {"es": " · solo con el precinto higiénico intacto",
                              "en": " · only with its hygiene seal intact"},
    "return_item_line_final_sale": {"es": " (venta final: no admite devolución)",
                                    "en": " (final sale: not returnable)"},
    "return_size": {"es": "talla {size}", "en": "size {size}"},
    "return_created_refund": {
        "es": "Listo, he creado la devolución {rma} para: {items}.\n"
              "Próximos pasos:\n1. Descarga la etiqueta: {label}\n"
              "2. Empaqueta el artículo con sus etiquetas y entrégalo antes del {ship_by}.\n"
              "3. Te devolveremos {amount} a {method} en {min_days}-{max_days} días hábiles desde "
              "que llegue a nuestro almacén.{extra}",
        "en": "Done, I've created return {rma} for: {items}.\n"
              "Next steps:\n1. Download the label: {label}\n"
              "2. Pack the item with its tags and drop it off by {ship_by}.\n"
              "3. We'll refund {amount} to {method} within {min_days}-{max_days} business days "
              "of it reaching our warehouse.{extra}",
    },
    "return_created_exchange": {
        "es": "Listo, he creado el cambio de talla {rma} para: {items}. El cambio es gratuito.\n"
              "Próximos pasos:\n1. Descarga la etiqueta: {label}\n"
              "2. Entrega el artículo en el punto de recogida antes del {ship_by}.\n"
              "3. En cuanto el transportista escanee tu paquete te enviamos la nueva talla sin "
              "coste, sin esperar a que llegue al almacén; si está agotada, te devolvemos el "
              "importe completo.{extra}",
        "en": "Done, I've created size exchange {rma} for: {items}. The exchange is free.\n"
              "Next steps:\n1. Download the label: {label}\n"
              "2. Drop the item off by {ship_by}.\n"
              "3. As soon as the carrier scans your parcel we'll ship the new size at no cost, "
              "without waiting for it to reach the warehouse; if it's sold out we'll give you a "
              "full refund.{extra}",
    },
    "return_requested": {
        "es": "Listo, he registrado tu solicitud de devolución {rma} para: {items}.\n"
              "Próximos pasos:\n1. Nuestro equipo la revisa y te envía por email la etiqueta de "
              "devolución (siempre en menos de 48 horas).\n"
              "2. Empaqueta el artículo con sus etiquetas y entrégalo con esa etiqueta.\n"
              "3. Te devolveremos {amount} a {method} en {min_days}-{max_days} días hábiles desde "
              "que llegue a nuestro almacén.{extra}",
        "en": "Done, I've registered your return request {rma} for: {items}.\n"
              "Next steps:\n1. Our team reviews it and e-mails you the return label (always "
              "within 48 hours).\n"
              "2. Pack the item with its tags and drop it off with that label.\n"
              "3. We'll refund {amount} to {method} within {min_days}-{max_days} business days "
              "of it reaching our warehouse.{extra}",
    },
    "return_requested_exchange": {
        "es": "Listo, he registrado tu solicitud de cambio de talla {rma} para: {items}. El cambio "
              "es gratuito.\nPróximos pasos:\n1. Nuestro equipo la revisa y te envía por email la "
              "etiqueta (siempre en menos de 48 horas).\n2. Entrega el artículo con esa etiqueta: "
              "en cuanto el transportista lo escanee te enviamos la nueva talla; si está agotada, "
              "te devolvemos el importe completo.{extra}",
        "en": "Done, I've registered your size exchange request {rma} for: {items}. The exchange "
              "is free.\nNext steps:\n1. Our team reviews it and e-mails you the label (always "
              "within 48 hours).\n2. Drop the item off with that label: as soon as the carrier "
              "scans it we'll ship the new size; if it's sold out we'll give you a full refund."
              "{extra}",
    },
    "request_return": {
        "es": "Devolución del pedido {order_id}: {items}. Motivo: «{reason}». {kind}",
        "en": "Return for order {order_id}: {items}. Reason: \"{reason}\". {kind}",
    },
    "request_return_refund": {"es": "Reembolso de {amount} a {method}.",
                              "en": "Refund {amount} to {method}."},
    "request_return_exchange": {"es": "Cambio de talla gratuito.", "en": "Free size exchange."},
    "return_not_delivered_yet": {
        "es": "El pedido {order_id} todavía no se ha entregado. Cuando lo recibas podrás "
              "devolverlo durante {days} días.{holiday}",
        "en": "Order {order_id} hasn't been delivered yet. Once it arrives you'll have {days} days "
              "to return it.{holiday}",
    },
    "return_holiday_note": {
        "es": " Como lo compraste entre el 15 de noviembre y el 31 de diciembre, puedes devolverlo "
              "hasta el {until} si esa fecha es posterior.",
        "en": " As you bought it between 15 November and 31 December, you can return it until "
              "{until} if that is later.",
    },
    "return_seal_note": {
        "es": "\nLos bañadores y bikinis solo se aceptan con el precinto higiénico intacto.",
        "en": "\nSwimsuits and bikinis are accepted only with the hygiene seal intact.",
    },
    "return_fee_note": {
        "es": " Del reembolso se descuentan {fee} de la etiqueta prepagada.",
        "en": " {fee} for the prepaid label is taken off the refund.",
    },
    "return_not_shipped": {
        "es": "El pedido {order_id} aún no ha salido del almacén, así que no hace falta "
              "devolverlo: puedes cancelarlo y te devolvemos el dinero. ¿Quieres que lo cancele?",
        "en": "Order {order_id} hasn't left the warehouse yet, so there's no need to return it: "
              "you can cancel it and get your money back. Shall I cancel it?",
    },
    "return_window_expired": {
        "es": "Lo siento, el plazo de devolución del pedido {order_id} terminó el {deadline} "
              "({days} días desde la entrega), así que no puedo abrir una devolución.",
        "en": "Sorry, the return window for order {order_id} ended on {deadline} ({days} days "
              "from delivery), so I can't open a return.",
    },
    "return_window_expired_holiday": {
        "es": "Lo siento, el plazo de devolución del pedido {order_id} terminó el {deadline} "
              "(ampliación de Black Friday y Navidad para compras del 15 de noviembre al 31 de "
              "diciembre), así que no puedo abrir una devolución.",
        "en": "Sorry, the return window for order {order_id} ended on {deadline} (the Black Friday "
              "and Christmas extension for purchases from 15 November to 31 December), so I can't "
              "open a return.",
    },
    "return_closed": {
        "es": "El pedido {order_id} está {status}, así que no admite una nueva devolución.",
        "en": "Order {order_id} is {status}, so it can't be returned again.",
    },
    "return_non_returnable": {
        "es": "Por higiene, por estar personalizado o por ser una tarjeta regalo, {items} no "
              "admite devolución. Puedes elegir otro artículo del pedido.",
        "en": "For hygiene reasons, because it's personalised or because it's a gift card, {items} "
              "can't be returned. You can pick another item from the order.",
    },
    "return_already_returned": {
        "es": "Ese artículo ya tiene una devolución abierta en el pedido {order_id}.",
        "en": "That item already has a return open in order {order_id}.",
    },
    "return_needs_approval": {
        "es": "El reembolso de esta devolución ({amount}) necesita la aprobación de una persona "
              "del equipo. Te paso con ella ahora.",
        "en": "The refund for this return ({amount}) needs approval from a person on our team. I'm "
              "putting you through now.",
    },
    "return_not_confirmed": {
        "es": "He pedido la devolución pero el sistema no me la muestra todavía, así que prefiero "
              "no darte un número que no puedo comprobar.",
        "en": "I requested the return but the system doesn't show it yet, so I'd rather not give "
              "you a number I can't check.",
    },
}

MESSAGES.update({
    # per-item refusals, said as soon as the item is chosen (before any confirmation)
    "return_refused_underwear": {
        "es": "{item} no admite devolución por higiene (ropa interior y calcetines).",
        "en": "{item} can't be returned for hygiene reasons (underwear and socks).",
    },
    "return_refused_gift_card": {"es": "{item} es una tarjeta regalo y no admite devolución.",
                                 "en": "{item} is a gift card and can't be returned."},
    "return_refused_personalised": {
        "es": "{item} está personalizado para ti, así que no admite devolución.",
        "en": "{item} was personalised for you, so it can't be returned.",
    },
    "return_refused_category": {"es": "{item} no admite devolución según la política de la tienda.",
                                "en": "{item} can't be returned under the shop's policy."},
    "return_refused_final_sale": {
        "es": "{item} se compró en venta final (liquidación), que no admite devolución por cambio "
              "de opinión. Si ha llegado defectuoso, dímelo y lo tramitamos como incidencia.",
        "en": "{item} was bought as final sale (clearance), which can't be returned for a change "
              "of mind. If it arrived faulty, tell me and we'll handle it as a problem with the "
              "item.",
    },
    "return_refused_seal_broken": {
        "es": "Sin el precinto higiénico intacto no podemos aceptar {item}, lo siento.",
        "en": "Without its hygiene seal intact we can't accept {item}, sorry.",
    },
    "return_refused_already_returned": {"es": "{item} ya se devolvió en este pedido.",
                                        "en": "{item} has already been returned in this order."},
    "return_open_rma": {
        "es": "{item} ya tiene abierta la devolución {rma} ({kind}, {status}), así que no abro "
              "otra.{label}",
        "en": "{item} already has return {rma} open ({kind}, {status}), so I won't open another "
              "one.{label}",
    },
    "return_open_rma_label": {"es": " Tu etiqueta: {label}", "en": " Your label: {label}"},
    "return_kind_refund": {"es": "reembolso", "en": "refund"},
    "return_kind_exchange": {"es": "cambio de talla", "en": "size exchange"},
    "return_rma_status_requested": {"es": "pendiente de revisión por el equipo",
                                    "en": "waiting for the team's review"},
    "return_rma_status_open": {"es": "abierta", "en": "open"},
    "return_rma_status_label_sent": {"es": "etiqueta enviada, pendiente de que entregues el "
                                           "paquete",
                                     "en": "label sent, waiting for you to drop the parcel off"},
    "return_pick_another": {
        "es": "\nSi quieres devolver otro artículo del pedido, elígelo:\n{items}",
        "en": "\nIf you'd like to return another item from the order, pick it:\n{items}",
    },
    "return_nothing_else": {
        "es": "\nNo queda ningún otro artículo de este pedido que se pueda devolver.",
        "en": "\nThere's no other item in this order that can be returned.",
    },
    "return_seal_dropped": {
        "es": "Sin el precinto intacto dejo fuera {items}; sigo con el resto.",
        "en": "Without the seal intact I'll leave {items} out and go on with the rest.",
    },
    "return_not_created": {
        "es": "De acuerdo, no he creado ninguna devolución. ¿Te ayudo con algo más?",
        "en": "All right, I haven't created any return. Can I help you with anything else?",
    },
    # read-back: nothing is created before the shopper says yes
    "return_readback": {
        "es": "Antes de crear nada, repasemos:\n• Artículo: {items}\n• Motivo: {reason}\n"
              "• Solución: {remedy}\n• Importe: {amount}\n• Cómo devolverlo: {method}{extra}",
        "en": "Before I create anything, let's go over it:\n• Item: {items}\n• Reason: {reason}"
              "\n• Remedy: {remedy}\n• Amount: {amount}\n• How to send it back: {method}"
              "{extra}",
    },
    "return_to_claim": {
        "es": "Entonces no es una devolución normal sino una incidencia: la tramitamos sin coste "
              "para ti y sin gastar tu plazo de devolución.",
        "en": "Then it's not an ordinary return but a problem with the item: we'll sort it out at "
              "no cost to you, without using up your return window.",
    },
    "return_confirm_question": {"es": "\n¿Lo confirmo?", "en": "\nShall I go ahead?"},
    "return_not_confirmed_yet": {"es": "¿Confirmo la devolución?",
                                 "en": "Shall I create the return?"},
    "return_readback_refund": {"es": "reembolso a {method}", "en": "refund to {method}"},
    "return_readback_exchange": {"es": "cambio gratuito a la {variant}",
                                 "en": "free exchange for {variant}"},
    "return_readback_amount_refund": {"es": "{amount}", "en": "{amount}"},
    "return_readback_amount_fee": {"es": "{amount} (ya descontados {fee} de la etiqueta)",
                                   "en": "{amount} ({fee} for the label already taken off)"},
    "return_readback_amount_exchange": {"es": "sin coste: el cambio es gratuito",
                                        "en": "no cost: the exchange is free"},
    "return_readback_method": {
        "es": "etiqueta prepagada que te doy al confirmar; entrega el paquete en un punto de "
              "recogida antes del {ship_by}",
        "en": "a prepaid label I'll give you once you confirm; drop the parcel off at a "
              "collection point by {ship_by}",
    },
    "return_readback_approval": {
        "es": "\nUn reembolso de este importe lo aprueba una persona del equipo: si confirmas, te "
              "paso con ella con todo preparado.",
        "en": "\nA refund of this amount is approved by a person on our team: if you confirm, I'll "
              "put you through with everything ready.",
    },
    "return_readback_seal": {
        "es": "\nRecuerda: el bañador solo se acepta con el precinto higiénico intacto.",
        "en": "\nRemember: swimwear is accepted only with the hygiene seal intact.",
    },
    # size/colour exchange: stock checked in the store before it is offered
    "return_ask_exchange": {
        "es": "Te lo cambio gratis. ¿Qué talla quieres que te enviemos de {item} (ahora tienes la "
              "{size})? Si prefieres que te devolvamos el dinero ({amount}), dime «reembolso».",
        "en": "I can exchange it for free. Which size of {item} should we send you (you have "
              "{size} now)? If you'd rather have your money back ({amount}), just say \"refund\".",
    },
    "return_exchange_unclear": {
        "es": "No he entendido qué talla quieres. Dime el número o la letra (por ejemplo, 42 o M), "
              "o «reembolso» si prefieres el dinero.",
        "en": "I didn't catch which size you want. Tell me the number or letter (for example, 9 or "
              "M), or \"refund\" if you'd rather have your money back.",
    },
    "return_exchange_same_size": {
        "es": "Esa es la talla que ya tienes. ¿Cuál quieres en su lugar?",
        "en": "That's the size you already have. Which one would you like instead?",
    },
    "return_exchange_sold_out": {
        "es": "La {variant} de {item} está agotada ahora mismo. Las más cercanas que tenemos son: "
              "{sizes}. ¿Quieres una de ellas o prefieres el reembolso?",
        "en": "{variant} of {item} is sold out right now. The nearest we have are: {sizes}. Would "
              "you like one of those, or a refund instead?",
    },
    "return_exchange_no_such_size": {
        "es": "{item} no tiene la {variant}. Tenemos: {sizes}. ¿Cuál quieres, o prefieres el "
              "reembolso?",
        "en": "{item} doesn't come in {variant}. We have: {sizes}. Which one would you like, or "
              "would you rather have a refund?",
    },
    "return_exchange_none_left": {
        "es": "{item} está agotado en todas las tallas, así que no puedo ofrecerte el cambio: te "
              "propongo el reembolso.",
        "en": "{item} is sold out in every size, so I can't offer the exchange: I suggest a "
              "refund instead.",
    },
    "return_exchange_unchecked": {
        "es": "Ahora mismo no puedo comprobar el stock de {item}, así que no te prometo la talla: "
              "te propongo el reembolso.",
        "en": "I can't check the stock of {item} right now, so I won't promise the size: I "
              "suggest a refund instead.",
    },
    "return_exchange_in_stock": {"es": "Hay stock de la {variant}.",
                                 "en": "{variant} is in stock."},
    "return_variant_size": {"es": "talla {size}", "en": "size {size}"},
    "return_variant_size_colour": {"es": "talla {size} en {colour}",
                                   "en": "size {size} in {colour}"},
    "return_exchange_note": {"es": "Cambio a la {variant} ({sku})",
                             "en": "Exchange for {variant} ({sku})"},
})
register(MESSAGES)
