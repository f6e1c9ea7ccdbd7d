/** Console UI strings (Spanish first) and small formatting helpers. */

const STRINGS = {
  es: {
    appTitle: "Atiende · Consola de agentes", consoleName: "Consola de agentes",
    loginTitle: "Entrar en la consola", username: "Usuario", password: "Contraseña", login: "Entrar",
    logout: "Salir", loggingIn: "Entrando…", badLogin: "Usuario o contraseña incorrectos.", language: "Idioma",
    queue: "En espera", mine: "Mis conversaciones", emptyQueue: "No hay nadie esperando.",
    emptyMine: "No tienes conversaciones abiertas.", pickOne: "Elige una conversación de la cola.",
    waiting: "esperando {time}", claim: "Atender", claimNext: "Atender la siguiente", vip: "VIP",
    reason: "Motivo", channel: "Canal", lang: "Idioma", status: "Estado",
    transcript: "Conversación", packet: "Contexto", order: "Pedido", noOrder: "Sin pedido identificado.",
    slots: "Datos recogidos", kb: "Artículos mostrados", intents: "Historial de intenciones", customer: "Cliente",
    none: "—", reply: "Responder", replyPlaceholder: "Escribe tu respuesta al cliente…", send: "Enviar",
    canned: "Respuestas rápidas", cannedPick: "Insertar respuesta rápida…",
    notes: "Notas internas", notePlaceholder: "Nota solo visible para el equipo…", addNote: "Guardar nota",
    noNotes: "Sin notas.", resolve: "Resolver", handBack: "Devolver al asistente", transfer: "Transferir",
    transferTo: "Transferir a…", transferPick: "Elige un agente", confirmTransfer: "Transferir",
    cancel: "Cancelar", you: "Tú", shopper: "Cliente", bot: "Asistente", agent: "Agente",
    online: "En directo", offline: "Sin conexión, reconectando…",
    deliveryFailed: "No se entregó: {error}", deliveryWindow: "No se puede entregar: fuera de la ventana de 24 h de WhatsApp. El cliente debe escribir primero.",
    claimed: "Conversación asignada.", resolved: "Conversación resuelta.", handedBack: "Devuelta al asistente.",
    transferred: "Conversación transferida.", noteSaved: "Nota guardada.",
    assignedTo: "Atendida por {name}", assignedToMe: "Atendida por ti", closed: "Cerrada ({status})",
    reasons: {
      asked: "Pidió una persona", frustration: "Queja / frustración", legal_or_fraud: "Legal o fraude",
      repeated_fallback: "El asistente no entendió", approval_required: "Requiere aprobación",
      backend_error: "Error del sistema", verification_failed: "Verificación fallida",
    },
    yes: "Sí", no: "No", visitor: "Visitante",
    fields: { vip: "VIP", name: "Nombre", email: "Correo", phone: "Teléfono", order_id: "Pedido", status: "Estado",
      total: "Total", language: "Idioma", customer_contact: "Contacto", return_item: "Artículo", return_reason: "Motivo devolución",
      new_address: "Nueva dirección", created_at: "Fecha", carrier: "Transportista", tracking: "Seguimiento" },
    statuses: { queued: "En cola", assigned: "Asignada", resolved: "Resuelta", handed_back: "Devuelta", abandoned: "Abandonada" },
    errors: {
      network: "No se pudo contactar con el servidor. Comprueba la conexión.",
      401: "Tu sesión ha caducado o los datos no son correctos.", 403: "No tienes permiso para hacer esto.",
      404: "No se encontró: {detail}", 409: "No se pudo: {detail}",
      413: "El mensaje es demasiado largo.", 422: "Datos no válidos: {detail}", 500: "Error del servidor. Inténtalo de nuevo.",
      generic: "Error ({status}): {detail}",
    },
  },
  en: {
    appTitle: "Atiende · Agent console", consoleName: "Agent console",
    loginTitle: "Sign in to the console", username: "Username", password: "Password", login: "Sign in",
    logout: "Sign out", loggingIn: "Signing in…", badLogin: "Wrong username or password.", language: "Language",
    queue: "Waiting", mine: "My conversations", emptyQueue: "Nobody is waiting.",
    emptyMine: "You have no open conversations.", pickOne: "Pick a conversation from the queue.",
    waiting: "waiting {time}", claim: "Claim", claimNext: "Claim next", vip: "VIP",
    reason: "Reason", channel: "Channel", lang: "Language", status: "Status",
    transcript: "Conversation", packet: "Context", order: "Order", noOrder: "No order identified.",
    slots: "Collected data", kb: "Articles shown", intents: "Intent history", customer: "Customer",
    none: "—", reply: "Reply", replyPlaceholder: "Type your reply to the customer…", send: "Send",
    canned: "Canned replies", cannedPick: "Insert a canned reply…",
    notes: "Internal notes", notePlaceholder: "Note visible to the team only…", addNote: "Save note",
    noNotes: "No notes.", resolve: "Resolve", handBack: "Hand back to assistant", transfer: "Transfer",
    transferTo: "Transfer to…", transferPick: "Choose an agent", confirmTransfer: "Transfer",
    cancel: "Cancel", you: "You", shopper: "Customer", bot: "Assistant", agent: "Agent",
    online: "Live", offline: "Offline, reconnecting…",
    deliveryFailed: "Not delivered: {error}", deliveryWindow: "Cannot deliver: outside WhatsApp's 24-hour window. The customer must write first.",
    claimed: "Conversation assigned.", resolved: "Conversation resolved.", handedBack: "Handed back to the assistant.",
    transferred: "Conversation transferred.", noteSaved: "Note saved.",
    assignedTo: "Handled by {name}", assignedToMe: "Handled by you", closed: "Closed ({status})",
    reasons: {
      asked: "Asked for a person", frustration: "Complaint / frustration", legal_or_fraud: "Legal or fraud",
      repeated_fallback: "Assistant did not understand", approval_required: "Needs approval",
      backend_error: "System error", verification_failed: "Verification failed",
    },
    yes: "Yes", no: "No", visitor: "Visitor",
    fields: { vip: "VIP", name: "Name", email: "Email", phone: "Phone", order_id: "Order", status: "Status",
      total: "Total", language: "Language", customer_contact: "Contact", return_item: "Item", return_reason: "Return reason",
      new_address: "New address", created_at: "Date", carrier: "Carrier", tracking: "Tracking" },
    statuses: { queued: "Queued", assigned: "Assigned", resolved: "Resolved", handed_back: "Handed back", abandoned: "Abandoned" },
    errors: {
      network: "Could not reach the server. Check your connection.",
      401: "Your session expired or the credentials are wrong.", 403: "You are not allowed to do this.",
      404: "Not found: {detail}", 409: "Could not do it: {detail}",
      413: "The message is too long.", 422: "Invalid input: {detail}", 500: "Server error. Please try again.",
      generic: "Error ({status}): {detail}",
    },
  },
};

