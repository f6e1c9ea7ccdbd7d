"""What every router shares: bounded path parameters and documented error answers.

Every error the API can answer is in the OpenAPI document with its shape (``{"detail": ...}``), so a
client (and Schemathesis) knows what to expect; ids are bounded to 64-bit signed integers, so
``/api/handoffs/9223372036854775808`` is a 422 with a reason instead of a database overflow (500).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import HTTPException, Path, Request

from handoff_api.schemas import MAX_ID, ErrorOut

HandoffId = Annotated[int, Path(ge=1, le=MAX_ID, description="handoff id (64-bit)")]
ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="id (64-bit)")]
ConversationId = Annotated[str, Path(min_length=1, max_length=200,
                                     description="Rasa's sender id of the conversation")]

_DESCRIPTIONS = {
    400: "Malformed request: the URL or the body cannot be decoded",
    401: "Not authenticated (bot token or agent session)",
    403: "Not allowed for this agent",
    404: "Not found",
    409: "Conflict: the state does not allow this now; the detail says why",
    410: "Gone: cancelled for good",
    413: "Too large",
    422: "Invalid input; the detail says which field and why",
    429: "Too many requests from this client; retry after the Retry-After header",
    503: "Database unavailable; retry",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the given codes plus 400, 422, 429 and 503, which any route can
    answer (a URL or body that cannot be decoded — e.g. a percent-escape that is not UTF-8 —,
    validation, rate limit, database outage)."""
    wanted = sorted({*codes, 400, 422, 429, 503})
    return {code: {"model": ErrorOut, "description": _DESCRIPTIONS[code]} for code in wanted}


async def read_capped(request: Request, limit: int, too_large: str) -> bytes:
    """The request body, refused with 413 (``too_large``) as soon as it is over ``limit`` bytes:
    by its declared length before reading, or while it streams in (no declared length, or a
    false one)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, too_large)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, too_large)
        chunks.append(chunk)
    return b"".join(chunks)
