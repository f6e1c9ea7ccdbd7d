"""WhatsApp media in: what one shopper photo costs from the webhook to the store.

    python -m bench.media_in [--rounds 8]      (bot env: .venv/bot/bin/python)

The real download code (``bot.channels.media_in``: Meta's two-step ``GET /{media-id}`` then the
URL, sha256 check, size cap) against the local Graph API stand-in of the tests on 127.0.0.1, then
``media_store.put`` (sniff, EXIF strip, re-encode, fsync) in a temporary folder. Inputs: a 12 MP
phone photo (4000x3000 JPEG with noise and EXIF GPS, ~7 MB) and a WhatsApp-sized photo (WhatsApp
recompresses to ~1600x1200, ~300 KB). Prints p50/max of the download and of the whole receive.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time

from bot.channels import media_download, media_in
from media_store.local import LocalDirectoryStore
from tests.bot.channels.graph_standin import TOKEN, GraphStandIn


def _photo(width: int, height: int, quality: int) -> bytes:
    from PIL import ExifTags, Image

    noise = Image.effect_noise((width, height), 40).convert("RGB")
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] = (40.0, 25.0, 1.5)
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


async def main(rounds: int) -> None:
    graph = await GraphStandIn().start()
    inputs = {"12 MP camera photo": _photo(4000, 3000, 90),
              "WhatsApp-sized photo": _photo(1600, 1200, 75)}
    try:
        with tempfile.TemporaryDirectory() as folder:
            store = LocalDirectoryStore(folder)
            for name, data in inputs.items():
                graph.add(name.replace(" ", "_"), data, "image/jpeg")
                downloads, totals = [], []
                for _ in range(rounds):
                    item = media_in.Incoming(kind="image", media_id=name.replace(" ", "_"))
                    start = time.perf_counter()
                    await media_download.download_whatsapp(graph.url, TOKEN, item.media_id or "",
                                                           store.limits.image)
                    downloads.append(time.perf_counter() - start)

                    async def fetch(limit: int, item: media_in.Incoming = item) -> tuple:
                        return await media_download.download_whatsapp(graph.url, TOKEN,
                                                                      item.media_id or "", limit)

                    start = time.perf_counter()
                    got = await media_in.receive(item, conversation_id="bench", source="whatsapp",
                                                 fetch=fetch, store=store)
                    totals.append(time.perf_counter() - start)
                    assert got.stored is not None, got.problem
                print(f"{name} ({len(data) / 1e6:.1f} MB): download p50 "
                      f"{statistics.median(downloads) * 1000:.0f} ms (max "
                      f"{max(downloads) * 1000:.0f}); download+check+store p50 "
                      f"{statistics.median(totals) * 1000:.0f} ms (max {max(totals) * 1000:.0f})")
    finally:
        await graph.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    asyncio.run(main(parser.parse_args().rounds))
