/**
 * Agent console entry point: login, what the live stream's events (stream.js) change, state,
 * and the actions wired to the API.
 */
import { api, get, post, auth, ApiError } from "./api.js";
import { el, toast, listOf } from "./dom.js";
import { t, getLang, setLang, applyStatic } from "./i18n.js";
import { shopperName } from "./format.js";
import { renderQueue, tick } from "./queue.js";
import { renderConversation, shownText, WINDOW_HINTS } from "./conversation.js";
import { Cases, CASE_EVENTS } from "./cases.js";
import { setupPrivacy } from "./privacy.js";
import { alertAgent, askPermission, setupAlerts, updateTitle, watched } from "./alerts.js";
import { confirmAction } from "./confirm.js";
import { setupShortcuts } from "./shortcuts.js";
import { History, Search } from "./search.js";
import { LiveStream, QUEUE_EVENTS, CONVERSATION_EVENTS } from "./stream.js";

const state = { me: null, queued: [], mine: [], selected: null, handoff: null, canned: {}, agents: [],
  seen: {}, typingUntil: 0 };
const $ = (id) => document.getElementById(id);
const cases = new Cases({ selected: () => state.selected, open: (id) => openHandoff(id), error: (e) => showError(e) });
const customerHistory = new History({ open: (id) => openHandoff(id), current: () => state.selected, error: (e) => showError(e) });
let search = null; // wired at boot (needs the DOM)
const TYPING_SHOWN_MS = 6000; // the shopper stopped typing without saying so (tab closed…)

/* ---------- unread messages (per agent, kept in localStorage across reloads) ---------- */

const seenKey = () => `atiende-console:seen:${state.me?.id}`;
function loadSeen() {
  try { state.seen = JSON.parse(localStorage.getItem(seenKey()) || "{}"); } catch { state.seen = {}; }
}
/** Shopper messages of ``h`` the agent has not had on screen. */
const unread = (h) => Math.max(0, (h.shopper_messages || 0) - (state.seen[h.id] || 0));
function markSeen(id) {
  const h = [...state.queued, ...state.mine].find((x) => x.id === id);
  const count = h?.shopper_messages ?? (state.handoff?.id === id
    ? (state.handoff.messages || []).filter((m) => m.role === "user").length : null);
  if (count == null || state.seen[id] === count) return;
  state.seen[id] = count;
  const open = new Set([...state.queued, ...state.mine].map((x) => String(x.id)));
  for (const k of Object.keys(state.seen)) if (!open.has(k) && String(k) !== String(id)) delete state.seen[k];
  localStorage.setItem(seenKey(), JSON.stringify(state.seen));
}
/** The tab title's count: people waiting plus unread shopper messages in my conversations. */
const titleCount = () => state.queued.length
  + state.mine.filter((h) => (h.agent_id ?? h.agent?.id) === state.me?.id).reduce((n, h) => n + unread(h), 0);

/* ---------- rendering ---------- */

function drawQueue() {
  if (state.selected != null && watched()) markSeen(state.selected);
  renderQueue({ queued: state.queued, mine: state.mine, selectedId: state.selected, onOpen: openHandoff, onClaim: claim, unread, me: state.me });
  updateTitle(titleCount());
}

function drawConversation({ focusReply = false } = {}) {
  if (!state.handoff) return;
  // Keep what the agent is typing when a live event re-draws the view.
  const reply = $("reply-text")?.value, note = $("note-text")?.value;
  const hadFocus = document.activeElement?.id;
  renderConversation(state.handoff, {
    // Canned replies in the shopper's language (an agent may read Spanish and answer in English).
    me: state.me, canned: state.canned[state.handoff.language] || state.canned[getLang()] || [], agents: state.agents, focusReply, onReply: reply_, onResend: resend, onNote: note_, onAction: action,
    onFollowUp: (id, text, via) => cases.followUp(id, text, via),
    typing: Date.now() < state.typingUntil, history: customerHistory.section(state.handoff),
  });
  if (reply && $("reply-text")) $("reply-text").value = reply;
  if (note && $("note-text")) $("note-text").value = note;
  if (hadFocus && $(hadFocus)) $(hadFocus).focus();
}

