"""A local SMTP server that keeps every mail as an ``.eml`` file: where ``make run`` sends the
handoff API's e-mails when no real SMTP server is configured, so an operator can read them.

    python -m handoff_api.mail.catcher --dir var/mail --port 8025

Each accepted mail becomes ``<dir>/<UTC time>-<id>.eml`` (the raw message, as a mail client would
receive it; open it with any mail program or a text editor). Built on aiosmtpd. Development only:
it accepts mail for any address and relays nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP

logger = logging.getLogger(__name__)


class EmlWriter:
    """aiosmtpd handler: write each message to ``directory`` (atomically: temp file, rename)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.directory / name)
        logger.info("mail catcher: kept %s (%d bytes)", name, len(data))
        return "250 Message accepted for delivery"


async def serve(directory: Path, host: str, port: int) -> None:
    handler = EmlWriter(directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="atiende-mail-catcher"),
                                      host, port)
    logger.info("mail catcher on %s:%d writing to %s", host, port, directory)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        asyncio.run(serve(args.dir, args.host, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
