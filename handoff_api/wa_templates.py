"""WhatsApp templates and messaging windows on the handoff API side (issue #17).

* :class:`TemplateRegistry` — the registry of :mod:`contracts.whatsapp_templates` (the config
  file, completed by the last sync from the Graph API), and the sync itself:
  ``GET /{waba-id}/message_templates`` page by page with the WhatsApp token
  (``WHATSAPP_BUSINESS_ACCOUNT_ID``, ``WHATSAPP_ACCESS_TOKEN``), written to
  ``$ATIENDE_DATA_DIR/whatsapp_templates.synced.json``;
* :func:`reply_window` — what an agent may send now on the shopper's channel: free text
  (within 24 h), Messenger's ``HUMAN_AGENT`` tag (24 h – 7 days, when the page has the
  permission), WhatsApp templates only (after 24 h), or nothing (Messenger after 7 days), with the
  reason in words for the console.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from contracts import whatsapp_templates as wt

logger = logging.getLogger(__name__)

WA_WINDOW = timedelta(hours=24)
MS_HUMAN_AGENT_WINDOW = timedelta(days=7)
SYNC_PAGE_LIMIT = 100
SYNC_MAX_PAGES = 50


class SyncError(RuntimeError):
    """The Graph API could not be read; ``status`` is the HTTP answer to give: 409 when WhatsApp
    is not configured for it here, 502 when Meta refused or did not answer."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class TemplateRegistry:
    """The app's template registry; re-read on every call (a small YAML and JSON file), so a
    sync or an edit of the file shows at once."""

    def __init__(self, data_dir: Path, *, file: Path | str | None = None,
                 waba_id: str | None = None, token: str | None = None,
                 graph_url: str | None = None, timeout: float = 10.0) -> None:
        self.data_dir = Path(data_dir)
        self.file = Path(file or os.environ.get("WHATSAPP_TEMPLATES_FILE") or wt.DEFAULT_FILE)
        self.waba_id = waba_id if waba_id is not None else \
            os.environ.get("WHATSAPP_BUSINESS_ACCOUNT_ID", "")
        self.token = token if token is not None else os.environ.get("WHATSAPP_ACCESS_TOKEN", "")
        self.graph_url = (graph_url or os.environ.get("WHATSAPP_GRAPH_URL")
                          or "https://graph.facebook.com/v19.0").rstrip("/")
        self.timeout = timeout

    @property
    def can_sync(self) -> bool:
        return bool(self.waba_id and self.token)

    def templates(self) -> list[wt.Template]:
        return wt.registry(self.data_dir, self.file)

    def synced_at(self) -> str | None:
        import json

        file = self.data_dir / wt.SYNCED_NAME
        try:
            return json.loads(file.read_text(encoding="utf-8")).get("synced_at")
        except (OSError, ValueError):
            return None

    def find(self, name: str, language: str) -> wt.Template | None:
        return next((t for t in self.templates()
                     if t.name == name and t.language == language), None)

    def for_agent(self, language: str) -> list[wt.Template]:
        """Approved templates the console offers, the shopper's language first."""
        usable = [t for t in self.templates() if "agent" in t.use and t.approved]
        return sorted(usable, key=lambda t: (t.lang != language, t.name))

    async def sync(self, client: httpx.AsyncClient | None = None) -> int:
        """Read every template Meta has for the account; returns how many."""
        if not self.can_sync:
            raise SyncError(409, "template sync needs WHATSAPP_BUSINESS_ACCOUNT_ID and "
                                 "WHATSAPP_ACCESS_TOKEN")
        own = client is None
        http = client or httpx.AsyncClient(timeout=self.timeout)
        items: list[dict[str, Any]] = []
        url: str | None = f"{self.graph_url}/{self.waba_id}/message_templates"
        params: dict[str, Any] | None = {
            "fields": "name,language,status,category,components,parameter_format",
            "limit": SYNC_PAGE_LIMIT}
        try:
            for _ in range(SYNC_MAX_PAGES):
                if url is None:
                    break
                try:
                    response = await http.get(url, params=params,
                                              headers={"Authorization": f"Bearer {self.token}"})
                except httpx.HTTPError as exc:
                    raise SyncError(502, f"the Graph API did not answer ({type(exc).__name__})"
                                    ) from None
                if not response.is_success:
                    try:
                        error = response.json().get("error") or {}
                    except ValueError:
                        error = {}
                    raise SyncError(502, f"the Graph API refused the template list: HTTP "
                                         f"{response.status_code} ({error.get('code')}: "
                                         f"{str(error.get('message') or '')[:200]})")
                data = response.json()
                items += [i for i in data.get("data") or [] if isinstance(i, dict)]
                url = (data.get("paging") or {}).get("next")
                params = None  # the next URL carries them
        finally:
            if own:
                await http.aclose()
        wt.save_synced(self.data_dir, items, datetime.now(UTC).isoformat())
        logger.info("whatsapp templates synced: %d from the Graph API", len(items))
        return len(items)


def get_registry(state: Any, settings: Any) -> TemplateRegistry:
    """The app's registry (tests put their own on ``app.state.templates``)."""
    registry = getattr(state, "templates", None)
    if registry is None:
        registry = TemplateRegistry(Path(settings.data_dir))
        state.templates = registry
    return registry  # type: ignore[no-any-return]


def _aware(ts: datetime | None) -> datetime | None:
    return None if ts is None else ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def human_agent_tag_enabled() -> bool:
    return os.environ.get("MESSENGER_HUMAN_AGENT_TAG", "").lower() in ("1", "true", "yes")


def reply_window(channel: str, last_shopper_message_at: datetime | None,
                 now: datetime | None = None, *, human_agent_tag: bool | None = None
                 ) -> dict[str, Any]:
    """``mode``: ``free`` (any text), ``human_agent`` (Messenger, tagged), ``template``
    (WhatsApp: approved templates only) or ``closed`` (nothing can be sent); ``reason`` a code
    the console words in the agent's language; ``closes_at`` when the current mode ends."""
    now = now or datetime.now(UTC)
    last = _aware(last_shopper_message_at)
    tag = human_agent_tag_enabled() if human_agent_tag is None else human_agent_tag
    base = {"channel": channel, "last_shopper_message_at": last.isoformat() if last else None}
    if channel not in ("whatsapp", "messenger") or last is None:
        return {**base, "mode": "free", "reason": None, "closes_at": None}
    age = now - last
    if age < WA_WINDOW:
        return {**base, "mode": "free", "reason": None,
                "closes_at": (last + WA_WINDOW).isoformat()}
    if channel == "whatsapp":
        return {**base, "mode": "template", "reason": "whatsapp_window_closed",
                "closes_at": None}
    if age < MS_HUMAN_AGENT_WINDOW:
        if tag:
            return {**base, "mode": "human_agent", "reason": None,
                    "closes_at": (last + MS_HUMAN_AGENT_WINDOW).isoformat()}
        return {**base, "mode": "closed", "reason": "messenger_human_agent_not_enabled",
                "closes_at": None}
    return {**base, "mode": "closed", "reason": "messenger_7_days_passed", "closes_at": None}
