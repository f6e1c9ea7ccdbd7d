/**
 * The conversation view: transcript (bot-side history + live messages) next to the packet
 * the bot collected (order, slots, KB articles, intent history), with the reply box, canned
 * replies, internal notes and the resolve / hand back / transfer actions.
 */
import { el } from "./dom.js";
import { t, clock, toDate, shopperName } from "./i18n.js";

export const WINDOW_HINTS = /24\s*h|24-hour|window|ventana|outside_window|re-?engage|131047/i;

/** Merge the pre-handoff transcript and the live messages into one time-ordered list. */
export function transcriptOf(h) {
  const before = (h.packet?.transcript || h.transcript || []).map((m, i) => ({ ...m, key: `p${i}` }));
  const live = (h.messages || []).map((m) => ({ ...m, key: `m${m.id ?? m.message_id}` }));
  const seen = new Set();
  return [...before, ...live]
    .filter((m) => {
      const k = m.message_id ? `id:${m.message_id}` : m.key;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => toDate(a.ts || 0) - toDate(b.ts || 0));
}

function deliveryNote(m) {
  if (m.delivery !== "failed" && !m.delivery_error) return null;
  const err = m.delivery_error || "";
  const text = WINDOW_HINTS.test(err) ? t("deliveryWindow") : t("deliveryFailed", { error: err || "?" });
  return el("p", { class: "delivery-failed", role: "note" }, "⚠ ", text);
}

let agentName = () => null;

function message(m, meId) {
  const role = m.role === "user" ? "user" : m.role === "agent" ? "agent" : "bot";
  const who = role === "user" ? t("shopper")
    : role === "agent" ? (m.agent_id && m.agent_id === meId ? t("you") : (m.agent_name || agentName(m.agent_id) || t("agent")))
    : t("bot");
  return el("li", { class: `msg ${role}${m.delivery === "failed" ? " failed" : ""}` },
    el("span", { class: "meta" }, el("strong", {}, who), " ", el("time", { datetime: String(m.ts ?? "") }, clock(m.ts))),
    el("span", { class: "bubble" }, m.text || ""),
    deliveryNote(m));
}

function kv(obj) {
  const entries = Object.entries(obj || {}).filter(([, v]) => v !== null && v !== undefined && v !== "" &&
    !(Array.isArray(v) && !v.length));
  if (!entries.length) return el("p", { class: "muted" }, t("none"));
  const label = (k) => { const l = t(`fields.${k}`); return l === `fields.${k}` ? k : l; };
  const show = (v) => (typeof v === "boolean" ? t(v ? "yes" : "no")
    : typeof v === "object" ? JSON.stringify(v) : String(v));
  return el("dl", { class: "kv" }, entries.flatMap(([k, v]) => [el("dt", {}, label(k)), el("dd", {}, show(v))]));
}

function orderCard(order) {
  if (!order) return el("p", { class: "muted" }, t("noOrder"));
  const items = order.items || order.lines || [];
  const rest = { ...order };
  delete rest.items; delete rest.lines;
  return el("div", {}, kv(rest),
    items.length ? el("ul", { class: "order-items" }, items.map((it) =>
      el("li", {}, typeof it === "string" ? it : `${it.quantity ?? it.qty ?? 1} × ${it.name ?? it.sku ?? ""}`))) : null);
}

function packetPanel(h) {
  const p = h.packet || h;
  const section = (title, body) => el("section", { class: "pk" }, el("h3", {}, title), body);
  return el("aside", { class: "packet", "aria-label": t("packet") },
    el("h2", {}, t("packet")),
    section(t("customer"), kv(p.customer)),
    section(t("order"), orderCard(p.order)),
    section(t("slots"), kv(p.slots)),
    section(t("kb"), (p.kb_articles || []).length
      ? el("ul", { class: "chips" }, p.kb_articles.map((a) => el("li", {}, typeof a === "string" ? a : (a.title || a.id))))
      : el("p", { class: "muted" }, t("none"))),
    section(t("intents"), (p.intent_history || []).length
      ? el("ol", { class: "intents" }, p.intent_history.map((i) => el("li", {}, typeof i === "string" ? i : `${i.name ?? i.intent} ${i.confidence != null ? `(${Number(i.confidence).toFixed(2)})` : ""}`)))
      : el("p", { class: "muted" }, t("none"))));
}

function cannedSelect(canned, textarea) {
  const select = el("select", { class: "canned", "aria-label": t("canned") },
    el("option", { value: "" }, t("cannedPick")),
    canned.map((c, i) => el("option", { value: String(i) }, c.title || c.key || c.text.slice(0, 40))));
  select.addEventListener("change", () => {
    const c = canned[Number(select.value)];
    if (c) {
      textarea.value = textarea.value ? `${textarea.value} ${c.text}` : c.text;
      textarea.focus();
    }
    select.value = "";
  });
  return select;
}

/**
 * @param {object} h     the handoff (GET /api/handoffs/{id})
 * @param {object} ctx   {me, canned, onReply, onNote, onAction}
 */
export function renderConversation(h, ctx) {
  agentName = (id) => (ctx.agents || []).find((a) => a.id === id)?.name;
  const root = document.getElementById("conversation");
  const mine = h.status === "assigned" && (h.agent_id === ctx.me.id || h.agent?.id === ctx.me.id);
  const open = h.status === "queued" || h.status === "assigned";
  const name = shopperName(h);
  const holder = h.agent?.name || h.agent_name;

  const transcript = el("ol", { class: "transcript", "aria-label": t("transcript") },
    transcriptOf(h).map((m) => message(m, ctx.me.id)));

  const textarea = el("textarea", { id: "reply-text", rows: "3", maxlength: "4000",
    placeholder: t("replyPlaceholder"), "aria-label": t("reply") });
  textarea.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
  });
  const form = el("form", { class: "reply", onsubmit: async (e) => {
    e.preventDefault();
    const text = textarea.value.trim();
    if (!text) return;
    if (await ctx.onReply(h.id, text)) textarea.value = "";
  } },
  el("div", { class: "reply-tools" }, cannedSelect(ctx.canned, textarea)),
  textarea,
  el("button", { class: "primary", type: "submit" }, t("send")));

  const noteText = el("textarea", { id: "note-text", rows: "2", placeholder: t("notePlaceholder"), "aria-label": t("notes") });
  const notes = el("section", { class: "notes" },
    el("h3", {}, t("notes")),
    (h.notes || []).length
      ? el("ul", {}, h.notes.map((n) => el("li", {},
        el("span", { class: "meta" }, el("strong", {}, n.agent_name ||
          (ctx.agents || []).find((a) => a.id === n.agent_id)?.name || ""), " ", clock(n.created_at)),
        el("span", {}, n.text))))
      : el("p", { class: "muted" }, t("noNotes")),
    open ? el("form", { class: "note-form", onsubmit: async (e) => {
      e.preventDefault();
      const text = noteText.value.trim();
      if (text && await ctx.onNote(h.id, text)) noteText.value = "";
    } }, noteText, el("button", { type: "submit", class: "ghost" }, t("addNote"))) : null);

  const actions = el("div", { class: "actions" },
    h.status === "queued" ? el("button", { type: "button", class: "primary", onclick: () => ctx.onAction("claim", h) }, t("claim")) : null,
    mine ? el("button", { type: "button", class: "primary", onclick: () => ctx.onAction("resolve", h) }, t("resolve")) : null,
    mine ? el("button", { type: "button", class: "secondary", onclick: () => ctx.onAction("hand-back", h) }, t("handBack")) : null,
    mine ? el("button", { type: "button", class: "ghost", onclick: () => ctx.onAction("transfer", h) }, t("transfer")) : null);

  const stateLine = !open ? t("closed", { status: t(`statuses.${h.status}`) })
    : h.status === "assigned" ? (mine ? t("assignedToMe") : t("assignedTo", { name: holder || "?" }))
    : t(`statuses.${h.status}`);

  root.replaceChildren(
    el("header", { class: "conv-head" },
      el("div", {},
        el("h2", {}, name, " ", (h.vip || h.customer?.vip) ? el("span", { class: "badge vip" }, t("vip")) : null),
        el("p", { class: "sub" },
          `${t("reason")}: ${t(`reasons.${h.reason}`)} · ${t("lang")}: ${(h.language || "").toUpperCase()} · `,
          `${t("channel")}: ${h.channel} · `, el("span", { class: `state ${h.status}` }, stateLine)),
        el("p", { class: "cid" }, h.conversation_id)),
      actions),
    el("div", { class: "conv-body" },
      el("div", { class: "conv-main" }, transcript, mine ? form : null, notes),
      packetPanel(h)));
  transcript.scrollTop = transcript.scrollHeight;
  if (mine && ctx.focusReply) textarea.focus();
}
