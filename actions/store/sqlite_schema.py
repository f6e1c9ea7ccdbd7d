"""The demo store's SQLite schema (orders, customers, returns, refunds, events, catalogue).

``SCHEMA_VERSION`` is stored in ``PRAGMA user_version``; ``python -m actions.store seed`` reseeds a
demo store written by an older version (the demo store is disposable), so an existing ``var/``
gains the catalogue tables (version 2), the items' ``final_sale`` flag (version 3) and the
withdrawals (version 4; the adapter also creates that table in an older file on first use) without
a manual step.
"""

SCHEMA_VERSION = 4

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    phone TEXT NOT NULL,
    language TEXT NOT NULL CHECK (language IN ('es', 'en')),
    market TEXT NOT NULL,
    vip INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL CHECK (status IN ('pending','paid','shipped','in_transit','delivered',
                                           'cancelled','returned','refunded')),
    currency TEXT NOT NULL,
    total_cents INTEGER NOT NULL,
    payment_method TEXT NOT NULL,
    placed_at TEXT NOT NULL,
    shipping_address TEXT NOT NULL,
    carrier TEXT,
    tracking_number TEXT,
    tracking_url TEXT,
    shipped_at TEXT,
    estimated_delivery TEXT,
    delivered_at TEXT,
    cancelled_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_customer ON orders(customer_id);
CREATE TABLE IF NOT EXISTS order_items (
    id INTEGER PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    size TEXT,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_cents INTEGER NOT NULL,
    final_sale INTEGER NOT NULL DEFAULT 0  -- clearance: no return for a change of mind
);
CREATE INDEX IF NOT EXISTS items_order ON order_items(order_id);
CREATE TABLE IF NOT EXISTS returns (
    rma TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    item_ids TEXT NOT NULL,
    reason TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('refund', 'exchange')),
    status TEXT NOT NULL,
    refund_cents INTEGER NOT NULL DEFAULT 0,
    label_url TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refunds (
    id INTEGER PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    rma TEXT,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    method TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending','processing','completed','failed')),
    created_at TEXT NOT NULL,
    completed_at TEXT
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    order_id TEXT NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_order ON events(order_id);
CREATE TABLE IF NOT EXISTS products (
    sku TEXT PRIMARY KEY,
    handle TEXT NOT NULL UNIQUE,
    name_es TEXT NOT NULL,
    name_en TEXT NOT NULL,
    category TEXT NOT NULL,
    description_es TEXT NOT NULL,
    description_en TEXT NOT NULL,
    url TEXT NOT NULL,
    currency TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS product_variants (
    sku TEXT PRIMARY KEY,
    product_sku TEXT NOT NULL REFERENCES products(sku),
    position INTEGER NOT NULL,
    size TEXT,
    colour_es TEXT,
    colour_en TEXT,
    price_cents INTEGER NOT NULL,
    stock INTEGER NOT NULL CHECK (stock >= 0)
);
CREATE INDEX IF NOT EXISTS variants_product ON product_variants(product_sku);
"""

WITHDRAWALS_TABLE = """
CREATE TABLE IF NOT EXISTS withdrawals (
    code TEXT PRIMARY KEY,
    order_id TEXT NOT NULL UNIQUE REFERENCES orders(id),
    declared_at TEXT NOT NULL,
    name TEXT NOT NULL,
    channel TEXT NOT NULL,
    within_period INTEGER NOT NULL
);
"""

SCHEMA += WITHDRAWALS_TABLE
