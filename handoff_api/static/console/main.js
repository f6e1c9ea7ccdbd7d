/**
 * Agent console entry point: login, the live SSE stream (queue + conversation events pushed
 * by the server, never polled), state, and the actions wired to the API.
 */
import { api, get, post, auth, ApiError } from "./api.js";
import { el, toast, listOf } from "./dom.js";
import { t, getLang, setLang, applyStatic } from "./i18n.js";
import { renderQueue, tick } from "./queue.js";
import { renderConversation, WINDOW_HINTS } from "./conversation.js";

const state = { me: null, queued: [], mine: [], selected: null, handoff: null, canned: {}, stream: null, agents: [] };
const $ = (id) => document.getElementById(id);

/* ---------- rendering ---------- */

function drawQueue() {
  renderQueue({ queued: state.queued, mine: state.mine, selectedId: state.selected, onOpen: openHandoff, onClaim: claim });
}

function drawConversation({ focusReply = false } = {}) {
  if (!state.handoff) return;
  // Keep what the agent is typing when a live event re-draws the view.
  const reply = $("reply-text")?.value, note = $("note-text")?.value;
  const hadFocus = document.activeElement?.id;
  renderConversation(state.handoff, {
    // Canned replies in the shopper's language (an agent may read Spanish and answer in English).
    me: state.me, canned: state.canned[state.handoff.language] || state.canned[getLang()] || [], agents: state.agents, focusReply, onReply: reply_, onNote: note_, onAction: action,
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
    // A supervisor sees every assigned conversation (with its holder); an agent only their own.
    state.mine = [...assigned, ...all.filter((h) => h.status === "assigned")]
      .filter((h, i, arr) => arr.findIndex((x) => x.id === h.id) === i)
      .filter((h) => state.me.role === "supervisor" || (h.agent_id ?? h.agent?.id) === state.me.id);
    drawQueue();
  } catch (err) { showError(err); }
}

async function openHandoff(id, opts = {}) {
  state.selected = id;
  try {
    state.handoff = await get(`/api/handoffs/${id}`);
    drawQueue();
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
    if (err instanceof ApiError && err.status === 409 && WINDOW_HINTS.test(err.detail)) toast(t("deliveryWindow"), "error");
    else if (err instanceof ApiError && err.status === 409 && /not delivered/i.test(err.detail)) {
      toast(t("deliveryFailed", { error: err.detail.replace(/^.*?:\s*/, "") }), "error");
    } else showError(err);
    await openHandoff(id);
    return err instanceof ApiError && err.status === 409 && /not delivered/i.test(err.detail);
  }
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

async function action(name, h) {
  if (name === "claim") return claim(h.id);
  if (name === "transfer") return openTransfer(h);
  try {
    await post(`/api/handoffs/${h.id}/${name}`);
    toast(name === "resolve" ? t("resolved") : t("handedBack"));
    await loadQueue();
    await openHandoff(h.id);
  } catch (err) { showError(err); }
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

// Event names of GET /api/stream (handoff_api/routes/stream.py).
const QUEUE_EVENTS = ["handoff_created", "handoff_assigned", "handoff_transferred", "handoff_closed"];
const CONVERSATION_EVENTS = ["message", "note"];

function onLiveEvent(type, raw) {
  let data = {};
  try { data = JSON.parse(raw || "{}"); } catch { /* keep {} */ }
  const hid = data.handoff_id ?? data.handoff?.id ?? data.id;
  if (QUEUE_EVENTS.includes(type) || data.queue_changed) loadQueue();
  if (state.selected != null && String(hid) === String(state.selected)) openHandoff(state.selected);
}

function connectStream() {
  state.stream?.close();
  const live = $("live");
  live.hidden = false;
  const src = new EventSource("/api/stream"); // the session cookie authenticates it
  src.onopen = () => { live.textContent = t("online"); live.className = "live on"; loadQueue(); };
  src.onerror = async () => {
    live.textContent = t("offline");
    live.className = "live off";
    if (src.readyState !== EventSource.CLOSED) return; // the browser is already retrying
    // Closed for good (e.g. 401 or the server restarting): check the session, then reconnect.
    try {
      await get("/api/me");
      setTimeout(() => { if (state.me && state.stream === src) connectStream(); }, 3000);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) logout(false);
      else setTimeout(() => { if (state.me && state.stream === src) connectStream(); }, 3000);
    }
  };
  for (const type of [...QUEUE_EVENTS, ...CONVERSATION_EVENTS]) src.addEventListener(type, (e) => onLiveEvent(type, e.data));
  src.onmessage = (e) => onLiveEvent(e.type, e.data);
  state.stream = src;
}

/* ---------- session ---------- */

async function enterApp(me) {
  state.me = me?.agent || me;
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("me").hidden = false;
  $("me").textContent = state.me.name || state.me.username;
  $("logout").hidden = false;
  await loadCanned();
  try { state.agents = listOf(await get("/api/agents"), "agents"); } catch { state.agents = []; }
  await loadQueue();
  connectStream();
}

async function logout(callServer = true) {
  if (callServer) { try { await post("/api/auth/logout"); } catch { /* already gone */ } }
  auth.token = null;
  state.stream?.close();
  Object.assign(state, { me: null, selected: null, handoff: null });
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  $("me").hidden = true;
  $("logout").hidden = true;
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
    auth.token = res?.token || res?.access_token || null;
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
  setInterval(tick, 1000);
  try {
    await enterApp(await get("/api/me")); // a valid cookie or token skips the login form
  } catch {
    $("login-view").hidden = false;
    $("login-username").focus();
  }
}

boot();
