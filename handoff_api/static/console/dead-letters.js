/**
 * Dead letters: shopper messages the bot side could not deliver for good (the handoff API
 * refused them). Listed with why, what the agent can do (open the conversation and answer),
 * and a button to mark each one as dealt with.
 */
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { clock } from "./format.js";

export function renderDeadLetters({ items, onOpen, onDismiss }) {
  const section = document.getElementById("dead-section");
  const list = document.getElementById("dead-list");
  document.getElementById("dead-count").textContent = String(items.length);
  section.classList.toggle("has-items", items.length > 0);
  list.replaceChildren(...(items.length ? items.map((d) =>
    el("li", { class: "item dead", dataset: { id: d.id } },
      el("span", { class: "line1" }, el("strong", {}, t(`deadCauses.${d.cause}`)),
        el("span", { class: "badge channel" }, d.channel), " ", el("time", {}, clock(d.created_at))),
      el("blockquote", { class: "dead-text" }, d.text),
      el("span", { class: "line3 reason" }, d.reason),
      el("span", { class: "row" },
        d.handoff_id
          ? el("button", { type: "button", class: "secondary small", onclick: () => onOpen(d.handoff_id) }, t("openConversation"))
          : el("span", { class: "muted" }, t("noConversation")),
        el("button", { type: "button", class: "ghost small", onclick: () => onDismiss(d.id) }, t("dismiss")))))
    : [el("li", { class: "empty" }, t("emptyDead"))]));
}
