"""Sample files for the media store tests, built here (Pillow, zipfile) or read from fixtures/.

Imports only what both environments have (Pillow, the standard library), so test_smoke.py also
runs in the bot environment.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

GPS_LATITUDE = (40.0, 25.0, 1.5)


def jpeg_with_exif(*, orientation: int = 1, size: tuple[int, int] = (40, 20)) -> bytes:
    """A camera-like JPEG: left half red, right half blue, EXIF with a GPS position, the phone's
    make and an orientation, and an HTML comment segment."""
    from PIL import ExifTags, Image

    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMakerSerial123"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (3.0, 42.0, 7.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"<script>alert(1)</script>", quality=75)
    return out.getvalue()


def png(*, size: tuple[int, int] = (12, 8), text: str | None = None, mode: str = "RGB") -> bytes:
    from PIL import Image, PngImagePlugin

    image = Image.new(mode, size, 200 if mode in ("L", "P") else (10, 200, 30))
    info = None
    if text is not None:
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", text)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def webp() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGBA", (16, 16), (0, 128, 255, 128)).save(out, "WEBP")
    return out.getvalue()


def pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
            b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
            b"trailer <</Root 1 0 R>>\n%%EOF\n")


def docx() -> bytes:
    """The smallest archive with the parts that make a Word document."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
       b"<script>alert(2)</script></svg>")


async def put(store, data: bytes | None = None, *, conversation: str = "conv-1",
              source: str = "whatsapp", declared_type: str | None = None,
              filename: str | None = None):
    """``store.put`` with defaults, so each test states only what it is about."""
    return await store.put(data if data is not None else png(), declared_type=declared_type,
                           filename=filename, conversation_id=conversation, source=source)


@pytest.fixture()
def local_store(tmp_path: Path):
    from media_store.local import LocalDirectoryStore

    return LocalDirectoryStore(tmp_path / "media")