function showError(err) {
  toast(err instanceof ApiError ? err.message : t("errors.network"), "error");
  if (err instanceof ApiError && err.status === 401) logout(false);
}

/* ---------- data ---------- */

async function loadQueue() {
  try {
    const body = await get("/api/queue");
    const all = listOf(body, "queue", "queued");
    const assigned = listOf(body?.assigned ?? body?.mine ?? []);
    state.queued = all.filter((h) => !h.status || h.status === "queued");
    // Everyone's own only (supervisors see all of them on the dashboard's agents panel).
    state.mine = [...assigned, ...all.filter((h) => h.status === "assigned")]
      .filter((h, i, arr) => arr.findIndex((x) => x.id === h.id) === i)
      .filter((h) => (h.agent_id ?? h.agent?.id) === state.me.id);
    drawQueue();
  } catch (err) { showError(err); }
}

async function openHandoff(id, opts = {}) {
  const fresh = state.selected !== id; // opened by the agent, not re-read after a live event
  if (fresh) state.typingUntil = 0;
  state.selected = id;
  try {
    state.handoff = await get(`/api/handoffs/${id}`);
    if (fresh || opts.focusReply || watched()) markSeen(id); // on screen and looked at: read
    drawQueue();
    cases.draw();
    drawConversation(opts);
  } catch (err) { showError(err); }
}

async function loadCanned() {
  try {
    for (const lang of ["es", "en"]) {
      state.canned[lang] = listOf(await get(`/api/canned-replies?lang=${lang}`), "replies", "canned_replies");
    }
  } catch (err) { showError(err); }
}

/* ---------- actions ---------- */

async function claim(id) {
  try {
    await post(`/api/handoffs/${id}/claim`);
    toast(t("claimed"));
    await loadQueue();
    await openHandoff(id, { focusReply: true });
  } catch (err) { showError(err); }
}

async function claimNext() {
  try {
    const h = await post("/api/handoffs/claim-next");
    if (!h || !h.id) { toast(t("emptyQueue")); return; }
    toast(t("claimed"));
    await loadQueue();
    await openHandoff(h.id, { focusReply: true });
  } catch (err) { showError(err); }
}

async function reply_(id, text) {
  try {
    // client_id makes a double click or a retry after a timeout store the reply only once.
    await post(`/api/handoffs/${id}/messages`, { text, client_id: `c-${crypto.randomUUID?.() ?? Date.now()}` });
    if ($("reply-text")) $("reply-text").value = ""; // a live re-draw may have replaced the box
    await openHandoff(id);
    return true;
  } catch (err) {
    // 409 = stored but refused by the channel (e.g. WhatsApp 24 h window): say so plainly.
    const refused = notDelivered(err);
    // stored and shown failed with its Resend button: not left in the box to be sent twice
    if (refused && $("reply-text")) $("reply-text").value = "";
    if (refused && WINDOW_HINTS.test(err.detail)) toast(t("deliveryWindow"), "error");
    else if (refused) toast(t("replyNotDelivered"), "error"); // the reason, translated, is on the message
    else showError(err);
    await openHandoff(id);
    return refused;
  }
}

/** 409 "Not delivered to the shopper…": stored, but the channel refused it or failed. */
const notDelivered = (err) => err instanceof ApiError && err.status === 409 && /not delivered/i.test(err.detail);

/** The "Resend" button of a failed reply: the same client_id (the message's id), so a double
 *  click, a second tab or a retry sends it once (handoff_api/routes/handoffs.py claims the send). */
async function resend(id, m) {
  try {
    await post(`/api/handoffs/${id}/messages`, { text: m.text, client_id: m.message_id });
    toast(t("resent"));
  } catch (err) {
    if (notDelivered(err)) toast(t("replyNotDelivered"), "error");
    else showError(err);
  }
  await openHandoff(id);
}

async function note_(id, text) {
  try {
    await post(`/api/handoffs/${id}/notes`, { text });
    if ($("note-text")) $("note-text").value = "";
    toast(t("noteSaved"));
    await openHandoff(id);
    return true;
  } catch (err) { showError(err); return false; }
}

