/**
 * Connection to Rasa's socket.io channel (Socket.IO protocol v5, socket.io-client 4).
 *
 * Shopper messages carry a client `message_id`; the Rasa-side channel answers
 * `user_message_ack {message_id}` once the message is stored (given to Rasa or forwarded to the
 * handoff API). Unacknowledged messages are re-sent with the same id (the server de-duplicates)
 * on a timer and after every reconnect, so a flaky mobile connection loses nothing.
 */

const MAX_ATTEMPTS = 5;
const MAX_DELAY_MS = 30000;

export class RasaConnection {
  /**
   * @param {object} opts
   * @param {string} opts.url        Rasa base URL
   * @param {string} opts.path       socket.io path (Rasa default "/socket.io/")
   * @param {() => string|null} opts.getSessionId
   * @param {() => string|null} opts.getToken         the conversation token kept for it
   * @param {(id: string, token: string) => void} opts.onToken  Rasa issued (or confirmed) the
   *        conversation and its token (before session_confirm)
   * @param {(id: string) => void} opts.onSession      session confirmed by Rasa
   * @param {(msg: object) => void} opts.onBotMessage  one bot_uttered payload
   * @param {(id: string, status?: string) => void} opts.onAck  message stored server-side
   * @param {(config: object) => void} [opts.onConfig] the channel's settings (max_message_chars)
   * @param {(id: string) => void} opts.onFailed       gave up re-sending
   * @param {(online: boolean) => void} opts.onStatus
   * @param {number} opts.ackTimeoutMs
   * @param {() => object} opts.metadata               sent as customData
   */
  constructor(opts) {
    this.opts = opts;
    this.pending = new Map(); // message_id -> {text, attempts, timer}
    this.sessionId = null;
    this.socket = null;
  }

  connect() {
    const { url, path } = this.opts;
    // websocket first (no sticky sessions needed), long-polling as a fallback for proxies.
    this.socket = window.io(url, { path, transports: ["websocket", "polling"], reconnection: true });
    this.socket.on("connect", () => {
      this.opts.onStatus(true);
      // the token proves the conversation is ours; without a valid one Rasa starts a new one
      this.socket.emit("session_request", { session_id: this.opts.getSessionId(), token: this.opts.getToken() });
    });
    this.socket.on("disconnect", () => this.opts.onStatus(false));
    this.socket.on("connect_error", () => this.opts.onStatus(false));
    this.socket.on("atiende_session", (data) => {
      if (data?.session_id && data?.token) this.opts.onToken(data.session_id, data.token);
    });
    this.socket.on("session_confirm", (data) => {
      // Rasa emits the bare id; accept {session_id} too for other servers.
      const id = typeof data === "string" ? data : data?.session_id;
      if (!id) return;
      this.sessionId = id;
      this.opts.onSession(id);
      for (const messageId of this.pending.keys()) this._emit(messageId); // flush after reconnect
    });
    this.socket.on("bot_uttered", (msg) => this.opts.onBotMessage(msg || {}));
    this.socket.on("user_message_ack", (data) => {
      const id = typeof data === "string" ? data : data?.message_id;
      if (id) this._acked(id, typeof data === "object" ? data?.status : undefined);
    });
    // the channel's own settings (today: its message length cap)
    this.socket.on("atiende_config", (data) => this.opts.onConfig?.(data || {}));
  }

  /** Queue a shopper message; returns immediately, delivery is tracked by message id. */
  send(messageId, text, extra = null) {
    this.pending.set(messageId, { text, extra, attempts: 0, timer: null });
    this._emit(messageId);
  }

  /** Re-send a message the user asked to retry after it failed. */
  retry(messageId, text, extra = null) {
    this.send(messageId, text, extra);
  }

  /**
   * A bot reply proves the server received everything sent before it; this keeps the widget
   * from re-sending (and the bot from seeing duplicates) if a channel does not emit acks.
   */
  ackAllSent() {
    for (const [id, p] of this.pending) if (p.attempts > 0) this._acked(id);
  }

  _emit(messageId) {
    const p = this.pending.get(messageId);
    if (!p) return;
    clearTimeout(p.timer);
    if (this.socket?.connected && this.sessionId) {
      p.attempts += 1;
      const metadata = { ...this.opts.metadata(), ...(p.extra || {}), message_id: messageId };
      this.socket.emit("user_uttered", {
        message: p.text,
        session_id: this.sessionId,
        message_id: messageId,
        customData: metadata,
      });
    }
    if (p.attempts >= MAX_ATTEMPTS) {
      p.timer = setTimeout(() => {
        if (!this.pending.has(messageId)) return;
        this.pending.delete(messageId);
        this.opts.onFailed(messageId);
      }, this.opts.ackTimeoutMs);
      return;
    }
    // Back off (4 s, 8 s, 16 s, …): the first message of a session can take Rasa a while.
    const delay = Math.min(this.opts.ackTimeoutMs * 2 ** Math.max(0, p.attempts - 1), MAX_DELAY_MS);
    p.timer = setTimeout(() => this._emit(messageId), delay);
  }

  /** `status` says where the message went: "rasa" (the bot answers), "forwarded" / "queued"
   *  (for a person), "duplicate", or a refusal ("too_long", "slow_down", "busy", "invalid"). */
  _acked(messageId, status) {
    const p = this.pending.get(messageId);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(messageId);
    this.opts.onAck(messageId, status);
  }
}
