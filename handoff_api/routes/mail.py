"""Confirmation e-mails the bot side asks for (``Authorization: Bearer $HANDOFF_BOT_TOKEN``).

The action server has no mailer of its own: it posts what happened (a claim it opened) and this
service renders the template (:mod:`handoff_api.mail.templates`, one catalogue, the shopper's
language), queues it in the durable mail outbox in the same transaction, and hands it to the mail
worker, which retries while the SMTP server is down. Idempotent by ``key``.
"""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Response
from sqlalchemy import select

from handoff_api.deps import BotDep, ServicesDep, WriteSessionDep
from handoff_api.mail.outbox import enqueue_mail
from handoff_api.mail.templates import render
from handoff_api.models import MailOutbox
from handoff_api.routes.common import errors
from handoff_api.schemas import ConfirmationMailIn, ConfirmationMailOut

router = APIRouter(prefix="/api", tags=["bot"], dependencies=[BotDep])


@router.post("/mail", status_code=201, response_model=ConfirmationMailOut,
             responses={**errors(401, 422), 200: {"description": "already queued (same key)"}})
def post_confirmation_mail(body: ConfirmationMailIn, response: Response,
                           session: WriteSessionDep, services: ServicesDep) -> dict:
    """Queue and send a confirmation e-mail (201); a retry with the same key answers 200 with
    the mail already queued, and nothing is sent twice."""
    key = f"bot:{body.key}"
    existing = session.scalar(select(MailOutbox).where(MailOutbox.key == key))
    if existing is not None:
        response.status_code = 200
        return {"id": existing.id, "status": existing.status, "duplicate": True}
    settings = services.settings
    subject, text = render(body.kind, body.language, store=settings.store_name,
                           name=f" {body.name}" if body.name else "", claim=body.claim,
                           order=body.order, items=body.items, problem=body.problem,
                           remedy=body.remedy, next=body.next)
    row = enqueue_mail(session, key=key, kind=body.kind, to=body.to, language=body.language,
                       subject=subject, body=text, sender=settings.smtp_from)
    session.commit()
    anyio.from_thread.run(services.mail.deliver, row.id)
    session.refresh(row)
    return {"id": row.id, "status": row.status, "duplicate": False}