const CONFIRM = {
  resolve: { title: "confirm.resolveTitle", text: "confirm.resolveText", ok: "resolve" },
  "hand-back": { title: "confirm.handBackTitle", text: "confirm.handBackText", ok: "handBack" },
};

async function action(name, h) {
  if (name === "claim") return claim(h.id);
  if (name === "transfer") return openTransfer(h);
  const ask = CONFIRM[name];
  if (ask && !(await confirmAction({ title: t(ask.title), text: t(ask.text), ok: t(ask.ok) }))) return;
  try {
    // shopper messages after the last one shown here go to the resumed bot, not to nobody
    await post(`/api/handoffs/${h.id}/${name}`, { seen_message_id: lastSeenMessageId() });
    toast(name === "resolve" ? t("resolved") : t("handedBack"));
    await loadQueue();
    await openHandoff(h.id);
  } catch (err) { showError(err); }
}

/** The newest live message the agent has on screen for the open conversation. */
function lastSeenMessageId() {
  const ids = (state.handoff?.messages || []).map((m) => Number(m.id)).filter(Number.isInteger);
  return ids.length ? Math.max(...ids) : 0;
}

async function openTransfer(h) {
  const dialog = $("transfer-dialog");
  const options = $("agent-options");
  try {
    const agents = state.agents = listOf(await get("/api/agents"), "agents");
    options.replaceChildren(...agents.filter((a) => a.id !== state.me.id)
      .map((a) => el("option", { value: a.username }, a.name || a.username)));
  } catch { options.replaceChildren(); /* no agent list: the agent types a username */ }
  $("transfer-agent").value = "";
  dialog.showModal();
  dialog.onclose = async () => {
    if (dialog.returnValue !== "ok") return;
    const username = $("transfer-agent").value.trim();
    if (!username) return;
    try {
      await post(`/api/handoffs/${h.id}/transfer`, { agent_username: username });
      toast(t("transferred"));
      await loadQueue();
      await openHandoff(h.id);
    } catch (err) { showError(err); }
  };
}

/* ---------- live stream ---------- */

/** A live message: the card's preview and unread count, and an alert for a shopper's message in
 *  a conversation of mine (or one waiting) that the agent is not looking at. */
function onMessage(data) {
  const m = data.message;
  if (!m) return;
  const h = [...state.queued, ...state.mine].find((x) => x.id === data.handoff_id);
  if (h) {
    h.last_message = m;
    if (m.role === "user") h.shopper_messages = (h.shopper_messages || 0) + 1;
  }
  if (m.role !== "user") { drawQueue(); return; }
  if (String(data.handoff_id) === String(state.selected)) state.typingUntil = 0;
  const looking = String(data.handoff_id) === String(state.selected) && watched();
  const forMe = h && (h.status === "queued" || (h.agent_id ?? h.agent?.id) === state.me.id);
  drawQueue();
  if (forMe && !looking) {
    alertAgent({ title: t("alerts.newMessage", { name: shopperName(h) }), body: shownText(m.text, h.button_titles).text,
      tag: `handoff-${h.id}`, onClick: () => openHandoff(h.id) });
  }
}

function onTyping(data) {
  if (String(data.handoff_id) !== String(state.selected)) return;
  state.typingUntil = data.typing ? Date.now() + TYPING_SHOWN_MS : 0;
  showTyping();
  if (data.typing) setTimeout(showTyping, TYPING_SHOWN_MS + 50);
}

function showTyping() {
  const box = $("typing");
  if (box) box.hidden = Date.now() >= state.typingUntil;
}

function onLiveEvent(type, raw) {
  let data = {};
  try { data = JSON.parse(raw || "{}"); } catch { /* keep {} */ }
  const hid = data.handoff_id ?? data.handoff?.id ?? data.id;
  if (type === "typing") return onTyping(data);
  if (type === "message") onMessage(data);
  if (type === "handoff_created" && data.status === "queued") {
    alertAgent({ title: t("alerts.newQueue"), body: `${shopperName(data)} — ${t(`reasons.${data.reason}`)}`,
      tag: `handoff-${data.id}`, onClick: () => openHandoff(data.id) });
  }
  if (QUEUE_EVENTS.includes(type) || data.queue_changed) loadQueue();
  if (CASE_EVENTS.includes(type)) cases.load();
  if (state.selected != null && String(hid) === String(state.selected) && type !== "typing") openHandoff(state.selected);
}

