"""Supervisor-only privacy actions: erase a customer's data (GDPR art. 17), run retention now.

``POST /api/privacy/erasure`` with a conversation id and/or an e-mail and/or a phone number:
first with ``"dry_run": true`` to see how many conversations it would touch, then with
``"confirm": true``. It goes through every store (tracker store, handoff database, outboxes,
channel state, analytics files, media) and answers what was deleted and what is left (nothing,
or ``complete`` is false). An audit line records who and when, not whom.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from handoff_api.broker import CONSOLE_TOPIC
from handoff_api.deps import CurrentSupervisor, ServicesDep, SessionDep
from handoff_api.privacy_store import HandoffStore
from handoff_api.routes.common import errors
from privacy.erasure import erase, run_retention
from privacy.subject import Subject

router = APIRouter(prefix="/api/privacy", tags=["privacy"])


class ErasureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=40)
    dry_run: bool = False
    confirm: bool = False


def actor(agent: Any) -> str:
    return f"agent:{agent.username}#{agent.id}"


@router.post("/erasure", responses=errors(401, 403))
def post_erasure(body: ErasureIn, supervisor: CurrentSupervisor, services: ServicesDep,
                 session: SessionDep) -> dict[str, Any]:
    if not body.dry_run and not body.confirm:
        raise HTTPException(422, "Erasure cannot be undone: send \"confirm\": true (or "
                                 "\"dry_run\": true to see what it would delete)")
    try:
        subject = Subject.build(conversation_ids=[body.conversation_id or ""],
                                emails=[body.email or ""], phones=[body.phone or ""])
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    by = actor(supervisor)
    # End the login check's transaction: on SQLite it holds the write lock the erasure needs
    # (and do not touch the expired agent row again, that would open a new one).
    session.rollback()
    report = erase(services.privacy, subject, by=by, dry_run=body.dry_run,
                   extra_stores=[HandoffStore(services.write_sessions())])
    if not body.dry_run:
        services.broker.publish(CONSOLE_TOPIC, "handoff_closed",
                                {"queue_changed": True, "reason": "erasure"})
    return report.as_dict()


@router.get("/retention", responses=errors(401, 403))
def get_retention(supervisor: CurrentSupervisor, services: ServicesDep) -> dict[str, Any]:
    settings = services.privacy
    return {"retention_days": settings.retention_days,
            "interval_hours": settings.interval_hours,
            "last_run": services.privacy_state.get("last_retention")}


@router.post("/retention/run", responses=errors(401, 403, 409))
def post_retention_run(supervisor: CurrentSupervisor, services: ServicesDep,
                       session: SessionDep) -> dict[str, Any]:
    if services.privacy.retention_days <= 0:
        raise HTTPException(409, "Retention is disabled (ATIENDE_RETENTION_DAYS=0)")
    by = actor(supervisor)
    session.rollback()  # see post_erasure
    report = run_retention(services.privacy, by=by,
                           extra_stores=[HandoffStore(services.write_sessions())])
    services.privacy_state["last_retention"] = report.as_dict()
    return report.as_dict()
