"""Small helpers shared by the action tests (fixtures live in conftest.py)."""

from __future__ import annotations

from typing import Any


def demo(demo_orders: list[Any], scenario: str, language: str = "es",
         market: str | None = None) -> Any:
    """The demo order of ``scenario`` for a customer of ``language`` (and ``market``)."""
    return next(o for o in demo_orders
                if o.scenario == scenario and o.customer["language"] == language
                and (market is None or o.customer["market"] == market))
