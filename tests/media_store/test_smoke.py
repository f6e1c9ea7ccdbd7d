"""Runs in BOTH environments (scripts/test.sh adds it to the bot-env stage): the package imports
on Python 3.10 with Rasa's pins and on 3.11, and stores, lists, reads and erases real files."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

import pytest

from media_store import MediaRejected, open_store, settings_from_env
from tests.media_store.conftest import HTML, fixture, jpeg_with_exif


async def test_store_read_and_erase_in_this_environment(tmp_path):
    store = open_store(settings_from_env({"ATIENDE_DATA_DIR": str(tmp_path)}))
    photo = await store.put(jpeg_with_exif(), declared_type="image/jpeg", filename="roto.jpg",
                            conversation_id="smoke", source="whatsapp")
    voice = await store.put(fixture("voice_note.ogg"), declared_type="audio/ogg",
                            filename=None, conversation_id="smoke", source="whatsapp")
    assert (photo.mime_type, voice.mime_type) == ("image/jpeg", "audio/ogg")
    record, data = await store.get(photo.key)
    assert record == photo and b"PhoneMakerSerial123" not in data
    assert (await store.get(voice.key))[1] == fixture("voice_note.ogg")
    with pytest.raises(MediaRejected):
        await store.put(HTML, declared_type="image/png", filename="x.png",
                        conversation_id="smoke", source="widget")
    assert await store.list_conversation("smoke") == [photo, voice]
    assert await store.delete_older_than(datetime.now(timezone.utc) - timedelta(days=1)) == 0
    assert await store.delete_conversation("smoke") == 2
    assert [p for p in (tmp_path / "media" / "objects").rglob("*") if p.is_file()] == []
    assert sys.version_info[:2] in ((3, 10), (3, 11))
