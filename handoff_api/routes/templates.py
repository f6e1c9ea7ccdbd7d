"""WhatsApp templates in the agent console (issue #17).

* ``GET /api/templates`` — the registry (config file + last sync): name, language, category,
  Meta's status, parameters with labels in the agent's language;
* ``POST /api/templates/sync`` — supervisors: read the template list from the Graph API now;
* ``GET /api/handoffs/{id}/reply-options`` — what the agent may send now on the shopper's channel
  (free text, Messenger's ``HUMAN_AGENT`` tag, WhatsApp templates only, or nothing) and, when
  templates are the way, the approved ones, the shopper's language first;
* ``POST /api/handoffs/{id}/template-messages`` — send one approved template with its parameters:
  stored in the conversation first (``kind: template``, the text the shopper reads), sent once per
  ``client_id``, Meta's errors (132001 template does not exist, 131047…) answered as 409 with the
  reason in words.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio.from_thread
from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from contracts import whatsapp_templates as wt
from handoff_api.broker import CONSOLE_TOPIC
from handoff_api.delivery_status import with_statuses
from handoff_api.deps import (
    CurrentAgent,
    CurrentSupervisor,
    ServicesDep,
    SessionDep,
    WriteSessionDep,
)
from handoff_api.errors import Conflict
from handoff_api.models import Handoff, Message
from handoff_api.queue import _check_holder, get_handoff, now_utc
from handoff_api.relay import DeliveryResult
from handoff_api.routes.common import HandoffId, errors
from handoff_api.routes.handoffs import (
    _last_shopper_ts,
    _require_visible,
    record_delivery,
    settled_or_claimed,
    store_agent_message,
)
from handoff_api.schemas import IdStr, SafeStr
from handoff_api.serialize import message_view
from handoff_api.wa_templates import SyncError, get_registry, reply_window

router = APIRouter(prefix="/api", tags=["templates"])

AgentLanguage = Literal["es", "en"]


class TemplateMessageIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[a-z0-9_]+$")]
    language: Annotated[str, Field(min_length=2, max_length=8,
                                   pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")]
    parameters: dict[Annotated[str, Field(max_length=64)],
                     Annotated[SafeStr, Field(max_length=1024)]] = Field(
        default_factory=dict, max_length=20)
    client_id: IdStr | None = Field(default=None, description="idempotency key: the same id is "
                                                            "sent to the shopper once")


def _registry(request: Request, services: Any) -> Any:
    return get_registry(request.app.state, services.settings)


@router.get("/templates", responses=errors(401))
def list_templates(request: Request, agent: CurrentAgent, services: ServicesDep,
                   lang: AgentLanguage = "es") -> dict:
    """Every template of the registry, with Meta's status at the last sync."""
    registry = _registry(request, services)
    return {"can_sync": registry.can_sync, "synced_at": registry.synced_at(),
            "templates": [t.view(lang) for t in registry.templates()]}


@router.post("/templates/sync", responses={**errors(401, 403, 409),
                                           502: {"description": "the Graph API refused or did "
                                                                "not answer"}})
async def sync_templates(request: Request, supervisor: CurrentSupervisor,
                         services: ServicesDep) -> dict:
    """Read the template list from the Graph API (``GET /{waba-id}/message_templates``); 409
    when WhatsApp is not configured for it here, 502 when Meta refuses or does not answer."""
    registry = _registry(request, services)
    try:
        count = await registry.sync()
    except SyncError as exc:
        raise HTTPException(exc.status, exc.detail) from None
    return {"synced": count, "synced_at": registry.synced_at(),
            "templates": [t.view("es") for t in registry.templates()]}


