/**
 * The handoff API's widget stream: `GET /api/widget/stream` (SSE) with `agent_joined`,
 * `agent_message`, `agent_left` (and `queue_joined`, `queue_left`, `queue_changed`, which only
 * say "re-read your place in the queue"). Opened once the Rasa session is known and kept open:
 * it costs one idle connection and means an agent's first reply is never missed, even if the
 * bot's "you are in the queue" message was lost.
 *
 * The conversation token goes in the `X-Atiende-Conversation` header, never in the URL. Browsers'
 * EventSource cannot send headers, so the stream is read with `fetch` and parsed here (the SSE
 * wire format: `event:`/`data:`/`id:` lines, blank-line separated, `:` comments as pings), and
 * reconnected with back-off like EventSource would.
 */

const HEADER = "X-Atiende-Conversation";
const EVENTS = ["agent_joined", "agent_message", "agent_left"];
// the shopper's place in the queue moved (no data: the widget re-reads it)
const QUEUE_EVENTS = ["queue_joined", "queue_left", "queue_changed"];
const RETRY_MS = [1000, 2000, 4000, 8000, 15000, 30000];

/** Split SSE text into complete events; returns [events, rest not yet complete]. */
export function parseSse(text) {
  const events = [];
  const blocks = text.replace(/\r\n?/g, "\n").split("\n\n");
  const rest = blocks.pop();
  for (const block of blocks) {
    let type = "message";
    let id = null;
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      let value = i < 0 ? "" : line.slice(i + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
    if (data.length || type !== "message") events.push({ type, data: data.join("\n"), id });
  }
  return [events, rest];
}

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
    media: data.media && typeof data.media === "object" ? data.media : null,
  };
}

// `[image] name · media:<key>` (+ caption): how a file an agent sent is stored; the replay after a
// reconnect (`/api/widget/messages`) carries only that text
const MEDIA_LINE = /^\[(image|document)\]\s*(.*?) · media:([A-Za-z0-9_-]{32})\n?/;

/** An agent message's file from its stored text, when the live event did not carry it. */
export function withMedia(ev) {
  if (ev.media) return ev;
  const m = MEDIA_LINE.exec(ev.text || "");
  if (!m) return ev;
  return { ...ev, text: ev.text.slice(m[0].length), media: { kind: m[1], filename: m[2] || null, key: m[3] } };
}

export class AgentStream {
  /**
   * @param {string} handoffUrl
   * @param {(ev: {id,type,text,name,ts}) => void} onEvent
   * @param {(type: string) => void} [onQueue]  queue events and reconnects ("ready")
   */
  constructor(handoffUrl, onEvent, onQueue = () => {}) {
    this.handoffUrl = handoffUrl;
    this.onEvent = onEvent;
    this.onQueue = onQueue;
    this.controller = null;
    this.conversationId = null;
    this.token = null;
  }

  /**
   * @param {string} conversationId
   * @param {string} token  the conversation token (X-Atiende-Conversation)
   * @param {() => string|null} lastSeen id of the last agent message already shown
   */
  open(conversationId, token, lastSeen) {
    if (this.conversationId === conversationId && this.token === token && this.controller) return;
    this.close();
    this.conversationId = conversationId;
    this.token = token;
    this.lastSeen = lastSeen;
    if (!token || !window.fetch || !window.ReadableStream) return;
    const controller = new AbortController();
    this.controller = controller;
    this._run(controller);
  }

  get headers() { return { [HEADER]: this.token }; }

  async _run(controller) {
    let attempt = 0;
    while (this.controller === controller) {
      try {
        const res = await fetch(`${this.handoffUrl}/api/widget/stream`, {
          headers: { Accept: "text/event-stream", ...this.headers },
          signal: controller.signal, cache: "no-store",
        });
        if (res.status === 401) return; // the token is not (or no longer) valid: nothing to read
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        attempt = 0;
        await this._read(res.body, controller);
      } catch {
        if (controller.signal.aborted) return;
      }
      if (this.controller !== controller) return;
      const delay = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)];
      attempt += 1;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  async _read(body, controller) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    while (this.controller === controller) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const [events, rest] = parseSse(buffer);
      buffer = rest;
      for (const ev of events) this._dispatch(ev);
    }
    reader.cancel().catch(() => {});
  }

  _dispatch({ type, data, id }) {
    // The server says "ready" on every (re)connection: replay what was sent while we were away
    // (page closed, network drop, API restart). Duplicates are dropped by id in app.js.
    if (type === "ready") {
      this._catchUp(this.lastSeen());
      this.onQueue("ready");
    } else if (QUEUE_EVENTS.includes(type)) {
      this.onQueue(type);
    } else if (EVENTS.includes(type)) {
      this.onEvent(normaliseAgentEvent(type, data, id));
    } else if (type === "message") {
      // Some servers send untyped "message" events carrying {type: ...}.
      const ev = normaliseAgentEvent("message", data, id);
      if (EVENTS.includes(ev.type)) this.onEvent(ev);
    }
  }

  async _catchUp(afterId) {
    try {
      const q = /^\d+$/.test(String(afterId ?? "")) ? `?after=${afterId}` : "";
      const res = await fetch(`${this.handoffUrl}/api/widget/messages${q}`,
        { headers: { Accept: "application/json", ...this.headers }, cache: "no-store" });
      if (!res.ok) return; // nothing to catch up (or no valid token)
      const body = await res.json();
      const items = Array.isArray(body) ? body : body.items || body.messages || body.events || [];
      for (const item of items) {
        const ev = withMedia(normaliseAgentEvent(item.type || "agent_message", item));
        if (EVENTS.includes(ev.type)) this.onEvent(ev);
      }
    } catch {
      /* the live stream still works; catch-up is best effort */
    }
  }

  close() {
    this.controller?.abort();
    this.controller = null;
  }
}
