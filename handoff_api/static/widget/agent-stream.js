/**
 * The handoff API's widget stream: `GET /api/widget/{conversation_id}/stream` (SSE) with
 * `agent_joined`, `agent_message`, `agent_left`. Opened once the Rasa session is known and
 * kept open: it costs one idle connection and means an agent's first reply is never missed,
 * even if the bot's "you are in the queue" message was lost.
 */

const EVENTS = ["agent_joined", "agent_message", "agent_left"];

/** Normalise the API's payload into {id, type, text, name, ts} whatever its exact shape. */
export function normaliseAgentEvent(type, raw, fallbackId) {
  let data = raw;
  if (typeof raw === "string") {
    try { data = JSON.parse(raw); } catch { data = { text: raw }; }
  }
  data = data || {};
  const agent = data.agent && typeof data.agent === "object" ? data.agent : {};
  return {
    id: String(data.id ?? data.message_id ?? data.event_id ?? fallbackId ?? ""),
    type: data.type || type,
    text: data.text ?? data.body ?? "",
    name: agent.display_name || agent.name || data.agent_name || data.display_name ||
      (typeof data.agent === "string" ? data.agent : ""),
    ts: data.ts || data.created_at || new Date().toISOString(),
  };
}

export class AgentStream {
  /**
   * @param {string} handoffUrl
   * @param {(ev: {id,type,text,name,ts}) => void} onEvent
   */
  constructor(handoffUrl, onEvent) {
    this.handoffUrl = handoffUrl;
    this.onEvent = onEvent;
    this.source = null;
    this.conversationId = null;
  }

  /** @param {() => string|null} lastSeen id of the last agent message already shown */
  open(conversationId, lastSeen) {
    if (this.conversationId === conversationId && this.source) return;
    this.close();
    this.conversationId = conversationId;
    if (!window.EventSource) return;
    const base = `${this.handoffUrl}/api/widget/${encodeURIComponent(conversationId)}`;
    this.source = new EventSource(`${base}/stream`);
    // The server says "ready" on every (re)connection: replay what was sent while we were away
    // (page closed, network drop, API restart). Duplicates are dropped by id in app.js.
    this.source.addEventListener("ready", () => this._catchUp(base, lastSeen()));
    for (const type of EVENTS) {
      this.source.addEventListener(type, (e) => this.onEvent(normaliseAgentEvent(type, e.data, e.lastEventId)));
    }
    // Some servers send untyped "message" events carrying {type: ...}.
    this.source.onmessage = (e) => {
      const ev = normaliseAgentEvent("message", e.data, e.lastEventId);
      if (EVENTS.includes(ev.type)) this.onEvent(ev);
    };
  }

  async _catchUp(base, afterId) {
    try {
      const q = /^\d+$/.test(String(afterId ?? "")) ? `?after=${afterId}` : "";
      const res = await fetch(`${base}/messages${q}`, { headers: { Accept: "application/json" } });
      if (!res.ok) return; // 404 = no handoff yet for this conversation: nothing to catch up
      const body = await res.json();
      const items = Array.isArray(body) ? body : body.items || body.messages || body.events || [];
      for (const item of items) {
        const ev = normaliseAgentEvent(item.type || "agent_message", item);
        if (EVENTS.includes(ev.type)) this.onEvent(ev);
      }
    } catch {
      /* the live stream still works; catch-up is best effort */
    }
  }

  close() {
    this.source?.close();
    this.source = null;
  }
}
