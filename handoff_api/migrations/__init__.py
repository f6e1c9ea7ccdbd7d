"""Alembic migrations of the handoff database (run at start-up by handoff_api.db)."""
