/**
 * The dashboard's agents panel (supervisors): every agent with presence (online / away /
 * offline) and load, and every open conversation with "Tomar" (take over), "Reasignar" (to a
 * named agent) and "Devolver a la cola" (return to queue). Data from GET /api/supervisor/agents;
 * moves are POST /api/supervisor/handoffs/{id}/take-over | reassign | return-to-queue
 * (handoff_api/routes/supervisor.py). Kept live by the console's event stream (any queue move
 * redraws it at once) and a 15 s refresh (presence changes without an event).
 */
import { ApiError, auth, get, post } from "./api.js";
import { d, number, seconds } from "./dashboard-i18n.js";
import { el, toast } from "./dom.js";

const REFRESH_MS = 15000;
const STREAM_EVENTS = ["handoff_created", "handoff_assigned", "handoff_transferred", "handoff_closed", "agent_status"];
let board = null;
let me = null;
let stream = null;
let pending = null;
const chosen = new Map(); // handoff id -> username picked in its "Reasignar a" list

const $ = (id) => document.getElementById(id);

function presenceBadge(presence) {
  return el("span", { class: `presence ${presence}`, dataset: { presence } }, d(`agents.presences.${presence}`));
}

function drawAgents() {
  const body = $("agents-body");
  if (!board.agents.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "3", class: "muted" }, d("agents.none"))));
    return;
  }
  body.replaceChildren(...board.agents.map((a) => el("tr", { dataset: { agent: a.username } },
    el("td", {}, el("strong", {}, a.name), a.role === "supervisor" ? el("span", { class: "muted" }, ` · ${d("agents.supervisor")}`) : null),
    el("td", {}, presenceBadge(a.presence)),
    el("td", { class: `load${a.load >= a.capacity ? " full" : ""}` },
      el("span", { class: "load-text" }, `${number(a.load)} / ${number(a.capacity)}`),
      el("meter", { min: "0", max: String(a.capacity), value: String(a.load), "aria-label": d("agents.load") })))));
}

const waited = (h) => (Date.now() - new Date(h.created_at).getTime()) / 1000;

function conversationRow(h) {
  const mine = h.agent_id === me.id;
  const targets = board.agents.filter((a) => a.presence !== "offline" && a.id !== h.agent_id);
  const select = el("select", { class: "reassign-to", "aria-label": d("agents.reassignTo") },
    ...targets.map((a) => el("option", { value: a.username }, `${a.name} (${d(`agents.presences.${a.presence}`)}, ${a.load}/${a.capacity})`)));
  // a redraw (live event, 15 s refresh) keeps the agent the supervisor picked
  if (targets.some((a) => a.username === chosen.get(h.id))) select.value = chosen.get(h.id);
  select.addEventListener("change", () => chosen.set(h.id, select.value));
  const who = h.status === "queued"
    ? d("agents.waiting", { time: seconds(waited(h)) })
    : d("agents.heldBy", { name: h.agent_name || "?" });
  return el("li", { class: "conv", dataset: { id: h.id, status: h.status } },
    el("div", { class: "conv-main" },
      el("strong", {}, h.customer?.name || `#${h.id}`),
      el("span", { class: "muted" }, ` · ${h.channel} · ${(h.language || "").toUpperCase()} · `),
      el("span", { class: "conv-state" }, who)),
    el("div", { class: "conv-actions" },
      mine ? null : el("button", { type: "button", class: "secondary small take-over", onclick: () => act(h, "take-over") }, d("agents.takeOver")),
      targets.length ? select : null,
      targets.length ? el("button", { type: "button", class: "secondary small reassign", onclick: () => act(h, "reassign", select.value) }, d("agents.reassign")) : null,
      h.status === "assigned" ? el("button", { type: "button", class: "secondary small return", onclick: () => act(h, "return-to-queue") }, d("agents.returnToQueue")) : null));
}

function drawConversations() {
  const list = $("open-conversations");
  list.replaceChildren(...(board.conversations.length
    ? board.conversations.map(conversationRow)
    : [el("li", { class: "muted" }, d("agents.noOpen"))]));
}

export function renderAgents() {
  if (!board || !me) return;
  drawAgents();
  drawConversations();
}

export async function refreshAgents() {
  try {
    board = await get("/api/supervisor/agents");
    renderAgents();
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return;
    /* the next tick tries again */
  }
}

/** Coalesce bursts of live events into one reload. */
function soon() {
  clearTimeout(pending);
  pending = setTimeout(refreshAgents, 150);
}

async function act(h, action, username) {
  const body = action === "reassign" ? { agent_username: username } : {};
  try {
    const res = await post(`/api/supervisor/handoffs/${h.id}/${action}`, body);
    toast(d(`agents.done.${action}`, { id: h.id, name: res.agent_name || "" }));
    document.dispatchEvent(new CustomEvent("atiende:moved")); // the dashboard re-reads its numbers
  } catch (err) {
    toast(d("agents.failed", { detail: err instanceof ApiError ? err.message : String(err) }), "error");
  }
  await refreshAgents();
}

function connect() {
  stream?.close();
  stream = new EventSource("/api/stream"); // the session cookie; also keeps this supervisor present
  for (const type of STREAM_EVENTS) stream.addEventListener(type, soon);
}

/** Start the panel for the logged-in supervisor (`who` from GET /api/me). */
export async function startAgentsPanel(who) {
  me = who?.agent || who;
  if (who?.csrf_token) auth.csrf = who.csrf_token; // the moves are POSTs: the session's CSRF token
  $("agents-panel").hidden = false;
  await refreshAgents();
  connect();
  setInterval(refreshAgents, REFRESH_MS);
}
