/**
 * Atiende widget: wires the view, the Rasa socket.io connection, the handoff API's agent
 * stream and localStorage together. Entry point: mount(config), called by atiende.js.
 */
import { detectLanguage, translator } from "./i18n.js";
import { WidgetStorage, newMessageId } from "./storage.js";
import { RasaConnection } from "./rasa.js";
import { AgentStream } from "./agent-stream.js";
import { WidgetView } from "./view.js";

const TYPING_TIMEOUT_MS = 15000;

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

  /** Send one shopper message (typed text or a button payload shown as its title). */
  const sendUser = (shown, payload) => {
    const id = newMessageId();
    add({ kind: "user", id, text: shown, payload, status: "sending", ts: new Date().toISOString() });
    connection.send(id, payload ?? shown);
    if (!agentActive) typing(true);
  };

  const view = new WidgetView({
    staticUrl: config.staticUrl,
    t,
    lang,
    title: config.title,
    onSend: (text) => sendUser(text),
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
      connection.retry(id, item.payload ?? item.text);
    },
    onToggle: (open) => { storage.isOpen = open; },
  });

  const agentStream = new AgentStream(config.handoffUrl, (ev) => {
    if (ev.id && seenAgentEvents.has(ev.id)) return;
    if (ev.id) { seenAgentEvents.add(ev.id); storage.setLastAgentEvent(sessionId, ev.id); }
    const base = { agentEventId: ev.id || null, ts: ev.ts };
    if (ev.type === "agent_joined") {
      agentActive = true;
      typing(false);
      if (ev.name) agentName = ev.name;
      add({ ...base, kind: "notice", phase: "joined", text: ev.name ? t("agentJoined", { name: ev.name }) : t("agentJoinedAnon") });
    } else if (ev.type === "agent_message") {
      agentActive = true;
      typing(false);
      add({ ...base, kind: "agent", id: ev.id, text: ev.text, name: ev.name || agentName || t("agent") });
    } else if (ev.type === "agent_left") {
      agentActive = false;
      const name = ev.name || agentName;
      add({ ...base, kind: "notice", phase: "left", text: name ? t("agentLeft", { name }) : t("agentLeftAnon") });
      typing(true); // the assistant takes the conversation back and speaks next
    }
  });

  const connection = new RasaConnection({
    url: config.rasaUrl,
    path: config.socketPath,
    ackTimeoutMs: config.ackTimeoutMs,
    getSessionId: () => sessionId,
    metadata: () => ({ language: lang }),
    onStatus: (online) => view.setOnline(online),
    onSession: (id) => {
      if (id !== sessionId) {
        // A new Rasa session: keep what is on screen (the greeting) under the new id.
        sessionId = id;
        storage.sessionId = id;
        save();
      }
      agentStream.open(id, () => storage.lastAgentEvent(id));
    },
    onBotMessage: (msg) => {
      connection.ackAllSent();
      typing(false);
      if (!msg.text && !msg.quick_replies && !msg.buttons && !msg.attachment) return; // custom payloads
      add(botItem(msg));
    },
    onAck: (id) => setStatus(id, "sent"),
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
    if (item.kind === "user" && item.status === "sending") connection.send(item.id, item.payload ?? item.text);
  }
  if (config.open || storage.isOpen) view.setOpen(true);

  return {
    lang,
    get sessionId() { return sessionId; },
    open: () => view.setOpen(true),
    close: () => view.setOpen(false),
    send: (text) => sendUser(text),
  };
}
