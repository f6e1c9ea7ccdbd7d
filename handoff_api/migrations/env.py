"""Alembic environment: migrations run programmatically at start-up (see ``handoff_api.db``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from handoff_api.models import Base

target_metadata = Base.metadata
config = context.config

connection = config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:  # `alembic` command line with sqlalchemy.url set
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
