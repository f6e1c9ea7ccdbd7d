"""Domain errors that routes turn into clear HTTP answers."""

from __future__ import annotations


class HandoffError(Exception):
    status_code = 400

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class NotFound(HandoffError):
    status_code = 404


class Conflict(HandoffError):
    """An illegal transition or a refused action; the detail says why."""

    status_code = 409


class Forbidden(HandoffError):
    status_code = 403


class Gone(HandoffError):
    """The thing asked for was cancelled for good (e.g. a handoff request the bot gave up on)."""

    status_code = 410
