"""The right of withdrawal (issue #13): the bot records a shopper's withdrawal here.

* ``GET /api/withdrawal-function?market=ES&lang=es`` (public): whether the market has the legal
  withdrawal function and its button labels, read from the market's policy file, so the store
  page and the widget menu show the label the law of that market uses ("Desistir del contrato
  aquí", "Botón de arrepentimiento") without a copy in JavaScript;
* ``POST /api/withdrawals`` (bot token): in ONE transaction, the withdrawal row (idempotent by its
  code: one per order), an offline case for the agents (reason ``withdrawal``, answer due within
  ``HANDOFF_ANSWER_HOURS``; the bot keeps the conversation) and the acknowledgement e-mail in the
  durable outbox (the date and time of the withdrawal, in the shopper's language), then the mail
  is handed to the mailer;
* ``GET /api/withdrawals`` (agents): the withdrawals recorded, newest first.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

import anyio.from_thread
from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from handoff_api.broker import CONSOLE_TOPIC
from handoff_api.deps import BotDep, CurrentAgent, ServicesDep, SessionDep, WriteSessionDep
from handoff_api.mail.outbox import enqueue_mail
from handoff_api.mail.templates import render
from handoff_api.models import MailOutbox, Withdrawal
from handoff_api.queue import answer_due_from, create_handoff, now_utc
from handoff_api.ratelimit import limit
from handoff_api.routes.common import errors
from handoff_api.schemas import (
    WithdrawalFunction,
    WithdrawalIn,
    WithdrawalOut,
    WithdrawalView,
)
from handoff_api.serialize import handoff_summary, iso

router = APIRouter(prefix="/api", tags=["withdrawal"])
PUBLIC = [Depends(limit("widget", lambda s: s.public_rate_limit))]


@lru_cache(maxsize=1)
def _functions() -> dict[str, Any]:
    from actions.withdrawal_rules import all_rules  # the policy files, read once

    return all_rules()


@router.get("/withdrawal-function", response_model=WithdrawalFunction, dependencies=PUBLIC,
            responses=errors(422, 429))
def get_withdrawal_function(
        market: Annotated[str, Query(pattern=r"^[A-Za-z]{2}$")] = "ES",
        lang: Literal["es", "en"] = "es") -> dict:
    """The withdrawal button of ``market`` (unknown markets: ES, the EU rules)."""
    from actions.withdrawal_rules import FALLBACK_MARKET, label

    rules = _functions()
    chosen = rules.get(market.upper()) or rules[FALLBACK_MARKET]
    available = chosen.function and chosen.days > 0
    return {"market": chosen.market, "available": available,
            "label": label(chosen, "label", lang) if available else None,
            "confirm_label": label(chosen, "confirm", lang) if available else None,
            "payload": "/withdraw_contract", "days": chosen.days,
            "business_days": chosen.business_days,
            "law": label(chosen, "law", lang) or None}


def _view(row: Withdrawal) -> dict:
    return {"id": row.id, "code": row.code, "order": row.order_ref, "market": row.market,
            "language": row.language, "name": row.name, "email": row.email,
            "declared_at": iso(row.declared_at), "within_period": row.within_period,
            "deadline": row.deadline, "store_recorded": row.store_recorded,
            "conversation_id": row.conversation_id, "channel": row.channel,
            "case_id": row.handoff_id, "mail_id": row.mail_id, "created_at": iso(row.created_at)}


def _duplicate(session: Any, existing: Withdrawal) -> dict:
    mail = session.get(MailOutbox, existing.mail_id) if existing.mail_id else None
    return {"id": existing.id, "code": existing.code, "case_id": existing.handoff_id,
            "mail_status": mail.status if mail else "none", "duplicate": True}


@router.post("/withdrawals", status_code=201, response_model=WithdrawalOut, dependencies=[BotDep],
             tags=["bot"],
             responses={**errors(401, 422),
                        200: {"model": WithdrawalOut,
                              "description": "already recorded (same code): that withdrawal"}})
def post_withdrawal(body: WithdrawalIn, response: Response, session: WriteSessionDep,
                    services: ServicesDep) -> dict:
    """Record a confirmed withdrawal, open the agents' case and e-mail the acknowledgement.

    A retry with the same code answers 200 with the withdrawal already recorded; nothing is
    recorded, opened or sent twice."""
    existing = session.scalar(select(Withdrawal).where(Withdrawal.code == body.code))
    if existing is not None:
        response.status_code = 200
        return _duplicate(session, existing)
    settings = services.settings
    now = now_utc()
    packet = {
        "conversation_id": body.conversation_id, "channel": body.channel,
        "language": body.language, "reason": "withdrawal", "intent_history": ["withdraw_contract"],
        "slots": {"store_request": body.note, "withdrawal_code": body.code},
        "order": {"id": body.order, "market": body.market, "items": body.items},
        "kb_articles": [], "transcript": [],
        "customer": {"vip": False, "name": body.name, "email": body.email},
        "withdrawal": {"code": body.code, "declared_at": body.declared_at.isoformat(),
                       "within_period": body.within_period,
                       "deadline": body.deadline.isoformat() if body.deadline else None,
                       "law": body.law, "store_recorded": body.store_recorded},
    }
    handoff, created = create_handoff(session, packet, key=f"withdrawal:{body.code}",
                                      offline_due=answer_due_from(now, settings.answer_hours))
    first = body.name.split()[0] if body.name.split() else ""
    subject, text = render("withdrawal_ack", body.language, store=settings.store_name,
                           name=f" {first}" if first else "", code=body.code, order=body.order,
                           when=body.when, items=body.items, law=body.law, next=body.next)
    mail = enqueue_mail(session, key=f"withdrawal:{body.code}", kind="withdrawal_ack",
                        to=body.email, language=body.language, subject=subject, body=text,
                        sender=settings.smtp_from, handoff_id=handoff.id)
    row = Withdrawal(code=body.code, order_ref=body.order, market=body.market,
                     language=body.language, name=body.name, email=body.email,
                     declared_at=body.declared_at, within_period=body.within_period,
                     deadline=body.deadline.isoformat() if body.deadline else None,
                     store_recorded=body.store_recorded, conversation_id=body.conversation_id,
                     channel=body.channel, handoff_id=handoff.id, mail_id=mail.id, created_at=now)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # the same withdrawal posted twice at once: the first one won
        session.rollback()
        response.status_code = 200
        return _duplicate(session, session.scalar(
            select(Withdrawal).where(Withdrawal.code == body.code)))
    if created:
        services.broker.publish(CONSOLE_TOPIC, "handoff_created", handoff_summary(handoff))
    anyio.from_thread.run(services.mail.deliver, mail.id)
    session.refresh(mail)
    return {"id": row.id, "code": row.code, "case_id": handoff.id, "mail_status": mail.status,
            "duplicate": False}


@router.get("/withdrawals", response_model=list[WithdrawalView], responses=errors(401))
def list_withdrawals(agent: CurrentAgent, session: SessionDep,
                     limit_rows: Annotated[int, Query(alias="limit", ge=1, le=500)] = 100
                     ) -> list[dict]:
    """The withdrawals recorded, newest first (each with its case and acknowledgement mail)."""
    rows = session.scalars(select(Withdrawal).order_by(Withdrawal.id.desc())
                           .limit(limit_rows)).all()
    return [_view(r) for r in rows]
