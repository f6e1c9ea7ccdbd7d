"""``action_change_address``: new shipping address, only while the parcel is in the warehouse.

After writing, the order is re-read and the shopper sees the stored address masked, so what is
confirmed is what the backend holds (and a typo is visible without exposing the full address).
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.i18n import register, t
from actions.masking import mask_address
from actions.order_common import (
    OrderAction,
    backend_error,
    hand_off_request,
    offer_human_buttons,
    status_label,
    why_not,
)
from actions.policy import check_address_change
from actions.store import InvalidOperation, OperationNotSupported, Order
from actions.store.mapping import same_address

MESSAGES = {
    "address_current": {
        "es": "Ahora el pedido {order_id} se enviará a {address}.",
        "en": "Order {order_id} is currently going to {address}.",
    },
    "address_invalid": {
        "es": "Necesito la dirección completa: calle y número, código postal y ciudad "
              "(por ejemplo: Calle Mayor 5, 2º A, 28013 Madrid).",
        "en": "I need the full address: street and number, postcode and city "
              "(for example: 245 W 17th St, Apt 4C, New York, NY 10011).",
    },
    "address_changed": {
        "es": "Hecho: el pedido {order_id} se enviará a {address}. Si algo no cuadra, dímelo antes "
              "de que salga del almacén.",
        "en": "Done: order {order_id} will now go to {address}. If anything looks wrong, tell me "
              "before it leaves the warehouse.",
    },
    "address_already_shipped": {
        "es": "El pedido {order_id} ya está {status}, así que no puedo cambiar la dirección desde "
              "aquí. Una persona del equipo puede intentar redirigirlo con el transportista.",
        "en": "Order {order_id} is already {status}, so I can't change the address from here. A "
              "person on our team can try to redirect it with the carrier.",
    },
    "address_closed": {
        "es": "El pedido {order_id} está {status}; ya no tiene un envío que modificar.",
        "en": "Order {order_id} is {status}; there's no delivery left to change.",
    },
    "request_address": {
        "es": "Cambiar la dirección de envío del pedido {order_id} a: {address}",
        "en": "Change the shipping address of order {order_id} to: {address}",
    },
    "address_not_confirmed": {
        "es": "He pedido el cambio, pero el sistema no muestra la nueva dirección en el pedido "
              "{order_id}, así que no puedo confirmarlo.",
        "en": "I requested the change, but the system doesn't show the new address on order "
              "{order_id}, so I can't confirm it.",
    },
}
register(MESSAGES)


def clean_address(text: str | None) -> str | None:
    """The address as stored (whitespace collapsed) if it looks complete, else None."""
    address = " ".join((text or "").split())
    has_digit = any(c.isdigit() for c in address)
    letters = sum(c.isalpha() for c in address)
    if 8 <= len(address) <= 300 and has_digit and letters >= 4:
        return address
    return None


class ActionChangeAddress(OrderAction):
    action_name = "action_change_address"

    async def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order,
                     lang: str) -> list[EventType]:
        fields = {"order_id": order.id, "status": status_label(order, lang)}
        decision = check_address_change(order)
        if not decision.allowed:
            if decision.code == "already_shipped":
                dispatcher.utter_message(text=t("address_already_shipped", lang, **fields),
                                         buttons=offer_human_buttons(lang))
            else:
                dispatcher.utter_message(text=t("address_closed", lang, **fields))
            return []
        address = clean_address(tracker.get_slot("new_address"))
        if address is None:
            dispatcher.utter_message(text=t("address_invalid", lang))
            return []
        store = self.store()
        try:
            if not store.supports("change_address"):
                raise OperationNotSupported("change_address", why_not(store, "change_address"))
            await store.change_address(order.id, address)
        except InvalidOperation:
            pass  # shipped meanwhile: the re-read decides
        except OperationNotSupported as exc:
            return hand_off_request(dispatcher, lang, "change_address", order.id,
                                    t("request_address", lang, order_id=order.id,
                                      address=address), exc.why)
        fresh = await store.get_order(order.id)
        # platforms store addresses in fields: compare what it says, not how it is punctuated
        if not same_address(fresh.shipping_address, address):
            dispatcher.utter_message(text=t("address_not_confirmed", lang, order_id=order.id))
            if fresh.status.is_shipped:
                dispatcher.utter_message(text=t("address_already_shipped", lang, order_id=order.id,
                                                status=status_label(fresh, lang)),
                                         buttons=offer_human_buttons(lang))
                return []
            return backend_error(dispatcher, lang, None, self.name())
        dispatcher.utter_message(text=t("address_changed", lang, order_id=order.id,
                                        address=mask_address(fresh.shipping_address)))
        return []
