"""Attack (issue #10): a REST body claims ``"input_channel": "whatsapp"`` with a sender id made of
the victim's phone digits (``x34655908172``, ``wa:34655908172``), so the order actions treated the
sender as a WhatsApp number verified by Meta and showed the victim's order.

The REST channel now takes the channel from where the message arrived (always ``rest``), never
from the body. The whole-system version of this attack (real Rasa, model and actions) is
``tests/security/test_spoofed_whatsapp_sender.py``.
"""

from __future__ import annotations

import pytest

from bot.channels.identity import VERIFIED_KEY
from tests.bot.channels.harness import FakeAgent, SanicHarness


@pytest.mark.parametrize("sender", ["x34655908172", "wa:34655908172"])
async def test_body_input_channel_is_ignored(server: SanicHarness, agent: FakeAgent,
                                             sender: str) -> None:
    status, _, _ = await server.request("POST", "/webhooks/rest/webhook", json={
        "sender": sender, "message": "¿dónde está mi pedido AT101001?",
        "input_channel": "whatsapp"})
    assert status == 200
    [message] = agent.handled
    assert message.input_channel == "rest"
    assert VERIFIED_KEY not in (message.metadata or {})
