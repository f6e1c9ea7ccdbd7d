/** UI strings of the widget. Spanish first; English for shoppers whose browser asks for it. */

const STRINGS = {
  es: {
    title: "Asistente de la tienda",
    subtitle: "Respondemos al momento · también personas",
    open: "Abrir el chat de ayuda",
    close: "Cerrar el chat",
    placeholder: "Escribe tu mensaje…",
    send: "Enviar",
    typing: "El asistente está escribiendo…",
    you: "Tú",
    assistant: "Asistente",
    agent: "Agente",
    agentJoined: "{name} se ha unido a la conversación.",
    agentLeft: "{name} ha salido de la conversación.",
    agentJoinedAnon: "Una persona del equipo se ha unido a la conversación.",
    agentLeftAnon: "La persona del equipo ha salido de la conversación. Vuelves a hablar con el asistente.",
    sending: "Enviando…",
    failed: "No se pudo enviar.",
    retry: "Reintentar",
    offline: "Sin conexión. Reconectando…",
    online: "Conectado",
    greeting: "¡Hola! Soy el asistente de la tienda. Pregúntame por tu pedido, devoluciones o envíos, o pide hablar con una persona.",
    log: "Conversación",
    newConversation: "Nueva conversación",
  },
  en: {
    title: "Store assistant",
    subtitle: "Instant answers · people too",
    open: "Open the help chat",
    close: "Close the chat",
    placeholder: "Type your message…",
    send: "Send",
    typing: "The assistant is typing…",
    you: "You",
    assistant: "Assistant",
    agent: "Agent",
    agentJoined: "{name} has joined the conversation.",
    agentLeft: "{name} has left the conversation.",
    agentJoinedAnon: "A member of our team has joined the conversation.",
    agentLeftAnon: "Our team member has left the conversation. You are back with the assistant.",
    sending: "Sending…",
    failed: "Could not send.",
    retry: "Retry",
    offline: "Offline. Reconnecting…",
    online: "Connected",
    greeting: "Hi! I'm the store assistant. Ask me about your order, returns or shipping, or ask to talk to a person.",
    log: "Conversation",
    newConversation: "New conversation",
  },
};

/** Pick "es" or "en": English only when the browser prefers it; Spanish otherwise. */
export function detectLanguage(forced) {
  const wanted = (forced || navigator.language || "es").toLowerCase();
  return wanted.startsWith("en") ? "en" : "es";
}

/** Returns a translator bound to one language: t("agentJoined", {name: "Ana"}). */
export function translator(lang) {
  const table = STRINGS[lang] || STRINGS.es;
  return (key, fields = {}) =>
    (table[key] ?? STRINGS.es[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => fields[k] ?? "");
}
