"""actions.return_items: which items a return can take and which ones the shopper names."""

from __future__ import annotations

from actions.return_items import match_items
from tests.actions.helpers import demo


async def test_match_items_ignores_already_returned(store_db, store, demo_orders):
    o = demo(demo_orders, "return_window")
    order = await store.get_order(o.id)
    boots = order.items[0]
    await store.create_return(o.id, item_ids=[boots.id], reason="x")
    order = await store.get_order(o.id)
    assert boots not in match_items(order, "todo")
    assert [i.name for i in match_items(order, "1")] == [order.items[1].name]