@router.get("/handoffs/{handoff_id}/reply-options", responses=errors(401, 403, 404))
def reply_options(handoff_id: HandoffId, request: Request, agent: CurrentAgent,
                  session: SessionDep, services: ServicesDep,
                  lang: AgentLanguage = "es") -> dict:
    """What can be sent to the shopper now, and the templates when only a template can."""
    handoff = get_handoff(session, handoff_id)
    _require_visible(session, handoff, agent)
    window = reply_window(handoff.channel, _last_shopper_ts(session, handoff))
    templates = []
    if window["mode"] == "template":
        templates = [{**t.view(lang), "preview": wt.render(t, {
            p.name: p.example or f"{{{{{p.name}}}}}" for p in t.parameters})}
            for t in _registry(request, services).for_agent(handoff.language)]
    session.commit()
    return {"window": window, "shopper_language": handoff.language, "templates": templates}


def _refused_text(result: DeliveryResult, channel: str) -> str:
    return f"Not delivered to the shopper on {channel}: {result.reason}"


@router.post("/handoffs/{handoff_id}/template-messages", status_code=201,
             responses={**errors(401, 404, 409),
                        200: {"description": "already sent (same client_id)"},
                        202: {"description": "the same client_id is being sent by another "
                                             "request"}})
def post_template_message(handoff_id: HandoffId, body: TemplateMessageIn, request: Request,
                          agent: CurrentAgent, session: WriteSessionDep, services: ServicesDep,
                          response: Response) -> dict:
    """Send an approved WhatsApp template to the shopper (allowed outside the 24-hour window).
    422 names a missing or malformed parameter; 409 says why WhatsApp refused it."""
    handoff = get_handoff(session, handoff_id)
    if handoff.status != "assigned":
        raise Conflict(f"Handoff {handoff_id} is {handoff.status}; "
                       "replies need an assigned handoff")
    _check_holder(handoff, agent)
    if handoff.channel != "whatsapp":
        raise Conflict(f"templates are a WhatsApp feature; this conversation is on "
                       f"{handoff.channel}")
    template = _registry(request, services).find(body.name, body.language)
    if template is None:
        raise HTTPException(404, f"template {body.name} ({body.language}) is not in the "
                                 "registry (data/whatsapp_templates.yml, or sync from Meta)")
    if not template.approved:
        raise Conflict(f"template {body.name} ({body.language}) is {template.status}, not "
                       "APPROVED by Meta: it cannot be sent")
    try:
        values = wt.check_values(template, body.parameters)
    except wt.TemplateError as exc:
        raise HTTPException(422, str(exc)) from None
    text = wt.render(template, values)
    message = store_agent_message(session, handoff, body.client_id, lambda message_id: Message(
        handoff_id=handoff.id, conversation_id=handoff.conversation_id,
        message_id=message_id, role="agent", text=text, channel=handoff.channel,
        agent_id=agent.id, ts=now_utc(), created_at=now_utc(), delivery="stored",
        kind="template", details={"template": template.name, "language": template.language,
                                  "category": template.category, "parameters": values}),
        kind="template")
    settled = settled_or_claimed(session, services, handoff, message, response)
    if settled is not None:
        return settled
    details = message.details or {}
    session.commit()  # no database lock while Meta answers
    result = anyio.from_thread.run(_send_template, services, handoff, template,
                                   details.get("parameters") or values)
    message = record_delivery(session, handoff, agent, message, result,
                              template=template.name)
    view = with_statuses(session, [message_view(message)])[0]
    services.broker.publish(CONSOLE_TOPIC, "message", {"handoff_id": handoff.id,
                                                        "agent_id": handoff.agent_id,
                                                        "message": view})
    if not result.ok:
        raise HTTPException(409, _refused_text(result, "whatsapp"))
    return view


async def _send_template(services: Any, handoff: Handoff, template: wt.Template,
                         values: dict[str, str]) -> DeliveryResult:
    try:
        relay = services.relays.get("whatsapp")
    except LookupError as exc:
        return DeliveryResult.refused(str(exc))
    send = getattr(relay, "send_template", None)
    if send is None:
        return DeliveryResult.refused("whatsapp_not_configured: this relay cannot send templates")
    try:
        return await send(handoff.conversation_id, template.name, template.language,
                          wt.components(template, values))
    except Exception as exc:  # a relay bug must not lose the agent's message silently
        return DeliveryResult.refused(f"whatsapp template send failed: {type(exc).__name__}",
                                      retryable=True)

