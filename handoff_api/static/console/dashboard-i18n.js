/**
 * The dashboard page's strings (Spanish first). The language choice is the console's
 * (`i18n.js` getLang/setLang), so both pages switch together; handoff reasons reuse the
 * console's labels (`reasons.*`).
 */
import { getLang, t as consoleT } from "./i18n.js";

const STRINGS = {
  es: {
    title: "Atiende · Panel de supervisión", name: "Panel de supervisión",
    back: "Volver a la consola", onlySupervisors: "Este panel es solo para supervisores.",
    notLoggedIn: "Entra en la consola primero.", goLogin: "Ir a la consola",
    from: "Desde", to: "Hasta", channel: "Canal", language: "Idioma", market: "Mercado", all: "Todos",
    apply: "Aplicar", exportCsv: "Exportar CSV", loading: "Cargando…", exported: "CSV descargado.",
    live: "Ahora mismo", queueDepth: "En cola", longestWait: "Espera más larga", agentsOnline: "Agentes conectados",
    withAgents: "Con agentes",
    tiles: {
      conversations: "Conversaciones", containment: "Resueltas por el asistente", handoffRate: "Derivadas a una persona",
      frt: "Primera respuesta (mediana)", tma: "Tiempo de atención (TMA, mediana)", csatBot: "CSAT asistente", csatHuman: "CSAT agentes",
      cesBot: "Esfuerzo (CES) asistente", cesHuman: "Esfuerzo (CES) agentes",
    },
    of: "{n} de {d}", pending: "{n} pendientes de saber si vuelven", ratings: "valoraciones: {n}", handoffs: "derivaciones: {n}",
    seriesTitle: "Conversaciones y resueltas por el asistente", seriesTotal: "Conversaciones", seriesPart: "Resueltas por el asistente",
    byChannel: "Por canal", byLanguage: "Por idioma", contained: "resuelve {rate}",
    heatTitle: "Volumen por día y hora", days: ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"],
    reasonsTitle: "Motivos de derivación", gapsTitle: "Preguntas sin respuesta más frecuentes",
    noGaps: "Ninguna pregunta sin respuesta.", noData: "Sin datos en este periodo.",
    definitions: "Cada cifra está definida en docs/metrics.md.",
    errorLoad: "No se pudieron cargar las cifras: {detail}",
    channels: { socketio: "Web", rest: "Web (REST)", whatsapp: "WhatsApp", messenger: "Messenger", unknown: "Desconocido" },
    languages: { es: "Español", en: "Inglés", unknown: "Desconocido" },
    markets: { ES: "España", MX: "México", AR: "Argentina", CO: "Colombia", US: "Estados Unidos", GB: "Reino Unido", unknown: "Desconocido" },
    byMarket: "Por mercado",
    marketNote: "El mercado se conoce cuando el pedido del cliente está verificado en una conversación derivada; el resto cuenta como «Desconocido».",
    answers: "respuestas: {n}", easy: "fácil o muy fácil",
    movesTitle: "Intervenciones de supervisión",
    moves: { take_over: "Conversaciones tomadas", reassign: "Reasignadas", return: "Devueltas a la cola" },
    agents: {
      title: "Agentes", name: "Agente", presence: "Estado", load: "Carga", supervisor: "supervisor/a",
      presences: { online: "Conectado", away: "Ausente", offline: "Desconectado" },
      none: "No hay agentes activos.", openTitle: "Conversaciones abiertas", noOpen: "No hay conversaciones abiertas.",
      waiting: "en cola desde hace {time}", heldBy: "atendida por {name}",
      takeOver: "Tomar", reassign: "Reasignar", reassignTo: "Reasignar a", returnToQueue: "Devolver a la cola",
      done: { "take-over": "Has tomado la conversación #{id}.", reassign: "Conversación #{id} reasignada a {name}.", "return-to-queue": "Conversación #{id} devuelta a la cola." },
      failed: "No se pudo: {detail}",
    },
  },
  en: {
    title: "Atiende · Supervisor dashboard", name: "Supervisor dashboard",
    back: "Back to the console", onlySupervisors: "This dashboard is for supervisors only.",
    notLoggedIn: "Log in to the console first.", goLogin: "Go to the console",
    from: "From", to: "To", channel: "Channel", language: "Language", market: "Market", all: "All",
    apply: "Apply", exportCsv: "Export CSV", loading: "Loading…", exported: "CSV downloaded.",
    live: "Right now", queueDepth: "In queue", longestWait: "Longest wait", agentsOnline: "Agents online",
    withAgents: "With agents",
    tiles: {
      conversations: "Conversations", containment: "Resolved by the assistant", handoffRate: "Handed to a person",
      frt: "First response (median)", tma: "Handling time (median)", csatBot: "Assistant CSAT", csatHuman: "Agent CSAT",
      cesBot: "Assistant effort (CES)", cesHuman: "Agent effort (CES)",
    },
    of: "{n} of {d}", pending: "{n} not yet known whether they come back", ratings: "ratings: {n}", handoffs: "handoffs: {n}",
    seriesTitle: "Conversations and resolved by the assistant", seriesTotal: "Conversations", seriesPart: "Resolved by the assistant",
    byChannel: "By channel", byLanguage: "By language", contained: "resolves {rate}",
    heatTitle: "Volume by day and hour", days: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    reasonsTitle: "Handoff reasons", gapsTitle: "Most frequent unanswered questions",
    noGaps: "No unanswered questions.", noData: "No data in this period.",
    definitions: "Every number is defined in docs/metrics.md.",
    errorLoad: "Could not load the numbers: {detail}",
    channels: { socketio: "Web", rest: "Web (REST)", whatsapp: "WhatsApp", messenger: "Messenger", unknown: "Unknown" },
    languages: { es: "Spanish", en: "English", unknown: "Unknown" },
    markets: { ES: "Spain", MX: "Mexico", AR: "Argentina", CO: "Colombia", US: "United States", GB: "United Kingdom", unknown: "Unknown" },
    byMarket: "By market",
    marketNote: "The market is known when the shopper's order was verified in a handed-off conversation; the rest counts as \"Unknown\".",
    answers: "answers: {n}", easy: "easy or very easy",
    movesTitle: "Supervisor interventions",
    moves: { take_over: "Conversations taken over", reassign: "Reassigned", return: "Returned to the queue" },
    agents: {
      title: "Agents", name: "Agent", presence: "Status", load: "Load", supervisor: "supervisor",
      presences: { online: "Online", away: "Away", offline: "Offline" },
      none: "No active agents.", openTitle: "Open conversations", noOpen: "No open conversations.",
      waiting: "queued for {time}", heldBy: "handled by {name}",
      takeOver: "Take over", reassign: "Reassign", reassignTo: "Reassign to", returnToQueue: "Return to queue",
      done: { "take-over": "You took over conversation #{id}.", reassign: "Conversation #{id} reassigned to {name}.", "return-to-queue": "Conversation #{id} returned to the queue." },
      failed: "Could not do it: {detail}",
    },
  },
};

/** d("tiles.conversations"), d("of", {n: 2, d: 5}); falls back to Spanish, then the key. */
export function d(key, fields = {}) {
  const look = (table) => key.split(".").reduce((o, k) => (o == null ? o : o[k]), table);
  const value = look(STRINGS[getLang()]) ?? look(STRINGS.es) ?? key;
  return Array.isArray(value) ? value : String(value).replace(/\{(\w+)\}/g, (_, k) => fields[k] ?? "");
}

/** A handoff reason's label from the console's catalogue (the raw value if it has none). */
export function reasonLabel(reason) {
  const label = consoleT(`reasons.${reason}`);
  return label === `reasons.${reason}` ? reason : label;
}

const locale = () => (getLang() === "en" ? "en-GB" : "es-ES");

/** 0.4523 → "45 %" / "45%"; null → "—". */
export function percent(rate) {
  if (rate == null) return "—";
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(rate);
}

export function number(value, digits = 0) {
  if (value == null) return "—";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(value);
}

/** Seconds → "45 s", "3 min 05 s", "1 h 02 min". */
export function seconds(value) {
  if (value == null) return "—";
  const s = Math.round(value);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}
