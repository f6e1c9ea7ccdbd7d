/**
 * The waiting shopper's real place in the queue, read from the handoff API
 * (`GET /api/widget/queue` with the conversation token in `X-Atiende-Conversation`: status, position, estimated wait or null when nobody is
 * connected). Re-read when the widget stream says something moved (`queue_joined`,
 * `queue_left`, `queue_changed`, `agent_joined`, a reconnect) and every POLL_MS while queued,
 * since an agent logging in or out changes the estimate without moving the queue.
 */

const POLL_MS = 15000;
const JITTER_MS = 1200; // every waiting widget hears the same queue_changed: spread the reads

/** The API's answer as {status, position, etaSeconds, agentsPresent, timeoutMinutes}. */
export function normaliseQueue(body) {
  const status = ["queued", "assigned"].includes(body?.status) ? body.status : "none";
  const eta = body?.estimated_wait_seconds;
  return {
    status,
    position: Number(body?.position) || 0,
    etaSeconds: typeof eta === "number" ? eta : null,
    agentsPresent: Number(body?.agents_present) || 0,
    timeoutMinutes: Number(body?.queue_timeout_minutes) || null,
  };
}

export class QueueWatcher {
  /**
   * @param {string} handoffUrl
   * @param {(state: object) => void} onChange  called after every read
   */
  constructor(handoffUrl, onChange) {
    this.handoffUrl = handoffUrl;
    this.onChange = onChange;
    this.state = normaliseQueue(null);
    this.conversationId = null;
    this.token = null;
    this.timer = null;
  }

  get waiting() { return this.state.status === "queued"; }

  setConversation(id, token) {
    if (id === this.conversationId && token === this.token) return;
    this.conversationId = id;
    this.token = token;
    this.refresh();
  }

  /** A widget-stream event; ``queue_changed`` only matters while this shopper waits. */
  notify(type) {
    if (type === "queue_changed" && !this.waiting) return;
    this._schedule(type === "queue_changed" ? Math.random() * JITTER_MS : 0);
  }

  _schedule(delay) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), delay);
  }

  async refresh() {
    clearTimeout(this.timer);
    const id = this.conversationId;
    if (!id || !this.token) return;
    try {
      const res = await fetch(`${this.handoffUrl}/api/widget/queue`,
        { headers: { Accept: "application/json", "X-Atiende-Conversation": this.token }, cache: "no-store" });
      if (res.ok) this.state = normaliseQueue(await res.json());
      else if (res.status === 404 || res.status === 401) this.state = normaliseQueue(null);
      // other errors (429, 503): keep what is shown and read again later
    } catch {
      /* offline: keep what is shown */
    }
    if (id !== this.conversationId) return;
    this.onChange(this.state);
    if (this.waiting) this._schedule(POLL_MS);
  }

  stop() { clearTimeout(this.timer); }
}
