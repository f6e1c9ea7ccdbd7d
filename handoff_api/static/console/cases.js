/**
 * The console's work besides live conversations: offline cases to answer and undelivered
 * shopper messages (dead letters). Loads them, draws the sidebar sections, and sends answers.
 */
import { get, post, ApiError } from "./api.js";
import { toast, listOf } from "./dom.js";
import { t } from "./i18n.js";
import { renderOfflineCases } from "./offline.js";
import { renderDeadLetters } from "./dead-letters.js";

// live events (GET /api/stream) after which the lists are re-read
export const CASE_EVENTS = ["handoff_offline", "handoff_closed", "dead_letter", "followup_failed", "followup_reminder"];

export class Cases {
  /** @param {{selected: () => number|null, open: (id: number) => void, error: (e: Error) => void}} app */
  constructor(app) {
    this.app = app;
    this.offline = [];
    this.dead = [];
  }

  async load() {
    try {
      const [cases, dead] = await Promise.all([get("/api/offline-cases"), get("/api/dead-letters")]);
      this.offline = listOf(cases, "cases");
      this.dead = listOf(dead, "dead_letters");
      this.draw();
    } catch (err) { this.app.error(err); }
  }

  draw() {
    renderOfflineCases({ cases: this.offline, selectedId: this.app.selected(), onOpen: this.app.open });
    renderDeadLetters({ items: this.dead, onOpen: this.app.open, onDismiss: (id) => this.dismiss(id) });
  }

  async dismiss(id) {
    try {
      await post(`/api/dead-letters/${id}/dismiss`);
      toast(t("dismissed"));
      await this.load();
    } catch (err) { this.app.error(err); }
  }

  /** Answer offline case ``id``; resolves true when the answer was stored (sent or queued). */
  async followUp(id, text, via) {
    try {
      const res = await post(`/api/handoffs/${id}/follow-up`,
        { text, via, client_id: `f-${crypto.randomUUID?.() ?? Date.now()}` });
      if (res?.message?.delivery === "sent") toast(t("followUpSent", { via: t(`viaNames.${res.via}`) }));
      else toast(t("followUpQueued", { error: res?.mail?.last_error || "" }), "error");
      return true;
    } catch (err) {
      this.app.error(err);
      return err instanceof ApiError && err.status === 409 && /not delivered/i.test(err.detail);
    } finally {
      await this.load();
      this.app.open(id);
    }
  }
}
