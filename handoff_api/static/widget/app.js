/**
 * Atiende widget: wires the view, the Rasa socket.io connection, the handoff API's agent
 * stream and localStorage together. Entry point: mount(config), called by atiende.js.
 */
import { detectLanguage, translator } from "./i18n.js";
import { WidgetStorage, newMessageId } from "./storage.js";
import { RasaConnection } from "./rasa.js";
import { AgentStream } from "./agent-stream.js";
import { WidgetView } from "./view.js";
import { QueueWatcher } from "./queue-status.js";
import { withdrawalFunction } from "./menu.js";
import { TypingSignal } from "./typing.js";

const TYPING_TIMEOUT_MS = 15000;
const LEAVE_PAYLOAD = "/leave_queue"; // understood by Rasa's handoff gate while queued
// ack statuses that mean a person (not the bot) will read the message: no typing dots
const FOR_A_PERSON = new Set(["forwarded", "queued", "duplicate", "too_long", "slow_down", "busy", "invalid"]);
// ack statuses of a message the bot did not read (this shopper wrote too fast, or the bot is
// answering too many people at once): the bot said so in the shopper's language; the message is
// shown as not sent, with "Retry" (same id: it runs once)
const NOT_READ = new Set(["slow_down", "busy"]);

/** Turn one socket.io `bot_uttered` payload into a transcript item. */
export function botItem(msg) {
  const raw = msg.quick_replies || msg.buttons || [];
  const buttons = raw
    .map((b) => ({ title: b.title ?? b.payload, payload: b.payload ?? b.title }))
    .filter((b) => b.title);
  const image = msg.attachment?.payload?.src || msg.image || null;
  return { kind: "bot", id: newMessageId(), text: msg.text || "", buttons, image, ts: new Date().toISOString() };
}

