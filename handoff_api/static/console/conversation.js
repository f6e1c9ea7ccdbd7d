/**
 * The conversation view: transcript (bot-side history + live messages) next to the packet
 * the bot collected (order, slots, KB articles, intent history), with the reply box, canned
 * replies, internal notes and the resolve / hand back / transfer actions.
 */
import { el, toast } from "./dom.js";
import { t } from "./i18n.js";
import { clock, dateTime, toDate, shopperName, channelName } from "./format.js";
import { followUpForm } from "./offline.js";
import { contextPanel } from "./context.js";
import { auth, ApiError, get } from "./api.js";
import { channelTools, metaErrorText, statusTicks } from "./channel-tools.js";
import { supervisionLog } from "./supervision.js";

const LEAVE_PAYLOAD = "/leave_queue"; // the widget's "back to the assistant" button

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

/** Files in a message: the channels write `[image] name · media:<key>` (bot/channels/media_in.py,
 *  routes/media.py). The picture comes from the agents-only route `/api/media/<key>` (session
 *  cookie; never a public URL): a thumbnail that opens full size; other kinds are links. */
export const MEDIA_MARKER = /\[(image|document|audio|video)\]([^\n]*?) · media:([A-Za-z0-9_-]{32})/g;

export function mediaThumb(kind, key, name) {
  const href = `/api/media/${encodeURIComponent(key)}`;
  if (kind === "image") {
    return el("a", { class: "media-thumb", href, target: "_blank", rel: "noopener", title: t("mediaOpen"), "data-media-key": key },
      el("img", { src: href, alt: name || t("mediaAlt"), loading: "lazy" }));
  }
  return el("a", { class: `media-file ${kind}`, href, target: "_blank", rel: "noopener", "data-media-key": key },
    `${kind === "audio" ? "🎤" : kind === "video" ? "🎬" : "📄"} ${name || kind}`);
}

function bubbleContent(text) {
  const parts = [];
  let last = 0;
  for (const m of text.matchAll(MEDIA_MARKER)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push(mediaThumb(m[1], m[3], m[2].trim()));
    last = m.index + m[0].length;
  }
  if (!parts.length) return [text];
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

/** The conversation's photos and files (claim photos sent to the bot before the handoff too). */
function mediaSection(h) {
  const box = el("div", { class: "media-list" }, el("p", { class: "muted" }, "…"));
  get(`/api/conversations/${encodeURIComponent(h.conversation_id)}/media`).then((body) => {
    const items = body?.media || [];
    box.replaceChildren(...(items.length
      ? items.map((m) => mediaThumb(m.kind, m.key, m.filename))
      : [el("p", { class: "muted" }, t("noMedia"))]));
  }).catch(() => box.replaceChildren(el("p", { class: "muted" }, t("noMedia"))));
  return box;
}

/** Send a file (raw body) or a canned reply's image: POST /api/handoffs/{id}/media. */
export async function sendMedia(handoffId, { file = null, canned = null, caption = "" } = {}) {
  const q = new URLSearchParams();
  // one id per send: a double click or a retry after a timeout reaches the shopper once
  q.set("client_id", `m-${crypto.randomUUID?.() ?? Date.now()}`);
  if (canned) q.set("canned", canned);
  if (caption) q.set("caption", caption);
  const headers = { Accept: "application/json" };
  if (auth.csrf) headers["X-CSRF-Token"] = auth.csrf;
  if (file) {
    headers["Content-Type"] = file.type || "application/octet-stream";
    headers["X-Filename"] = encodeURIComponent(file.name || "");
  }
  let res;
  try {
    res = await fetch(`/api/handoffs/${handoffId}/media?${q}`, { method: "POST", headers, body: file || undefined, credentials: "same-origin" });
  } catch { throw new ApiError(0, ""); }
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data?.detail || res.statusText);
  return data;
}

/** Why a reply did not reach the shopper, in the agent's language: the API's
 *  ``delivery_reason`` code (handoff_api/delivery_status.py) looked up in the catalogue. The
 *  channel's own words (English, for support) stay in the note's tooltip. */
