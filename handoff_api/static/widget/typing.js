/**
 * Tells the agent's console that the shopper is typing (`POST /api/widget/typing`, the
 * conversation token in `X-Atiende-Conversation`), only while a person has or is about to have
 * the conversation: `true` at most every RESEND_MS while keys are pressed, `false` after IDLE_MS
 * without a key, when the box is emptied or the message is sent. Nothing is stored; a failed
 * call is simply dropped (the indicator is a courtesy, never needed for a message to arrive).
 */

const RESEND_MS = 3000;
const IDLE_MS = 4000;

export class TypingSignal {
  /**
   * @param {string} handoffUrl
   * @param {() => string|null} getToken   the conversation token
   * @param {() => boolean} withPerson     an agent has the conversation or it is queued
   */
  constructor(handoffUrl, getToken, withPerson) {
    this.handoffUrl = handoffUrl;
    this.getToken = getToken;
    this.withPerson = withPerson;
    this.on = false;
    this.sentAt = 0;
    this.idle = null;
  }

  /** The shopper changed the text in the box. */
  input(text) {
    if (!this.withPerson()) return;
    clearTimeout(this.idle);
    if (!text.trim()) { this.stop(); return; }
    if (!this.on || Date.now() - this.sentAt >= RESEND_MS) this._send(true);
    this.idle = setTimeout(() => this.stop(), IDLE_MS);
  }

  /** Sent, emptied or idle: the agent stops seeing "typing". */
  stop() {
    clearTimeout(this.idle);
    if (this.on) this._send(false);
  }

  _send(typing) {
    const token = this.getToken();
    if (!token) return;
    this.on = typing;
    this.sentAt = Date.now();
    // one at a time, in order: a slow "true" must not land after the "false" that followed it
    this.chain = (this.chain || Promise.resolve()).then(() => fetch(`${this.handoffUrl}/api/widget/typing`, {
      method: "POST", cache: "no-store", keepalive: !typing,
      headers: { "Content-Type": "application/json", "X-Atiende-Conversation": token },
      body: JSON.stringify({ typing }),
    })).catch(() => { /* dropped: a courtesy signal */ });
  }
}
