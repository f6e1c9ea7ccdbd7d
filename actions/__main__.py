"""Start the action server: ``python -m actions [--port 5055]`` (what ``scripts/run.py`` runs).

rasa-sdk's own ``python -m rasa_sdk --actions actions`` does the same, but (a) listens on every
interface (``SANIC_HOST`` defaults to 0.0.0.0), and the action server believes whatever tracker it
is sent, slots such as ``verified_order_id`` included, so it must only be reachable by Rasa:
``ACTIONS_HOST`` (default 127.0.0.1); and (b) it cannot refuse an unsafe production start. With
``ATIENDE_ENV=production`` this refuses to start, with one line, when ``HANDOFF_BOT_TOKEN`` or
``ATIENDE_PRIVACY_KEY`` is missing, a placeholder or short, or the store is still the demo store
(``scripts.settings.refuse_unsafe_start``).

rasa-sdk imports every module of the package at start-up, this one included: nothing runs unless
it is the main module.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    from scripts.settings import refuse_unsafe_start

    parser = argparse.ArgumentParser(prog="python -m actions", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTIONS_PORT", "5055")))
    args = parser.parse_args(argv)
    refuse_unsafe_start("actions")
    os.environ["SANIC_HOST"] = os.environ.get("ACTIONS_HOST", "127.0.0.1")

    from rasa_sdk.__main__ import main_from_args
    from rasa_sdk.endpoint import create_argument_parser

    main_from_args(create_argument_parser().parse_args(
        ["--actions", "actions", "--port", str(args.port)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