export function failureText(m) {
  const code = m.delivery_reason || (WINDOW_HINTS.test(m.delivery_error || "") ? "window_closed" : "other");
  if (code === "window_closed" && m.channel === "whatsapp") return t("deliveryWindow");
  const why = t(`deliveryReasons.${code}`, { channel: channelName(m.channel) });
  const meta = code === "refused" ? metaErrorText(m.delivery_error) : null;  // Meta's code, explained
  return t("deliveryFailed", { error: meta ? `${why}: ${meta}` : why });
}

/** A text reply that failed may be sent again by the agent holding the conversation: the same
 *  ``client_id`` (its ``message_id``), so however often it is pressed it reaches the shopper once. */
const resendable = (m) => m.role === "agent" && m.delivery === "failed" && (m.kind || "text") === "text"
  && m.channel !== "email" && Boolean(m.message_id);

function deliveryNote(m, onResend) {
  if (m.delivery === "sending" && m.channel === "email") return el("p", { class: "delivery-pending", role: "note" }, t("emailSending"));
  if (m.delivery !== "failed" && !m.delivery_error) return null;
  const button = onResend && resendable(m) ? el("button", { type: "button", class: "ghost resend",
    onclick: () => { button.disabled = true; button.textContent = t("resending"); onResend(m); } }, "↻ ", t("resend")) : null;
  return el("p", { class: "delivery-failed", role: "note", title: m.delivery_error || "" },
    "⚠ ", el("span", { class: "why" }, failureText(m)), button ? " " : null, button);
}

let agentName = () => null;

/**
 * What the shopper sent, as they saw it: a tapped button arrives as its payload
 * ("/human_handoff"); show the button's title (``titles``: payload → title, from the buttons the
 * bot offered, ``button_titles`` of the API). {text, button}: button is true for a tap.
 */
export function shownText(text, titles = {}) {
  const raw = String(text ?? "");
  if (raw === LEAVE_PAYLOAD) return { text: t("leftQueuePressed"), button: false };
  if (titles && Object.prototype.hasOwnProperty.call(titles, raw)) return { text: titles[raw], button: true };
  const payload = /^\/([A-Za-z_][\w-]*)(\{.*\})?$/s.exec(raw);
  // a payload whose button is not in the packet (an older handoff): its intent in words
  if (payload) return { text: payload[1].replace(/_/g, " "), button: true };
  return { text: raw, button: false };
}

function bubble(m, titles) {
  const shown = m.role === "user" ? shownText(m.text, titles) : { text: m.text || "", button: false };
  if (!shown.button) return el("span", { class: "bubble" }, ...(m.text === LEAVE_PAYLOAD ? [shown.text] : bubbleContent(shown.text)));
  return el("span", { class: "bubble tapped" }, el("span", { class: "badge tap" }, t("button")), " ", shown.text);
}

function message(m, meId, titles, onResend) {
  const role = m.role === "user" ? "user" : m.role === "agent" ? "agent" : "bot";
  const who = role === "user" ? t("shopper")
    : role === "agent" ? (m.agent_id && m.agent_id === meId ? t("you") : (m.agent_name || agentName(m.agent_id) || t("agent")))
    : t("bot");
  return el("li", { class: `msg ${role}${m.delivery === "failed" ? " failed" : ""}` },
    el("span", { class: "meta" }, el("strong", {}, who), " ", el("time", { datetime: String(m.ts ?? "") }, clock(m.ts)),
      m.channel === "email" ? el("span", { class: "badge email" }, t("byEmail")) : null),
    bubble(m, titles),
    statusTicks(m),
    deliveryNote(m, onResend));
}

function cannedSelect(canned, textarea, onMedia) {
  const select = el("select", { class: "canned", "aria-label": t("canned") },
    el("option", { value: "" }, t("cannedPick")),
    canned.map((c, i) => el("option", { value: String(i) }, c.title || c.key || c.text.slice(0, 40))));
  select.addEventListener("change", () => {
    const c = canned[Number(select.value)];
    if (c?.media && onMedia) onMedia({ canned: c.id });  // e.g. the size chart: sent at once
    else if (c) {
      textarea.value = textarea.value ? `${textarea.value} ${c.text}` : c.text;
      textarea.focus();
    }
    select.value = "";
  });
  return select;
}