const stream = new LiveStream({
  types: [...QUEUE_EVENTS, ...CONVERSATION_EVENTS, ...CASE_EVENTS], onEvent: onLiveEvent,
  onOpen: () => { loadQueue(); cases.load(); }, onLoggedOut: () => logout(false), wanted: () => Boolean(state.me),
});

/* ---------- session ---------- */

async function enterApp(me) {
  if (me?.csrf_token) auth.csrf = me.csrf_token;
  state.me = me?.agent || me;
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("me").hidden = false;
  $("me").textContent = state.me.name || state.me.username;
  $("logout").hidden = false;
  $("alerts-open").hidden = false;
  $("help-open").hidden = false;
  setupPrivacy(state.me, () => state.handoff?.conversation_id);
  $("dashboard-link").hidden = state.me.role !== "supervisor"; // agents get 403 there anyway
  loadSeen();
  await loadCanned();
  try { state.agents = listOf(await get("/api/agents"), "agents"); } catch { state.agents = []; }
  await loadQueue();
  await cases.load();
  stream.connect();
}

async function logout(callServer = true) {
  if (callServer) { try { await post("/api/auth/logout"); } catch { /* already gone */ } }
  auth.csrf = null;
  stream.close();
  Object.assign(state, { me: null, selected: null, handoff: null, seen: {}, typingUntil: 0 });
  updateTitle(0);
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  $("me").hidden = true;
  $("logout").hidden = true;
  $("alerts-open").hidden = true;
  $("help-open").hidden = true;
  $("privacy-open").hidden = true;
  $("dashboard-link").hidden = true;
  $("live").hidden = true;
  $("login-username").focus();
}

async function login(e) {
  e.preventDefault();
  const error = $("login-error");
  const button = e.target.querySelector("button[type=submit]");
  error.hidden = true;
  button.disabled = true;
  button.textContent = t("loggingIn");
  try {
    const res = await api("POST", "/api/auth/login", {
      username: $("login-username").value.trim(), password: $("login-password").value,
    });
    auth.csrf = res?.csrf_token || null; // the session itself is the HttpOnly cookie
    askPermission(); // a user gesture: the browser may ask for desktop notifications now
    $("login-password").value = "";
    await enterApp(res?.agent || (await get("/api/me")));
  } catch (err) {
    error.textContent = err instanceof ApiError && err.status === 401 ? t("badLogin")
      : err instanceof ApiError ? err.message : t("errors.network");
    error.hidden = false;
  } finally {
    button.disabled = false;
    button.textContent = t("login");
  }
}

function switchLanguage(lang) {
  setLang(lang);
  applyStatic();
  const live = $("live");
  if (live.classList.contains("on")) live.textContent = t("online");
  if (live.classList.contains("off")) live.textContent = t("offline");
  if (state.me) {
    drawConversation();
    drawQueue();
    cases.draw();
    search?.draw();
  }
}

async function boot() {
  setLang(getLang());
  $("lang-select").value = getLang();
  applyStatic();
  $("lang-select").addEventListener("change", (e) => switchLanguage(e.target.value));
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", () => logout(true));
  $("claim-next").addEventListener("click", claimNext);
  $("transfer-cancel").addEventListener("click", () => $("transfer-dialog").close("cancel"));
  setupAlerts();
  setupShortcuts({ claimNext });
  search = new Search({ open: (id) => openHandoff(id), error: (e) => showError(e) });
  // back on the tab: what is on screen is read
  const back = () => { if (state.me && state.selected != null && watched()) drawQueue(); };
  document.addEventListener("visibilitychange", back);
  window.addEventListener("focus", back);
  setInterval(tick, 1000);
  try {
    await enterApp(await get("/api/me")); // a valid session cookie skips the login form
  } catch {
    $("login-view").hidden = false;
    $("login-username").focus();
  }
}

boot();
