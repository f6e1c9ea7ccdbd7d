/**
 * Finding conversations (``GET /api/handoffs/search``): the sidebar search over closed
 * conversations, and the customer's history in the context panel (every other conversation of
 * the same verified e-mail / phone or the same channel id, open ones included).
 *
 * What the agent types decides the criterion: an e-mail → ``email``, a phone number (6+ digits)
 * → ``phone``, anything else → ``q`` (text of the messages, name, order number, conversation id).
 */
import { get } from "./api.js";
import { el, listOf } from "./dom.js";
import { t } from "./i18n.js";
import { longDate, shopperName } from "./format.js";

const $ = (id) => document.getElementById(id);
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const PHONE = /^\+?[0-9 ()./-]{6,40}$/;

/** The query parameters for what the agent typed. */
export function criteria(text) {
  const v = text.trim();
  if (EMAIL.test(v)) return { email: v };
  if (PHONE.test(v) && v.replace(/\D/g, "").length >= 6) return { phone: v };
  return { q: v };
}

const query = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v != null && v !== "")).toString();

function result(h, { onOpen, currentId = null }) {
  const when = longDate(h.closed_at || h.created_at);
  const status = t(`statuses.${h.status}`);
  const who = h.agent_name ? ` · ${h.agent_name}` : "";
  if (!h.readable) {
    return el("li", { class: "item result locked", dataset: { id: h.id } },
      el("span", { class: "line1" }, el("strong", {}, `#${h.id}`), el("span", { class: "muted" }, when)),
      el("span", { class: "line2" }, `${status} · ${t(`reasons.${h.reason}`)}${who}`),
      el("span", { class: "line3" }, t("search.notReadable", { name: h.agent_name || "?" })));
  }
  return el("li", { class: `item result${h.id === currentId ? " selected" : ""}`, dataset: { id: h.id } },
    el("button", { type: "button", class: "open", onclick: () => onOpen(h.id) },
      el("span", { class: "line1" }, el("strong", {}, shopperName(h)), el("span", { class: "muted" }, when)),
      el("span", { class: "line2" }, `${status} · ${t(`reasons.${h.reason}`)}${who}`),
      h.snippet ? el("span", { class: "line3" }, h.snippet) : null));
}

/** The sidebar search box. */
export class Search {
  /** @param {{open: (id: number) => void, error: (e: Error) => void}} app */
  constructor(app) {
    this.app = app;
    this.params = null;
    this.items = [];
    this.next = null;
    $("search-form").addEventListener("submit", (e) => { e.preventDefault(); this.run($("search-q").value); });
    $("search-more").addEventListener("click", () => this.page());
  }

  async run(text) {
    if (!text.trim()) return;
    this.params = criteria(text);
    this.items = [];
    this.next = null;
    await this.page(true);
  }

  async page(first = false) {
    try {
      const body = await get(`/api/handoffs/search?${query({ ...this.params, before_id: first ? null : this.next })}`);
      this.items = [...this.items, ...listOf(body, "results")];
      this.next = body?.next_before_id ?? null;
      this.draw();
    } catch (err) { this.app.error(err); }
  }

  draw() {
    if (!this.params) return;
    const list = $("search-results");
    list.replaceChildren(...(this.items.length ? this.items.map((h) => result(h, { onOpen: this.app.open }))
      : [el("li", { class: "empty" }, t("search.none"))]));
    $("search-more").hidden = !this.next;
  }
}

/**
 * The customer's history for the open handoff, read once per handoff (the view is re-drawn on
 * every live event; the history is not re-read each time).
 */
export class History {
  constructor(app) {
    this.app = app;
    this.cache = new Map();
    this.pending = new Set();
  }

  /** The panel section, filled now if known, else when the answer arrives. */
  section(h) {
    const box = el("section", { class: "pk history", id: "customer-history" }, el("h3", {}, t("search.history")));
    const known = this.cache.get(h.id);
    if (known) this.fill(box, h, known);
    else this.load(h);
    return box;
  }

  async load(h) {
    if (this.pending.has(h.id)) return;
    this.pending.add(h.id);
    const verified = h.packet?.order?.customer || {};
    const email = EMAIL.test(verified.email || "") ? verified.email : null;
    const phone = criteria(verified.phone || "").phone || null;
    const params = { email, phone, channel_id: h.conversation_id, status: "all", limit: 20 };
    try {
      const body = await get(`/api/handoffs/search?${query(params)}`);
      const items = listOf(body, "results").filter((x) => x.id !== h.id);
      this.cache.set(h.id, items);
      const box = $("customer-history");
      if (box && this.app.current() === h.id) this.fill(box, h, items);
    } catch (err) { this.app.error(err); } finally { this.pending.delete(h.id); }
  }

  fill(box, h, items) {
    box.replaceChildren(el("h3", {}, t("search.history")), items.length
      ? el("ul", { class: "list history-list" }, items.map((x) => result(x, { onOpen: this.app.open })))
      : el("p", { class: "muted" }, t("search.noHistory")));
  }

  forget(id) { this.cache.delete(id); }
}