export function mount(config) {
  const lang = detectLanguage(config.language);
  const t = translator(lang);
  const storage = new WidgetStorage(config.rasaUrl.replace(/^https?:\/\//, ""));
  let sessionId = storage.sessionId;
  let token = storage.token; // the conversation's secret (see storage.js)
  let items = sessionId ? storage.loadTranscript(sessionId) : [];
  // After a reload, an agent is still with the shopper if the last join/leave notice was a join.
  let agentActive = [...items].reverse().find((i) => i.phase)?.phase === "joined";
  let agentName = [...items].reverse().find((i) => i.kind === "agent")?.name || null;
  let typingTimer = null;
  const seenAgentEvents = new Set(items.filter((i) => i.agentEventId).map((i) => i.agentEventId));

  const save = () => { if (sessionId) storage.saveTranscript(sessionId, items); };
  const add = (item) => { items.push(item); save(); view.render(item); return item; };
  const typing = (on) => {
    clearTimeout(typingTimer);
    view.showTyping(on);
    if (on) typingTimer = setTimeout(() => view.showTyping(false), TYPING_TIMEOUT_MS);
  };
  const setStatus = (id, status) => {
    const item = items.find((i) => i.id === id && i.kind === "user");
    if (item) { item.status = status; save(); }
    view.setDelivery(id, status);
  };

  /** Send one shopper message (typed text or a button payload shown as its title). The typing
   *  dots promise an answer from the bot: never while a person has (or is about to have) the
   *  conversation, since nobody may answer for a while. */
  const sendUser = (shown, payload) => {
    typingSignal.stop();
    const id = newMessageId();
    add({ kind: "user", id, text: shown, payload, status: "sending", ts: new Date().toISOString() });
    connection.send(id, payload ?? shown);
    if (!agentActive && queue.state.status === "none") typing(true);
  };

  const mediaUrls = new Map(); // key -> blob: URL (read once per page)
  const loadMedia = async (key) => {
    if (mediaUrls.has(key)) return mediaUrls.get(key);
    const res = await fetch(`${config.handoffUrl}/api/widget/media/${encodeURIComponent(key)}`,
      { headers: { "X-Atiende-Conversation": token || "" }, credentials: "omit" });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const url = URL.createObjectURL(await res.blob());
    mediaUrls.set(key, url);
    return url;
  };

  /** The attachment button: upload the photo to the handoff API (stored privately, checked by
   *  content there), then tell the bot in a message whose metadata names the stored key: the
   *  claim form takes it when it waits for a photo, an agent sees it when one has the chat. */
  const attach = async (file) => {
    const t2 = t;
    const maxMb = Number(config.maxPhotoMb) || 10;
    if (!["image/jpeg", "image/png", "image/webp"].includes(file.type)) {
      add({ kind: "notice", text: t2("photoWrongType"), ts: new Date().toISOString() });
      return;
    }
    if (file.size > maxMb * 1024 * 1024) {
      add({ kind: "notice", text: t2("photoTooLarge", { mb: maxMb }), ts: new Date().toISOString() });
      return;
    }
    if (!token || !sessionId) {
      add({ kind: "notice", text: t2("photoFailed"), ts: new Date().toISOString() });
      return;
    }
    view.attachButton.disabled = true;
    let res;
    try {
      res = await fetch(`${config.handoffUrl}/api/widget/media`, {
        method: "POST", body: file, credentials: "omit",
        headers: { "Content-Type": file.type, "X-Atiende-Conversation": token,
          "X-Filename": encodeURIComponent(file.name || "") },
      });
    } catch { res = null; }
    view.attachButton.disabled = false;
    if (!res || res.status !== 201) {
      const key = res?.status === 413 ? "photoTooLarge" : res?.status === 415 ? "photoWrongType" : "photoFailed";
      add({ kind: "notice", text: t2(key, { mb: maxMb }), ts: new Date().toISOString() });
      return;
    }
    const stored = await res.json();
    mediaUrls.set(stored.key, URL.createObjectURL(file));
    const id = newMessageId();
    const media = { key: stored.key, kind: stored.kind, filename: stored.filename };
    add({ kind: "user", id, text: t2("photoSent"), payload: t2("photoLabel"), media, extra: { media: [stored.key] },
      status: "sending", ts: new Date().toISOString() });
    connection.send(id, t2("photoLabel"), { media: [stored.key] });
  };

  const view = new WidgetView({
    staticUrl: config.staticUrl,
    t,
    lang,
    title: config.title,
    onSend: (text) => sendUser(text),
    onInput: (text) => typingSignal.input(text),
    onAttach: (file) => attach(file),
    loadMedia: (key) => loadMedia(key),
    onButton: (title, payload, item) => {
      item.buttonsUsed = true;
      item.chosen = payload;
      save();
      sendUser(title, payload);
    },
    onRetry: (id) => {
      const item = items.find((i) => i.id === id);
      if (!item) return;
      setStatus(id, "sending");
      connection.retry(id, item.payload ?? item.text, item.extra || null);
    },
    onToggle: (open) => { storage.isOpen = open; },
    onLeaveQueue: () => sendUser(t("leaveQueueSent"), LEAVE_PAYLOAD),
  });
  // the agent sees "typing…" while a person has the conversation (or it waits for one)
  const typingSignal = new TypingSignal(config.handoffUrl, () => token,
    () => agentActive || queue.state.status !== "none");
  const queue = new QueueWatcher(config.handoffUrl, (state) => {
    view.showQueue(state);
    if (state.status !== "none") typing(false);
  });

  const agentStream = new AgentStream(config.handoffUrl, (ev) => {
    if (ev.id && seenAgentEvents.has(ev.id)) return;
    if (ev.id) { seenAgentEvents.add(ev.id); storage.setLastAgentEvent(sessionId, ev.id); }
    const base = { agentEventId: ev.id || null, ts: ev.ts };
    if (ev.type === "agent_joined") {
      agentActive = true;
      typing(false);
      queue.notify("agent_joined");
      if (ev.name) agentName = ev.name;
      add({ ...base, kind: "notice", phase: "joined", text: ev.name ? t("agentJoined", { name: ev.name }) : t("agentJoinedAnon") });
    } else if (ev.type === "agent_message") {
      agentActive = true;
      typing(false);
      add({ ...base, kind: "agent", id: ev.id, text: ev.text, media: ev.media || null, name: ev.name || agentName || t("agent") });
    } else if (ev.type === "agent_left") {
      agentActive = false;
      const name = ev.name || agentName;
      add({ ...base, kind: "notice", phase: "left", text: name ? t("agentLeft", { name }) : t("agentLeftAnon") });
      typing(true); // the assistant takes the conversation back and speaks next
      queue.notify("agent_left");
    }
  }, (type) => queue.notify(type));

  const connection = new RasaConnection({
    url: config.rasaUrl,
    path: config.socketPath,
    ackTimeoutMs: config.ackTimeoutMs,
    getSessionId: () => sessionId,
    getToken: () => token,
    onToken: (id, issued) => {
      if (id !== sessionId) {
        // A new conversation (first visit, or the stored one could not be proven): keep what
        // is on screen (the greeting) under the new id.
        sessionId = id;
        storage.sessionId = id;
        save();
      }
      token = issued;
      storage.token = issued;
    },
    metadata: () => ({ language: lang }),
    onStatus: (online) => view.setOnline(online),
    onSession: (id) => {
      if (id !== sessionId) {
        // A new Rasa session: keep what is on screen (the greeting) under the new id.
        sessionId = id;
        storage.sessionId = id;
        save();
      }
      agentStream.open(id, token, () => storage.lastAgentEvent(id));
      queue.setConversation(id, token);
    },
    onConfig: (cfg) => view.setMaxChars(Number(cfg.max_message_chars)),
    onBotMessage: (msg) => {
      connection.ackAllSent();
      typing(false);
      if (!msg.text && !msg.quick_replies && !msg.buttons && !msg.attachment) return; // custom payloads
      add(botItem(msg));
    },
    onAck: (id, status) => {
      setStatus(id, NOT_READ.has(status) ? "failed" : "sent");
      if (FOR_A_PERSON.has(status)) typing(false);
      if (status === "rasa" && queue.waiting) queue.refresh(); // e.g. left the queue
    },
    onFailed: (id) => { typing(false); setStatus(id, "failed"); },
  });

  // Re-draw the stored conversation, then greet only a brand-new shopper.
  for (const item of items) view.render(item);
  if (!items.length) {
    items.push({ kind: "bot", id: newMessageId(), text: t("greeting"), buttons: [], ts: new Date().toISOString() });
    view.render(items[0]);
  }
  view.setOnline(false);
  connection.connect();
  // Messages typed just before a reload were never acknowledged: send them again (same id).
  for (const item of items) {
    if (item.kind === "user" && item.status === "sending") connection.send(item.id, item.payload ?? item.text, item.extra || null);
  }
  if (config.open || storage.isOpen) view.setOpen(true);
  /** A fixed request (a menu item, the store page's withdrawal button): open and send it. */
  const request = (title, payload) => { view.setOpen(true); sendUser(title, payload); };
  withdrawalFunction(config.handoffUrl, config.market, lang).then((fn) => {
    if (fn) view.menu.add(fn.label, () => request(fn.label, fn.payload), "withdraw");
  });

  return {
    lang,
    get sessionId() { return sessionId; },
    open: () => view.setOpen(true),
    close: () => view.setOpen(false),
    send: (text) => sendUser(text),
    request,
  };
}
