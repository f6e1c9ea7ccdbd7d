"""The package surface: cheap import, backend choice, headers for serving media."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

from media_store import StoredMedia, open_store, response_headers, settings_from_env
from media_store.local import LocalDirectoryStore


def test_import_loads_nothing_heavy():
    code = ("import sys, media_store; "
            "heavy = {'PIL', 'boto3', 'botocore', 'filetype', 'sqlite3'} & set(sys.modules); "
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_open_store_is_local_by_default_and_does_no_io(tmp_path):
    store = open_store(settings_from_env({"ATIENDE_DATA_DIR": str(tmp_path)}))
    assert isinstance(store, LocalDirectoryStore)
    assert store.root == (tmp_path / "media").resolve()
    assert not (tmp_path / "media").exists()  # created on first use, in a worker thread


def _media(kind: str, mime: str, filename: str | None) -> StoredMedia:
    return StoredMedia(key="K" * 32, conversation_id="c", source="whatsapp", kind=kind,
                       mime_type=mime, size=10, sha256="ab" * 32,
                       created_at=datetime.now(timezone.utc), filename=filename)


def test_response_headers():
    image = response_headers(_media("image", "image/png", None))
    assert image["Content-Type"] == "image/png"
    assert image["X-Content-Type-Options"] == "nosniff"
    assert image["Content-Disposition"] == "inline"
    assert "sandbox" in image["Content-Security-Policy"]
    document = response_headers(_media("document", "application/pdf", 'fac"tura ñ.pdf'))
    assert document["Content-Disposition"] == (
        "attachment; filename*=UTF-8''fac%22tura%20%C3%B1.pdf")
