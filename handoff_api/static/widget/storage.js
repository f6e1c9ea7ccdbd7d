/**
 * localStorage persistence: the Rasa session id and its conversation token (the secret that
 * makes the conversation ours: sent to Rasa to take it up again after a reload, and in a header
 * to the handoff API; never in a URL), the visible transcript and the messages not
 * yet acknowledged by the server. A page reload must show the same conversation and must not
 * lose a message typed just before the reload.
 */

const MAX_ITEMS = 200; // keep the stored transcript bounded (localStorage is ~5 MB per origin)

function safeGet(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw == null ? fallback : JSON.parse(raw);
  } catch {
    return fallback; // private mode, quota, or a corrupt value: start fresh instead of crashing
  }
}

function safeSet(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or disabled: the live chat still works, only reload-survival is lost */
  }
}

export class WidgetStorage {
  /** @param {string} namespace separates widgets of different bots on the same origin */
  constructor(namespace) {
    this.ns = `atiende:${namespace}`;
  }

  get sessionId() { return safeGet(`${this.ns}:session`, null); }
  set sessionId(id) { safeSet(`${this.ns}:session`, id); }

  /** The conversation token Rasa issued with the session id ("<id>.<signature>"). */
  get token() { return safeGet(`${this.ns}:token`, null); }
  set token(v) { safeSet(`${this.ns}:token`, v); }

  get isOpen() { return safeGet(`${this.ns}:open`, false); }
  set isOpen(v) { safeSet(`${this.ns}:open`, !!v); }

  /** Transcript items: {kind: user|bot|agent|notice, text, id, ts, name?, buttons?, status?} */
  loadTranscript(sessionId) { return safeGet(`${this.ns}:t:${sessionId}`, []); }
  saveTranscript(sessionId, items) { safeSet(`${this.ns}:t:${sessionId}`, items.slice(-MAX_ITEMS)); }

  /** Last agent-stream event id seen, so a reload does not show agent messages twice. */
  lastAgentEvent(sessionId) { return safeGet(`${this.ns}:ae:${sessionId}`, null); }
  setLastAgentEvent(sessionId, id) { safeSet(`${this.ns}:ae:${sessionId}`, id); }

  clearSession(sessionId) {
    for (const k of ["t", "ae"]) {
      try { localStorage.removeItem(`${this.ns}:${k}:${sessionId}`); } catch { /* ignore */ }
    }
    try { localStorage.removeItem(`${this.ns}:session`); } catch { /* ignore */ }
    try { localStorage.removeItem(`${this.ns}:token`); } catch { /* ignore */ }
  }
}

/** A client-side message id: unique enough to de-duplicate retries server-side. */
export function newMessageId() {
  if (crypto?.randomUUID) return crypto.randomUUID();
  return `m-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}
