"""Who the sender is, as far as a channel can prove it: the reserved metadata namespace.

Message metadata reaches the custom actions (``tracker.latest_message["metadata"]``), and the web
channels fill it from what the client sent. So identity must never be read from an ordinary key:

* keys starting with :data:`RESERVED_PREFIX` (``atiende_``) belong to the server. Every channel
  that accepts client-supplied metadata (REST, socket.io, the hand-back) passes it through
  :func:`client_metadata`, which drops them, whatever their value;
* only the channel object that authenticated the sender sets :data:`VERIFIED_KEY`: today the
  WhatsApp webhook, after checking Meta's ``X-Hub-Signature-256`` over the raw body (the sender's
  number is the ``from`` of that signed payload). See :func:`verified_phone`;
* the actions (``actions/forms.py``) read only :data:`VERIFIED_KEY`, and only when the same user
  event also says it arrived on the ``whatsapp`` channel — which REST no longer lets a body choose.

This module is imported by the bot (channels) and read by the action server, so it has no Rasa
import.
"""

from __future__ import annotations

from typing import Any

RESERVED_PREFIX = "atiende_"
VERIFIED_KEY = "atiende_verified"
#: the only channel whose sender identity is proven today (signed Meta webhook)
VERIFYING_CHANNELS = frozenset({"whatsapp"})


def client_metadata(raw: Any) -> dict[str, Any]:
    """Client-supplied metadata without the server's reserved keys (a copy; never None)."""
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items()
            if not (isinstance(k, str) and k.lower().startswith(RESERVED_PREFIX))}


def verified_phone(channel: str, phone_digits: str) -> dict[str, Any]:
    """The metadata entry a channel that authenticated the sender adds: ``{VERIFIED_KEY: …}``."""
    return {VERIFIED_KEY: {"channel": channel, "phone": f"+{phone_digits}"}}
