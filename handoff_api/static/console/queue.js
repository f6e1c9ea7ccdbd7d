/**
 * The queue sidebar: conversations waiting (with a waiting time that ticks every second,
 * reason, language, VIP badge) and the agent's own open conversations.
 */
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { duration, shopperName, channelName } from "./format.js";
import { shownText } from "./conversation.js";

const since = (ts) => (Date.now() - new Date(ts).getTime()) / 1000;

function badges(h) {
  return el("span", { class: "badges" },
    h.vip || h.customer?.vip ? el("span", { class: "badge vip" }, t("vip")) : null,
    el("span", { class: "badge lang", title: t("lang") }, (h.language || "es").toUpperCase()),
    el("span", { class: "badge channel", title: t("channel") }, channelName(h.channel)));
}

/** The card's preview: the latest message (the shopper's, or "You: …" / "Ana: …"), a tapped
 *  button as its title; before any live message, the shopper's last words to the bot. */
function preview(h, me) {
  const m = h.last_message;
  const text = shownText(m ? m.text : h.last_user_text, h.button_titles).text;
  if (!text) return null;
  const who = !m || m.role === "user" ? "" : `${m.agent_id === me?.id ? t("you") : (h.agent_name || t("agent"))}: `;
  return el("span", { class: `line3${m && m.role !== "user" ? " from-agent" : ""}` }, who + text);
}

function item(h, { onOpen, onClaim, selected, unread = 0, me }) {
  const reason = t(`reasons.${h.reason}`);
  const waitTs = h.created_at || h.queued_at;
  const name = shopperName(h);
  const li = el("li", { class: `item${selected ? " selected" : ""}${h.vip ? " is-vip" : ""}`, dataset: { id: h.id } },
    el("button", { type: "button", class: "open", onclick: () => onOpen(h.id), "aria-label": `${name} — ${reason}` },
      el("span", { class: "line1" }, el("strong", {}, name),
        unread > 0 ? el("span", { class: "badge unread", "aria-label": t("unread", { n: unread }) }, String(unread)) : null,
        waitTs && h.status === "queued"
          ? el("span", { class: "wait", dataset: { since: waitTs } }, t("waiting", { time: duration(since(waitTs)) }))
          : (h.agent_name ? el("span", { class: "holder" }, h.agent_name) : null)),
      el("span", { class: "line2" },
        el("span", { class: "reason", dataset: { reason: h.reason } }, reason), badges(h)),
      preview(h, me)),
    onClaim ? el("button", { type: "button", class: "primary small claim", onclick: () => onClaim(h.id) }, t("claim")) : null);
  return li;
}

export function renderQueue({ queued, mine, selectedId, onOpen, onClaim, unread = () => 0, me = null }) {
  const q = document.getElementById("queue-list");
  const m = document.getElementById("mine-list");
  document.getElementById("queue-count").textContent = String(queued.length);
  q.replaceChildren(...(queued.length
    ? queued.map((h) => item(h, { onOpen, onClaim, selected: h.id === selectedId, unread: unread(h), me }))
    : [el("li", { class: "empty" }, t("emptyQueue"))]));
  m.replaceChildren(...(mine.length
    ? mine.map((h) => item(h, { onOpen, selected: h.id === selectedId, unread: unread(h), me }))
    : [el("li", { class: "empty" }, t("emptyMine"))]));
}

/** Update every waiting time in place (called once a second; no re-render, focus is kept). */
export function tick() {
  for (const span of document.querySelectorAll(".wait[data-since]")) {
    span.textContent = t("waiting", { time: duration(since(span.dataset.since)) });
  }
}
