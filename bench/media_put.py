"""Media store benchmark: what one ``put`` costs for the files shoppers really send.

    python -m bench.media_put [--rounds 10]

Local backend in a temporary folder. Inputs are synthetic but sized like real ones: a 12 MP
phone photo (4000x3000 JPEG with EXIF, noise so it does not compress to nothing), a 1080x2400
PNG screenshot, a 5 MB PDF, a voice note. Prints p50/max per input: the time is mostly Pillow
decoding and re-encoding the image, in a worker thread, so the event loop stays free.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time
from pathlib import Path

from media_store.local import LocalDirectoryStore


def _photo() -> bytes:
    from PIL import ExifTags, Image

    noise = Image.effect_noise((4000, 3000), 40).convert("RGB")
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] = (40.0, 25.0, 1.5)
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def _screenshot() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1080, 2400), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    for y in range(0, 2400, 48):
        draw.text((40, y), f"Pedido 10{y:04d} · enviado · 39,90 EUR", fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _pdf() -> bytes:
    return b"%PDF-1.4\n" + b"% padding\n" * 500_000 + b"%%EOF\n"


def _inputs() -> dict[str, tuple[bytes, str]]:
    fixtures = Path(__file__).resolve().parents[1] / "tests" / "media_store" / "fixtures"
    return {
        "12 MP JPEG photo": (_photo(), "image/jpeg"),
        "1080x2400 PNG screenshot": (_screenshot(), "image/png"),
        "5 MB PDF": (_pdf(), "application/pdf"),
        "voice note (ogg)": ((fixtures / "voice_note.ogg").read_bytes(), "audio/ogg"),
    }


async def _run(rounds: int, inputs: dict[str, tuple[bytes, str]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = LocalDirectoryStore(Path(folder) / "media")
        print(f"{'input':28} {'size':>9} {'stored':>9} {'p50 ms':>8} {'max ms':>8}")
        for name, (data, declared) in inputs.items():
            times, stored = [], 0
            for _ in range(rounds):
                start = time.perf_counter()
                media = await store.put(data, declared_type=declared, filename=None,
                                        conversation_id="bench", source="whatsapp")
                times.append((time.perf_counter() - start) * 1000)
                stored = media.size
            print(f"{name:28} {len(data) / 1e6:8.2f}M {stored / 1e6:8.2f}M "
                  f"{statistics.median(times):8.1f} {max(times):8.1f}")
        start = time.perf_counter()
        removed = await store.delete_conversation("bench")
        print(f"delete_conversation: {removed} files in "
              f"{(time.perf_counter() - start) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    asyncio.run(_run(parser.parse_args().rounds, _inputs()))


if __name__ == "__main__":
    main()
