"""``GET /metrics``: the handoff service's operational numbers for Prometheus.

Written in the Prometheus text exposition format (version 0.0.4) by hand: a dozen gauges and one
counter read from the database at scrape time do not need a client library, and reading them from
the database (not process memory) makes every replica report the same, restart-proof values.
Protected by ``HANDOFF_METRICS_TOKEN`` (``Authorization: Bearer``) when that is set; alerts worth
setting on them are in docs/operations.md.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import func, select

from handoff_api.deps import ServicesDep, SessionDep
from handoff_api.eta import agents_present
from handoff_api.models import DeadLetter, HandbackOutbox, Handoff, HandoffEvent, MailOutbox
from handoff_api.queue import now_utc

router = APIRouter(tags=["meta"])
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATUSES = ("queued", "assigned", "offline", "resolved", "handed_back", "abandoned")


def _line(name: str, value: float, labels: dict[str, str] | None = None) -> str:
    label = ""
    if labels:
        label = "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    return f"{name}{label} {value:g}"


def collect(session: Any, presence_seconds: int) -> str:
    """The exposition text (every family with HELP and TYPE)."""
    now = now_utc()
    count = lambda stmt: int(session.scalar(stmt) or 0)  # noqa: E731
    by_status = dict(session.execute(select(Handoff.status, func.count())
                                     .group_by(Handoff.status)).all())
    oldest = session.scalar(select(func.min(Handoff.created_at))
                            .where(Handoff.status == "queued"))
    families: list[tuple[str, str, str, list[str]]] = [
        ("atiende_handoff_queue_depth", "gauge", "Handoffs waiting for an agent now.",
         [_line("atiende_handoff_queue_depth", by_status.get("queued", 0))]),
        ("atiende_handoff_longest_wait_seconds", "gauge",
         "Seconds the oldest queued handoff has waited (0 when the queue is empty).",
         [_line("atiende_handoff_longest_wait_seconds",
                round((now - oldest).total_seconds(), 1) if oldest else 0)]),
        ("atiende_handoffs", "gauge", "Handoffs by current status.",
         [_line("atiende_handoffs", by_status.get(s, 0), {"status": s}) for s in STATUSES]),
        ("atiende_handoff_claims_total", "counter", "Handoffs claimed by agents, ever.",
         [_line("atiende_handoff_claims_total", count(
             select(func.count()).select_from(HandoffEvent)
             .where(HandoffEvent.type == "assigned")))]),
        ("atiende_handback_outbox_pending", "gauge",
         "Hand-backs to Rasa not delivered yet (outbox backlog).",
         [_line("atiende_handback_outbox_pending", count(
             select(func.count()).select_from(HandbackOutbox)
             .where(HandbackOutbox.delivered_at.is_(None))))]),
        ("atiende_dead_letters", "gauge",
         "Shopper messages the bot side could not deliver, not dismissed by an agent.",
         [_line("atiende_dead_letters", count(
             select(func.count()).select_from(DeadLetter)
             .where(DeadLetter.dismissed_at.is_(None))))]),
        ("atiende_mail_outbox", "gauge", "E-mails by outbox status (dead: given up).",
         [_line("atiende_mail_outbox", count(select(func.count()).select_from(MailOutbox)
                                             .where(MailOutbox.status == s)), {"status": s})
          for s in ("pending", "dead")]),
        ("atiende_offline_cases_overdue", "gauge",
         "Offline cases past the answer time promised to the shopper.",
         [_line("atiende_offline_cases_overdue", count(
             select(func.count()).select_from(Handoff).where(
                 Handoff.status == "offline", Handoff.answer_due_at < now)))]),
        ("atiende_agents_online", "gauge", "Active agents whose console was seen recently.",
         [_line("atiende_agents_online", agents_present(session, presence_seconds, now))]),
    ]
    out: list[str] = []
    for name, kind, help_text, lines in families:
        out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *lines]
    return "\n".join(out) + "\n"


@router.get("/metrics", response_class=PlainTextResponse,
            responses={401: {"description": "HANDOFF_METRICS_TOKEN set and not given"}})
def metrics(request: Request, session: SessionDep, services: ServicesDep) -> PlainTextResponse:
    """Operational gauges for Prometheus (text exposition format 0.0.4)."""
    token = services.settings.metrics_token
    if token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise HTTPException(401, "Missing or wrong metrics token "
                                "(Authorization: Bearer $HANDOFF_METRICS_TOKEN)")
    return PlainTextResponse(collect(session, services.settings.presence_seconds),
                             media_type=CONTENT_TYPE)
