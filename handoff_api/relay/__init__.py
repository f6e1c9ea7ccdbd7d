"""Registry of channel relays, keyed by the Rasa channel name.

A relay module exposes ``create_relay(context: RelayContext) -> ChannelRelay``. Modules are imported
lazily, on the first reply for that channel, so a missing optional module (or its settings) never
breaks start-up. To add a channel, add one line to ``RELAY_MODULES`` (or call :func:`register_relay`
from anywhere at start-up). ``whatsapp.py`` and ``messenger.py`` are owned by the channels engineer.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from handoff_api.relay.base import ChannelRelay, DeliveryResult, RelayContext, RelayTarget

__all__ = [
    "ChannelRelay",
    "DeliveryResult",
    "RelayContext",
    "RelayTarget",
    "RELAY_MODULES",
    "RelayRegistry",
    "UnknownChannelError",
    "register_relay",
]

logger = logging.getLogger(__name__)

RelayFactory = Callable[[RelayContext], ChannelRelay]

#: channel name -> module holding ``create_relay``. The web widget talks through socket.io or REST.
RELAY_MODULES: dict[str, str] = {
    "socketio": "handoff_api.relay.webchat",
    "rest": "handoff_api.relay.webchat",
    "webchat": "handoff_api.relay.webchat",
    "whatsapp": "handoff_api.relay.whatsapp",
    "messenger": "handoff_api.relay.messenger",
}

_EXTRA_FACTORIES: dict[str, RelayFactory] = {}


def register_relay(channel: str, factory: RelayFactory) -> None:
    """Register (or replace) the factory for ``channel`` process-wide.

    It wins over ``RELAY_MODULES``.
    """
    _EXTRA_FACTORIES[channel] = factory


class UnknownChannelError(LookupError):
    """No relay is available for a channel; the reason is shown to the agent."""


class RelayRegistry:
    """Builds and caches one relay per channel for an app instance."""

    def __init__(self, context: RelayContext, overrides: dict[str, ChannelRelay] | None = None):
        self.context = context
        self._relays: dict[str, ChannelRelay] = dict(overrides or {})

    def get(self, channel: str) -> ChannelRelay:
        if channel in self._relays:
            return self._relays[channel]
        factory = _EXTRA_FACTORIES.get(channel)
        if factory is None:
            module_name = RELAY_MODULES.get(channel)
            if module_name is None:
                raise UnknownChannelError(f"No relay is configured for channel '{channel}'")
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                raise UnknownChannelError(
                    f"The relay for channel '{channel}' is not installed ({module_name})"
                ) from None
            factory = module.create_relay
        relay = factory(self.context)
        self._relays[channel] = relay
        return relay

    async def send_text(self, target: RelayTarget, text: str) -> DeliveryResult:
        """Deliver ``text``; unknown channels and relay crashes become a refused result."""
        try:
            relay = self.get(target.channel)
        except UnknownChannelError as exc:
            return DeliveryResult.refused(str(exc))
        try:
            return await relay.send_text(target, text)
        except Exception as exc:  # a relay bug must not lose the agent's reply silently
            logger.exception("relay %s failed for %s", target.channel, target.conversation_id)
            return DeliveryResult.refused(
                f"Delivery through {target.channel} failed: {exc}", retryable=True
            )

    async def aclose(self) -> None:
        """Close relays that hold resources (HTTP clients)."""
        for relay in self._relays.values():
            close = getattr(relay, "aclose", None)
            if close is not None:
                await close()
