/**
 * The supervisor moves of a conversation (take over, reassign, return to queue: the audit events
 * of handoff_api/supervisor.py, from GET /api/handoffs/{id} `events`), shown in the conversation
 * view under the notes: who moved it, from whom, to whom, when. Nothing when there were none.
 */
import { el } from "./dom.js";
import { getLang } from "./i18n.js";
import { clock } from "./format.js";

const TEXT = {
  es: {
    title: "Supervisión",
    taken_over: "{by} tomó la conversación{from}.",
    reassigned: "{by} la reasignó a {to}{from}.",
    returned_to_queue: "{by} la devolvió a la cola{from}.",
    from: " (la tenía {name})",
  },
  en: {
    title: "Supervision",
    taken_over: "{by} took over the conversation{from}.",
    reassigned: "{by} reassigned it to {to}{from}.",
    returned_to_queue: "{by} returned it to the queue{from}.",
    from: " ({name} had it)",
  },
};
export const SUPERVISOR_EVENTS = Object.keys(TEXT.es).filter((k) => !["title", "from"].includes(k));

const fill = (s, f) => s.replace(/\{(\w+)\}/g, (_, k) => f[k] ?? "");

export function supervisionLog(h, agents = []) {
  const moves = (h.events || []).filter((e) => SUPERVISOR_EVENTS.includes(e.type));
  if (!moves.length) return null;
  const tx = TEXT[getLang()] || TEXT.es;
  const nameOf = (id, fallback) => agents.find((a) => a.id === id)?.name || fallback || (id == null ? "" : `#${id}`);
  return el("section", { class: "notes supervision", "aria-label": tx.title },
    el("h3", {}, tx.title),
    el("ul", {}, moves.map((e) => {
      const data = e.data || {};
      const from = data.from_agent_id != null && data.from_agent_id !== data.to_agent_id
        ? fill(tx.from, { name: nameOf(data.from_agent_id) }) : "";
      const text = fill(tx[e.type], { by: nameOf(data.by_agent_id ?? e.agent_id, data.by_username),
        to: nameOf(data.to_agent_id, data.to_username), from });
      return el("li", { dataset: { event: e.type } }, el("span", { class: "meta" }, clock(e.at)), " ", el("span", {}, text));
    })));
}