let current = localStorage.getItem("atiende-console:lang") ||
  ((navigator.language || "es").toLowerCase().startsWith("en") ? "en" : "es");

export const getLang = () => current;
export function setLang(lang) {
  current = lang === "en" ? "en" : "es";
  localStorage.setItem("atiende-console:lang", current);
  document.documentElement.lang = current;
}

/** t("waiting", {time: "2:05"}); dotted keys reach nested tables: t("reasons.asked"). */
export function t(key, fields = {}) {
  const look = (table) => key.split(".").reduce((o, k) => (o == null ? o : o[k]), table);
  const value = look(STRINGS[current]) ?? look(STRINGS.es) ?? key;
  return String(value).replace(/\{(\w+)\}/g, (_, k) => fields[k] ?? "");
}

/** Fill every [data-i18n] / [data-i18n-placeholder] / [data-i18n-aria] in the page. */
export function applyStatic(root = document) {
  for (const n of root.querySelectorAll("[data-i18n]")) n.textContent = t(n.dataset.i18n);
  for (const n of root.querySelectorAll("[data-i18n-placeholder]")) n.placeholder = t(n.dataset.i18nPlaceholder);
  for (const n of root.querySelectorAll("[data-i18n-aria]")) n.setAttribute("aria-label", t(n.dataset.i18nAria));
  document.title = t("appTitle");
}

/** "0:42", "5:07", "1:02:09" — waiting time that ticks every second. */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
}

/** API timestamps are ISO strings; packet transcripts may carry epoch seconds. */
export function toDate(ts) {
  if (typeof ts === "number" || /^\d+(\.\d+)?$/.test(String(ts ?? ""))) {
    const n = Number(ts);
    return new Date(n < 1e12 ? n * 1000 : n);
  }
  return new Date(ts);
}

/** A human label for the shopper: name, else email / phone, else "Visitante #12". */
export function shopperName(h) {
  const c = h.customer || h.packet?.customer || {};
  return c.name || c.email || c.phone || `${t("visitor")} #${h.id}`;
}

export function clock(ts) {
  const d = toDate(ts);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString(current === "en" ? "en-GB" : "es-ES", { hour: "2-digit", minute: "2-digit" });
}
