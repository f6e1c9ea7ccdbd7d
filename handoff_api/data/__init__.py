"""Data files shipped with the service (canned replies)."""
