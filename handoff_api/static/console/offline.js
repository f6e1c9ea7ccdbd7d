/**
 * Offline cases (queue timeout / out of hours): the sidebar list, soonest promised answer first,
 * and the answer form shown in the conversation view. The answer goes to the shopper on their
 * own channel when it can reach them now, by e-mail otherwise (POST /api/handoffs/{id}/follow-up).
 */
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { dateTime, shopperName } from "./format.js";

function dueLabel(c) {
  const time = dateTime(c.answer_due_at);
  if (c.due_state === "overdue") return t("overdue", { time });
  if (c.due_state === "due_soon") return t("dueSoon", { time });
  return t("due", { time });
}

export function renderOfflineCases({ cases, selectedId, onOpen }) {
  const list = document.getElementById("offline-list");
  document.getElementById("offline-count").textContent = String(cases.length);
  list.replaceChildren(...(cases.length ? cases.map((c) =>
    el("li", { class: `item offline ${c.due_state}${c.id === selectedId ? " selected" : ""}`, dataset: { id: c.id } },
      el("button", { type: "button", class: "open", onclick: () => onOpen(c.id) },
        el("span", { class: "line1" }, el("strong", {}, shopperName(c)),
          el("span", { class: `due ${c.due_state}` }, dueLabel(c))),
        el("span", { class: "line2" }, el("span", { class: "badge channel" }, c.channel),
          c.email_known ? el("span", { class: "badge email" }, t("byEmail")) : null),
        c.last_user_text ? el("span", { class: "line3" }, c.last_user_text) : null)))
    : [el("li", { class: "empty" }, t("emptyOffline"))]));
}

/** The answer form of an offline case; ``onSend(text, via)`` resolves true when it was sent. */
export function followUpForm(h, onSend) {
  const email = h.customer?.email || h.packet?.customer?.email || "";
  const via = el("select", { id: "followup-via", "aria-label": t("followUpVia") },
    el("option", { value: "auto" }, t("via.auto")),
    el("option", { value: "channel" }, t("via.channel", { channel: h.channel })),
    email ? el("option", { value: "email" }, t("via.email", { email })) : null);
  const text = el("textarea", { id: "followup-text", rows: "4", maxlength: "4000",
    placeholder: t("followUpPlaceholder"), "aria-label": t("followUpTitle") });
  const button = el("button", { class: "primary", type: "submit" }, t("followUpSend"));
  return el("form", { class: "reply followup", onsubmit: async (e) => {
    e.preventDefault();
    const value = text.value.trim();
    if (!value) return;
    button.disabled = true;
    try {
      if (await onSend(value, via.value)) text.value = "";
    } finally { button.disabled = false; }
  } },
  el("h3", {}, t("followUpTitle")),
  el("p", { class: "muted due-line" }, t("offlineState", { time: dateTime(h.answer_due_at) }),
    email ? null : el("span", {}, " · ", t("noEmail"))),
  el("label", { class: "via" }, t("followUpVia"), " ", via),
  text, button);
}
