/**
 * WhatsApp / Messenger tools of the reply box (issue #17):
 *  - the template picker: when WhatsApp's 24-hour window is closed the agent picks an approved
 *    template, fills its parameters and sees the preview in the shopper's language before sending
 *    (GET /api/handoffs/{id}/reply-options, POST /api/handoffs/{id}/template-messages);
 *  - Messenger's window: the reply box says when a reply goes with the HUMAN_AGENT tag, and why
 *    nothing can be sent after 7 days;
 *  - delivery ticks on each agent message (sent ✓, delivered ✓✓, read ✓✓ in colour, failed ⚠
 *    with Meta's reason in words), and the badges of template and phone-app messages.
 * Strings: the console's one catalogue (i18n.js, table "channelTools"), in es and en.
 */
import { el, toast } from "./dom.js";
import { STRINGS, getLang, t } from "./i18n.js";
import { dateTime } from "./format.js";
import { get, post, ApiError } from "./api.js";

// this module's own stylesheet (console.css belongs to the rest of the console)
if (!document.querySelector('link[href$="channel-tools.css"]')) {
  document.head.append(el("link", { rel: "stylesheet", href: "/static/console/channel-tools.css" }));
}

/** A string of the "channelTools" table: tt("sent") is t("channelTools.sent"). */
export const tt = (key, fields = {}) => t(`channelTools.${key}`, fields);
/** Whether the "channelTools" table has ``key`` (t() answers an unknown key with the key itself). */
const known = (key) => t(`channelTools.${key}`) !== `channelTools.${key}`;

/** Meta's error code in a reason ("... (132001: Template name does not exist ...)"). */
export function metaErrorText(reason) {
  const code = /\b(13\d{4})\b/.exec(reason || "")?.[1];
  if (code && STRINGS.es.channelTools.errors[code]) return tt(`errors.${code}`);
  return null;
}

const TICKS = { sent: "✓", delivered: "✓✓", read: "✓✓", failed: "⚠" };

/** The ticks (and badges) shown under an agent message; null for other messages. */
export function statusTicks(m) {
  if (m.role !== "agent") return null;
  const badges = [];
  if (m.kind === "template") badges.push(el("span", { class: "badge template" }, tt("template", { name: m.template || "" })));
  if (m.kind === "echo") badges.push(el("span", { class: "badge echo" }, tt("echo")));
  const status = m.status || (m.external_id && m.delivery === "sent" ? "sent" : null);
  if (status) {
    const why = status === "failed" ? (metaErrorText(m.status_error) || m.status_error || "") : "";
    badges.push(el("span", { class: `ticks ${status}`, title: tt(status), "data-status": status, "aria-label": tt(status) },
      TICKS[status] || "", status === "failed" ? ` ${tt("failed")}${why ? `: ${why}` : ""}` : ""));
  }
  return badges.length ? el("span", { class: "msg-status" }, badges) : null;
}

function paramInput(p, onInput) {
  const input = el("input", { type: "text", maxlength: "1024", required: true, "data-param": p.name,
    placeholder: p.example || "", "aria-label": p.label });
  input.addEventListener("input", onInput);
  return el("label", { class: "tpl-param" }, el("span", {}, p.label), input);
}

function render(body, values) {
  return body.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (m, name) => values[name] || `{{${name}}}`);
}

