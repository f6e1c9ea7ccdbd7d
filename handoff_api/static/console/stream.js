/**
 * The console's live stream: GET /api/stream (server-sent events, authenticated by the session
 * cookie) pushes queue, conversation and case events, never polled. It shows the "live" badge and,
 * when the stream has closed for good, checks the session before reconnecting.
 */
import { get, ApiError } from "./api.js";
import { t } from "./i18n.js";

// Event names of GET /api/stream (handoff_api/routes/stream.py).
export const QUEUE_EVENTS = ["handoff_created", "handoff_assigned", "handoff_transferred", "handoff_closed"];
export const CONVERSATION_EVENTS = ["message", "note", "typing"];

export class LiveStream {
  /** `types`: the event types to listen to; `onEvent(type, data)` for each; `onOpen()` once
   *  (re)connected; `onLoggedOut()` when the session is gone; `wanted()`: still reconnect? */
  constructor({ types, onEvent, onOpen, onLoggedOut, wanted }) {
    Object.assign(this, { types, onEvent, onOpen, onLoggedOut, wanted });
    this.src = null;
  }

  connect() {
    this.src?.close();
    const live = document.getElementById("live");
    live.hidden = false;
    const src = new EventSource("/api/stream"); // the session cookie authenticates it
    src.onopen = () => { live.textContent = t("online"); live.className = "live on"; this.onOpen(); };
    src.onerror = async () => {
      live.textContent = t("offline");
      live.className = "live off";
      if (src.readyState !== EventSource.CLOSED) return; // the browser is already retrying
      // Closed for good (e.g. 401 or the server restarting): check the session, then reconnect.
      try {
        await get("/api/me");
        setTimeout(() => { if (this.wanted() && this.src === src) this.connect(); }, 3000);
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) this.onLoggedOut();
        else setTimeout(() => { if (this.wanted() && this.src === src) this.connect(); }, 3000);
      }
    };
    // "message" is the SSE default type: ``onmessage`` below already gets it (listening twice
    // would count every shopper message twice)
    const named = new Set(this.types);
    named.delete("message");
    for (const type of named) src.addEventListener(type, (e) => this.onEvent(type, e.data));
    // the session was logged out elsewhere, revoked by a supervisor or expired
    src.addEventListener("session_ended", () => { src.close(); this.onLoggedOut(); });
    src.onmessage = (e) => this.onEvent(e.type, e.data);
    this.src = src;
  }

  close() {
    this.src?.close();
  }
}
