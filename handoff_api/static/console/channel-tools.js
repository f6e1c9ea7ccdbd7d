/**
 * WhatsApp / Messenger tools of the reply box (issue #17):
 *  - the template picker: when WhatsApp's 24-hour window is closed the agent picks an approved
 *    template, fills its parameters and sees the preview in the shopper's language before sending
 *    (GET /api/handoffs/{id}/reply-options, POST /api/handoffs/{id}/template-messages);
 *  - Messenger's window: the reply box says when a reply goes with the HUMAN_AGENT tag, and why
 *    nothing can be sent after 7 days;
 *  - delivery ticks on each agent message (sent ✓, delivered ✓✓, read ✓✓ in colour, failed ⚠
 *    with Meta's reason in words), and the badges of template and phone-app messages.
 * Strings live here in es and en (the console's own catalogue is i18n.js).
 */
import { el, toast } from "./dom.js";
import { getLang, dateTime } from "./i18n.js";
import { get, post, ApiError } from "./api.js";

// this module's own stylesheet (console.css belongs to the rest of the console)
if (!document.querySelector('link[href$="channel-tools.css"]')) {
  document.head.append(el("link", { rel: "stylesheet", href: "/static/console/channel-tools.css" }));
}

const STRINGS = {
  es: {
    sent: "Enviado", delivered: "Entregado", read: "Leído", failed: "No entregado",
    template: "Plantilla {name}", echo: "Respondido desde el teléfono",
    windowTemplate: "Han pasado más de 24 horas desde el último mensaje del cliente: WhatsApp solo permite enviar una plantilla aprobada. Cuando el cliente responda podrás escribirle libremente.",
    windowHumanAgent: "Más de 24 horas sin mensajes del cliente: tu respuesta se enviará con la etiqueta HUMAN_AGENT de Messenger (permitida hasta {time}).",
    messenger_7_days_passed: "Han pasado más de 7 días desde el último mensaje del cliente: Messenger no permite enviarle nada hasta que vuelva a escribir.",
    messenger_human_agent_not_enabled: "Han pasado más de 24 horas desde el último mensaje del cliente: Messenger solo permite responder con la etiqueta HUMAN_AGENT, que esta página no tiene activada (MESSENGER_HUMAN_AGENT_TAG).",
    pickTemplate: "Plantilla", choose: "Elige una plantilla…", noTemplates: "No hay plantillas aprobadas para responder. Un supervisor puede sincronizarlas desde Meta.",
    preview: "Vista previa (lo que leerá el cliente, en {lang})", sendTemplate: "Enviar plantilla",
    templateSent: "Plantilla enviada", fill: "Rellena todos los campos de la plantilla.",
    sync: "Sincronizar plantillas con Meta", synced: "{count} plantillas leídas de Meta.",
    langs: { es: "español", en: "inglés" },
    errors: {
      131047: "WhatsApp la rechazó: han pasado más de 24 horas desde el último mensaje del cliente; usa una plantilla aprobada.",
      131026: "WhatsApp no puede entregar mensajes a este número (no usa WhatsApp o no aceptó las condiciones).",
      132000: "WhatsApp la rechazó: el número de parámetros no coincide con la plantilla.",
      132001: "WhatsApp la rechazó: la plantilla no existe en ese idioma (nombre o idioma equivocado, o aún no aprobada). Pide a un supervisor que sincronice las plantillas.",
      132005: "WhatsApp la rechazó: el texto con los parámetros es demasiado largo.",
      132007: "WhatsApp la rechazó: el contenido infringe su política.",
      132012: "WhatsApp la rechazó: un parámetro tiene un formato no válido.",
      132015: "WhatsApp la rechazó: la plantilla está en pausa por baja calidad.",
      132016: "WhatsApp la rechazó: la plantilla está desactivada.",
      generic: "No se ha podido enviar: {detail}",
    },
  },
  en: {
    sent: "Sent", delivered: "Delivered", read: "Read", failed: "Not delivered",
    template: "Template {name}", echo: "Answered from the phone",
    windowTemplate: "More than 24 hours since the shopper's last message: WhatsApp only allows an approved template now. Once the shopper answers you can write freely again.",
    windowHumanAgent: "More than 24 hours without a message from the shopper: your reply goes with Messenger's HUMAN_AGENT tag (allowed until {time}).",
    messenger_7_days_passed: "More than 7 days since the shopper's last message: Messenger allows nothing to be sent until they write again.",
    messenger_human_agent_not_enabled: "More than 24 hours since the shopper's last message: Messenger only allows replies with the HUMAN_AGENT tag, which is not enabled for this page (MESSENGER_HUMAN_AGENT_TAG).",
    pickTemplate: "Template", choose: "Choose a template…", noTemplates: "No approved template to answer with. A supervisor can sync them from Meta.",
    preview: "Preview (what the shopper will read, in {lang})", sendTemplate: "Send template",
    templateSent: "Template sent", fill: "Fill in every field of the template.",
    sync: "Sync templates from Meta", synced: "{count} templates read from Meta.",
    langs: { es: "Spanish", en: "English" },
    errors: {
      131047: "WhatsApp refused it: more than 24 hours since the shopper's last message; use an approved template.",
      131026: "WhatsApp cannot deliver to this number (not on WhatsApp, or terms not accepted).",
      132000: "WhatsApp refused it: the number of parameters does not match the template.",
      132001: "WhatsApp refused it: the template does not exist in that language (wrong name or language, or not approved yet). Ask a supervisor to sync the templates.",
      132005: "WhatsApp refused it: the text with its parameters is too long.",
      132007: "WhatsApp refused it: the content breaks its policy.",
      132012: "WhatsApp refused it: a parameter has an invalid format.",
      132015: "WhatsApp refused it: the template is paused for low quality.",
      132016: "WhatsApp refused it: the template is disabled.",
      generic: "Could not send: {detail}",
    },
  },
};

export function tt(key, fields = {}) {
  const look = (table) => key.split(".").reduce((o, k) => (o == null ? o : o[k]), table);
  const value = look(STRINGS[getLang()]) ?? look(STRINGS.es) ?? key;
  return String(value).replace(/\{(\w+)\}/g, (_, k) => fields[k] ?? "");
}

/** Meta's error code in a reason ("... (132001: Template name does not exist ...)"). */
export function metaErrorText(reason) {
  const code = /\b(13\d{4})\b/.exec(reason || "")?.[1];
  if (code && STRINGS.es.errors[code]) return tt(`errors.${code}`);
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
    previewLabel.textContent = tt("preview", { lang: tt(`langs.${lang}`) === `langs.${lang}` ? tpl.language : tt(`langs.${lang}`) });
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
      box.replaceChildren(el("p", { class: "window-note closed", role: "note" }, tt(w.reason) === w.reason ? w.reason : tt(w.reason)));
    } else if (w.mode === "human_agent") {
      box.replaceChildren(el("p", { class: "window-note", role: "note" }, tt("windowHumanAgent", { time: dateTime(w.closes_at) })));
    }
  }).catch(() => { /* no options: the free reply box stays, the API still refuses with a reason */ });
  load();
  return box;
}
