"""Bot menus when the platform refuses the interactive message (issue #17).

WhatsApp gets reply buttons (≤ 3) or an interactive list (4–10 rows per list), Messenger quick
replies (≤ 13): :mod:`bot.channels.whatsapp_output` and :mod:`bot.channels.messenger`. Only when
Meta refuses that message (an HTTP 4xx that is not the 24-hour window, e.g. an interactive type the
number cannot send) — or Messenger gets more than 13 options — the menu goes as text: the prompt
and one numbered line per option ("1. Devolver un artículo"). The options are remembered for the
conversation (:class:`OfferedOptions`, in the channel state database), so a shopper who answers "2"
or "2." gets the second option's payload to Rasa, exactly as if they had tapped it.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.channels.meta_state import StateDatabase, offered_options

OPTIONS_TTL = 24 * 3600  # the menu of a conversation idle for a day is not what "2" means
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")



def numbered_text(text: str, buttons: list[dict[str, Any]]) -> str:
    """The prompt followed by one numbered line per option."""
    lines = [f"{i}. {' '.join(str(b.get('title', '')).split())}"
             for i, b in enumerate(buttons, start=1)]
    return "\n".join([text.strip(), "", *lines]).strip() if text.strip() else "\n".join(lines)


def payloads(buttons: list[dict[str, Any]]) -> list[str]:
    return [str(b.get("payload") or b.get("title") or "") for b in buttons]


class OfferedOptions:
    """The last numbered menu sent as text to each conversation (in the channel state database,
    :mod:`bot.channels.meta_state`: shared by every replica)."""

    def __init__(self, path: Path | str | None = None, *,
                 database: StateDatabase | None = None) -> None:
        self.db = database or StateDatabase(path)

    def _remember(self, channel: str, conversation_id: str, options: list[str]) -> None:
        with self.db.engine.begin() as conn:
            self.db.upsert(conn, offered_options, {
                "channel": channel, "conversation_id": conversation_id,
                "options": json.dumps(options), "at": time.time()},
                {"options": json.dumps(options), "at": time.time()})

    async def remember(self, channel: str, conversation_id: str, options: list[str]) -> None:
        await asyncio.to_thread(self._remember, channel, conversation_id, options)

    def _resolve(self, channel: str, conversation_id: str, text: str) -> str | None:
        match = _NUMBER.match(text or "")
        if not match:
            return None
        t = offered_options
        key = (t.c.channel == channel, t.c.conversation_id == conversation_id)
        with self.db.engine.begin() as conn:
            row = conn.execute(sa.select(t.c.options, t.c.at).where(*key)).first()
            if row is None or time.time() - row[1] > OPTIONS_TTL:
                return None
            options = json.loads(row[0])
            index = int(match.group(1)) - 1
            if not 0 <= index < len(options):
                return None
            conn.execute(t.delete().where(*key))
            return str(options[index])

    async def resolve(self, channel: str, conversation_id: str, text: str) -> str:
        """The payload of option ``text`` ("2") of the last text menu, else ``text`` itself."""
        chosen = await asyncio.to_thread(self._resolve, channel, conversation_id, text)
        return chosen if chosen is not None else text
