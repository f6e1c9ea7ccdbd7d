"""Atiende's action server package (rasa-sdk).

rasa-sdk imports every module of this package at start-up, so modules here must do nothing heavy at
import time: no database connection, no model or index load. Adapters open lazily on first use.
"""
