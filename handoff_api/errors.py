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