/** The template picker for one template list; sends through the API. */
function picker(h, options, onSent) {
  const list = options.templates || [];
  if (!list.length) return el("p", { class: "tpl-empty muted" }, tt("noTemplates"));
  const select = el("select", { id: "template-select", "aria-label": tt("pickTemplate") },
    el("option", { value: "" }, tt("choose")),
    list.map((tpl, i) => el("option", { value: String(i) }, `${tpl.name} · ${tpl.language} · ${tpl.category}`)));
  const fields = el("div", { class: "tpl-fields" });
  const preview = el("p", { class: "tpl-preview", id: "template-preview" });
  const previewLabel = el("span", { class: "muted" });
  const button = el("button", { type: "submit", class: "primary", disabled: true }, tt("sendTemplate"));
  const values = () => Object.fromEntries([...fields.querySelectorAll("input[data-param]")]
    .map((i) => [i.dataset.param, i.value.trim()]));
  const current = () => list[Number(select.value)];
  const refresh = () => {
    const tpl = current();
    if (!tpl) { preview.textContent = ""; previewLabel.textContent = ""; button.disabled = true; return; }
    const v = values();
    preview.textContent = render(tpl.body, v) + (tpl.buttons?.length ? `\n${tpl.buttons.map((b) => `[${b}]`).join(" · ")}` : "");
    const lang = tpl.language.split("_")[0];
    previewLabel.textContent = tt("preview", { lang: known(`langs.${lang}`) ? tt(`langs.${lang}`) : tpl.language });
    button.disabled = (tpl.parameters || []).some((p) => !v[p.name]);
  };
  select.addEventListener("change", () => {
    const tpl = current();
    fields.replaceChildren(...(tpl?.parameters || []).map((p) => paramInput(p, refresh)));
    refresh();
  });
  let clientId = null;
  const form = el("form", { class: "tpl-form", onsubmit: async (e) => {
    e.preventDefault();
    const tpl = current();
    if (!tpl) return;
    const v = values();
    if ((tpl.parameters || []).some((p) => !v[p.name])) { toast(tt("fill"), "error"); return; }
    clientId = clientId || `tpl-${Date.now()}-${Math.random().toString(16).slice(2)}`;
    button.disabled = true;
    try {
      await post(`/api/handoffs/${h.id}/template-messages`, { name: tpl.name, language: tpl.language, parameters: v, client_id: clientId });
      clientId = null;
      toast(tt("templateSent"));
      onSent?.();
    } catch (err) {
      const detail = err instanceof ApiError ? (err.detail || err.message) : String(err);
      toast(metaErrorText(detail) || tt("errors.generic", { detail }), "error");
      if (err instanceof ApiError && err.status !== 0) clientId = null; // refused for good: a new try is a new message
    } finally { refresh(); }
  } }, el("label", {}, el("span", {}, tt("pickTemplate")), select), fields, previewLabel, preview, button);
  return form;
}

/**
 * The channel part of the reply box: fills itself from GET reply-options.
 * Returns the container at once (filled when the answer comes).
 */
export function channelTools(h, { onSent, canSync = false } = {}) {
  const box = el("section", { class: "channel-tools", id: "channel-tools", "aria-live": "polite" });
  if (h.channel !== "whatsapp" && h.channel !== "messenger") return box;
  const load = () => get(`/api/handoffs/${h.id}/reply-options?lang=${getLang()}`).then((options) => {
    const w = options.window || {};
    if (w.mode === "template") {
      // supervisors: read Meta's template list now (POST /api/templates/sync)
      const sync = canSync ? el("button", { type: "button", class: "ghost small", id: "template-sync", onclick: async () => {
        try {
          const res = await post("/api/templates/sync");
          toast(tt("synced", { count: res.synced }));
          await load();
        } catch (err) {
          toast(tt("errors.generic", { detail: err instanceof ApiError ? (err.detail || err.message) : String(err) }), "error");
        }
      } }, tt("sync")) : null;
      box.replaceChildren(el("p", { class: "window-note", role: "note" }, tt("windowTemplate")), picker(h, options, onSent), sync);
    } else if (w.mode === "closed") {
      box.replaceChildren(el("p", { class: "window-note closed", role: "note" }, known(w.reason) ? tt(w.reason) : w.reason));
    } else if (w.mode === "human_agent") {
      box.replaceChildren(el("p", { class: "window-note", role: "note" }, tt("windowHumanAgent", { time: dateTime(w.closes_at) })));
    }
  }).catch(() => { /* no options: the free reply box stays, the API still refuses with a reason */ });
  load();
  return box;
}