/**
 * @param {object} h     the handoff (GET /api/handoffs/{id})
 * @param {object} ctx   {me, canned, onReply, onResend, onNote, onAction, typing, history}
 */
export function renderConversation(h, ctx) {
  agentName = (id) => (ctx.agents || []).find((a) => a.id === id)?.name;
  const root = document.getElementById("conversation");
  const mine = h.status === "assigned" && (h.agent_id === ctx.me.id || h.agent?.id === ctx.me.id);
  const open = h.status === "queued" || h.status === "assigned";
  const name = shopperName(h);
  const holder = h.agent?.name || h.agent_name;

  const transcript = el("ol", { class: "transcript", "aria-label": t("transcript") },
    transcriptOf(h).map((m) => message(m, ctx.me.id, h.button_titles || {},
      mine && ctx.onResend ? (m) => ctx.onResend(h.id, m) : null)));
  const typing = el("p", { id: "typing", class: "typing", role: "status", hidden: !ctx.typing }, t("typing"));

  const sendFile = async (what) => {
    try {
      await sendMedia(h.id, what);
      toast(t("mediaSent"));  // the message itself arrives on the console's live stream
    } catch (err) {
      toast(err.message, "error");
    }
  };
  const fileInput = el("input", { type: "file", class: "file", hidden: true,
    accept: "image/jpeg,image/png,image/webp,application/pdf,.docx,.xlsx,.pptx" });
  fileInput.addEventListener("change", () => {
    const [file] = fileInput.files || [];
    fileInput.value = "";
    if (file) sendFile({ file, caption: textarea.value.trim() });
  });
  const fileButton = el("span", {}, fileInput,
    el("button", { type: "button", class: "ghost attach", onclick: () => fileInput.click() }, "📎 ", t("attachFile")));
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
  el("div", { class: "reply-tools" }, cannedSelect(ctx.canned, textarea, sendFile), fileButton),
  textarea,
  el("button", { class: "primary", type: "submit" }, t("send")));
  // WhatsApp after 24 h: the approved templates (free text is refused with the reason);
  // Messenger's HUMAN_AGENT tag rules
  const tools = mine ? channelTools(h, { canSync: ctx.me.role === "supervisor" }) : null;

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

  const stateLine = h.status === "offline" ? t("offlineState", { time: dateTime(h.answer_due_at) })
    : !open ? t("closed", { status: t(`statuses.${h.status}`) })
    : h.status === "assigned" ? (mine ? t("assignedToMe") : t("assignedTo", { name: holder || "?" }))
    : t(`statuses.${h.status}`);

  root.replaceChildren(
    el("header", { class: "conv-head" },
      el("div", {},
        el("h2", {}, name, " ", (h.vip || h.customer?.vip) ? el("span", { class: "badge vip" }, t("vip")) : null),
        el("p", { class: "sub" },
          `${t("reason")}: ${t(`reasons.${h.reason}`)} · ${t("lang")}: ${(h.language || "").toUpperCase()} · `,
          `${t("channel")}: ${channelName(h.channel)} · `, el("span", { class: `state ${h.status}` }, stateLine)),
        el("p", { class: "cid" }, h.conversation_id)),
      actions),
    el("div", { class: "conv-body" },
      el("div", { class: "conv-main" }, transcript, typing, mine ? form : null, tools,
        h.status === "offline" && ctx.onFollowUp ? followUpForm(h, (text, via) => ctx.onFollowUp(h.id, text, via)) : null,
        notes, supervisionLog(h, ctx.agents)),
      contextPanel(h, ctx.history || null, h.conversation_id ? mediaSection(h) : null)));
  transcript.scrollTop = transcript.scrollHeight;
  if (mine && ctx.focusReply) textarea.focus();
}
