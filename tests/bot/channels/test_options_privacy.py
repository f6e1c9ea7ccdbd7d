"""The numbered menus remembered per conversation (bot/channels/options.py) hold a shopper's
conversation id (a WhatsApp number): erasing that shopper removes them, and only theirs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.channels.options import OfferedOptions
from privacy import stores
from privacy.subject import Subject


def test_erasure_removes_the_shoppers_remembered_menu(tmp_path: Path) -> None:
    path = tmp_path / "meta_channels.db"
    options = OfferedOptions(path)
    asyncio.run(options.remember("whatsapp", "5215512345678", ["/a", "/b"]))
    asyncio.run(options.remember("whatsapp", "34600111222", ["/c"]))
    store = stores.SQLiteFileStore("meta_channels", path, stores.META_TABLES)
    assert store.erase(Subject.build(conversation_ids=["5215512345678"])) == 1
    assert asyncio.run(options.resolve("whatsapp", "5215512345678", "1")) == "1"  # gone
    assert asyncio.run(options.resolve("whatsapp", "34600111222", "1")) == "/c"  # kept
