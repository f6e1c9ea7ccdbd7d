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
    media: "Fotos y archivos", noMedia: "Sin fotos ni archivos.", mediaOpen: "Abrir en tamaño completo",
    attachFile: "Adjuntar foto o documento", mediaSent: "Archivo enviado.", mediaAlt: "Foto del cliente",
    cannedWithImage: "(con imagen)",
    notes: "Notas internas", notePlaceholder: "Nota solo visible para el equipo…", addNote: "Guardar nota",
    noNotes: "Sin notas.", resolve: "Resolver", handBack: "Devolver al asistente", transfer: "Transferir",
    transferTo: "Transferir a…", transferPick: "Elige un agente", confirmTransfer: "Transferir",
    cancel: "Cancelar", you: "Tú", shopper: "Cliente", bot: "Asistente", agent: "Agente",
    online: "En directo", offline: "Sin conexión, reconectando…",
    deliveryFailed: "No se entregó: {error}", deliveryWindow: "No se puede entregar: fuera de la ventana de 24 h de WhatsApp. El cliente debe escribir primero.",
    // why a reply was not delivered: the API's delivery_reason (handoff_api/delivery_status.py)
    deliveryReasons: {
      interrupted: "el envío se cortó (el servidor se detuvo) y puede que no le haya llegado al cliente",
      window_closed: "fuera de la ventana de mensajes de {channel}; el cliente debe escribir primero",
      unreachable: "no se pudo conectar con {channel}",
      not_configured: "el canal {channel} no está configurado para enviar mensajes",
      unsupported: "este tipo de mensaje no se puede enviar por {channel}",
      refused: "{channel} rechazó el mensaje",
      email: "el e-mail no se pudo enviar",
      other: "error del canal {channel}",
    },
    resend: "Reenviar", resending: "Reenviando…", resent: "Mensaje reenviado.",
    replyNotDelivered: "Tu mensaje no llegó al cliente: el motivo está en la conversación; puedes reenviarlo.",
    claimed: "Conversación asignada.", resolved: "Conversación resuelta.", handedBack: "Devuelta al asistente.",
    transferred: "Conversación transferida.", noteSaved: "Nota guardada.",
    assignedTo: "Atendida por {name}", assignedToMe: "Atendida por ti", closed: "Cerrada ({status})",
    reasons: {
      asked: "Pidió una persona", frustration: "Queja / frustración", legal_or_fraud: "Legal o fraude",
      repeated_fallback: "El asistente no entendió", approval_required: "Requiere aprobación",
      backend_error: "Error del sistema", verification_failed: "Verificación fallida",
      answered_from_phone: "Respondido desde el teléfono",
      withdrawal: "Desistimiento (derecho legal)",
    },
    offlineTitle: "Casos por responder", emptyOffline: "No hay casos pendientes.",
    dashboardLink: "Panel de supervisión",
    due: "responder antes de {time}", overdue: "¡plazo vencido! ({time})", dueSoon: "vence pronto ({time})",
    offlineState: "Caso offline: respuesta prometida antes de {time}",
    followUpTitle: "Responder el caso", followUpPlaceholder: "Tu respuesta al cliente (le llegará por su canal o por e-mail)…",
    followUpSend: "Enviar respuesta", followUpVia: "Enviar por",
    via: { auto: "Automático (su canal si está conectado; si no, e-mail)", channel: "Su canal ({channel})", email: "E-mail ({email})" },
    noEmail: "Sin e-mail conocido: solo por su canal.",
    followUpSent: "Respuesta entregada ({via}). Caso resuelto.", followUpQueued: "Respuesta guardada; el e-mail se reintentará: {error}",
    viaNames: { email: "por e-mail", channel: "por su canal" },
    emailSending: "E-mail pendiente de envío (se reintenta automáticamente).", byEmail: "✉ e-mail",
    deadTitle: "Mensajes no entregados", emptyDead: "Ninguno.",
    deadHelp: "Estos mensajes del cliente no llegaron ni a una persona ni al asistente. Léelos; si necesitan respuesta, abre la conversación y contesta (o escribe al cliente por e-mail si lo conoces). Después márcalos como atendidos.",
    deadCauses: { too_large: "Demasiado largo para la cola", invalid: "Formato no válido para la cola",
      no_handoff: "La conversación ya no tenía traspaso abierto", conflict: "Conflicto de estado", other: "No se pudo entregar" },
    openConversation: "Abrir conversación", dismiss: "Marcar como atendido", dismissed: "Marcado como atendido.",
    noConversation: "Sin conversación con el equipo",
    leftQueuePressed: "(El cliente pulsó «Volver al asistente»)",
    yes: "Sí", no: "No", visitor: "Visitante",
    fields: { vip: "VIP", name: "Nombre", email: "Correo", phone: "Teléfono", order_id: "Pedido", status: "Estado",
      total: "Total", language: "Idioma", customer_contact: "Contacto", return_item: "Artículo", return_reason: "Motivo devolución",
      new_address: "Nueva dirección", store_request: "Solicitud para la tienda", created_at: "Fecha", carrier: "Transportista", tracking: "Seguimiento",
      // context panel (context.js): the order snapshot, its lines, returns and refunds, and every slot of domain.yml
      id: "Referencia", market: "Mercado", currency: "Moneda", total_cents: "Total", payment_method: "Pago", placed_at: "Fecha del pedido",
      shipping_address: "Dirección de envío", tracking_number: "N.º de seguimiento", tracking_url: "Seguimiento", shipped_at: "Enviado el",
      estimated_delivery: "Entrega prevista", delivered_at: "Entregado el", cancelled_at: "Cancelado el", items: "Artículos",
      returns: "Devoluciones", refunds: "Reembolsos", sku: "SKU", category: "Categoría", size: "Talla", quantity: "Cantidad",
      unit_price_cents: "Precio unidad", final_sale: "Venta final", rma: "RMA", reason: "Motivo", kind: "Tipo",
      refund_cents: "Importe a reembolsar", label_url: "Etiqueta", amount_cents: "Importe", method: "Método", completed_at: "Completado el",
      item_ids: "Artículos", verified_order_id: "Pedido verificado", verification_attempts: "Intentos de verificación",
      customer_vip: "Cliente VIP", cancel_confirm: "Confirma la cancelación", return_seal: "Precinto intacto", return_exchange: "Cambio por",
      return_confirm: "Confirma la devolución", claim_item: "Artículo reclamado", claim_photo: "Foto", claim_remedy: "Solución pedida",
      claim_confirm: "Confirma la reclamación", claim_photo_asks: "Veces que se pidió foto", claim_description: "Descripción del problema",
      kb_last_article: "Último artículo mostrado", kb_articles_shown: "Artículos mostrados", handoff_reason: "Motivo del traspaso",
      csat_offered: "Valoración ofrecida", problem: "Problema", rating: "Valoración", csat_comment: "Comentario de la valoración",
      product: "Producto", product_size: "Talla", product_colour: "Color" },
    orderStatuses: { pending: "Pendiente de pago", paid: "Pagado", shipped: "Enviado", in_transit: "En camino", delivered: "Entregado",
      cancelled: "Cancelado", returned: "Devuelto", refunded: "Reembolsado" },
    returnStatuses: { requested: "Solicitada", open: "Abierta", label_sent: "Etiqueta enviada", received: "Recibida", refunded: "Reembolsada",
      closed: "Cerrada", declined: "Rechazada", cancelled: "Cancelada" },
    refundStatuses: { pending: "Pendiente", processing: "En proceso", completed: "Completado", failed: "Fallido" },
    payments: { card: "Tarjeta", paypal: "PayPal", bank_transfer: "Transferencia bancaria", cash_on_delivery: "Contra reembolso",
      mercadopago: "Mercado Pago", pse: "PSE", oxxo: "OXXO" },
    kinds: { refund: "Reembolso", exchange: "Cambio" },
    markets: { ES: "España", MX: "México", AR: "Argentina", CO: "Colombia", US: "Estados Unidos" },
    languages: { es: "Español", en: "Inglés" },
    channels: { socketio: "Chat web", rest: "Chat web", webchat: "Chat web", whatsapp: "WhatsApp", messenger: "Messenger",
      facebook: "Messenger", email: "E-mail" },
    finalSale: "venta final", sizeOf: "talla {size}", open_: "Abrir", moreFields: "Más datos",
    button: "botón", buttonTapped: "Pulsó el botón «{title}»",
    unread: "{n} sin leer", typing: "El cliente está escribiendo…",
    confirm: {
      resolveTitle: "¿Resolver la conversación?",
      resolveText: "El asistente retoma la conversación y pide al cliente que valore la atención.",
      handBackTitle: "¿Devolver la conversación al asistente?",
      handBackText: "Vuelve al asistente sin marcarla como resuelta: lo que el cliente escriba después lo contesta el asistente.",
    },
    alerts: {
      open: "Avisos", title: "Avisos", sound: "Sonido", titleCount: "Número en el título de la pestaña",
      desktop: "Notificaciones del escritorio", denied: "El navegador tiene bloqueadas las notificaciones de esta página.",
      explain: "Cuando entra una conversación en la cola o te escribe un cliente.", close: "Cerrar",
      newQueue: "Nueva conversación en espera", newMessage: "Mensaje de {name}",
    },
    search: {
      title: "Buscar conversaciones", placeholder: "Texto, pedido, correo, teléfono", go: "Buscar",
      none: "Sin resultados.", more: "Ver más", notReadable: "Atendida por {name}: solo la puede leer quien la atendió o supervisión.",
      history: "Historial del cliente", noHistory: "Sin otras conversaciones de este cliente.", current: "esta conversación",
      results: "{n} resultados", help: "Cerradas. Por correo o teléfono verificados: todo el historial del cliente.",
    },
    help: {
      open: "Atajos de teclado", title: "Atajos de teclado", close: "Cerrar",
      claimNext: "Atender la siguiente conversación", send: "Enviar la respuesta (en el cuadro de respuesta)",
      canned: "Insertar la respuesta rápida 1–9", cannedMenu: "Abrir las respuestas rápidas", search: "Buscar conversaciones",
      help: "Mostrar esta ayuda", escape: "Cerrar un diálogo",
    },
    statuses: { queued: "En cola", assigned: "Asignada", resolved: "Resuelta", handed_back: "Devuelta", abandoned: "Abandonada", offline: "Caso offline" },
    privacy: {
      open: "Borrar datos de un cliente", title: "Borrar los datos de un cliente",
      explain: "Se borran sus conversaciones, mensajes, notas y archivos en todos los sistemas. No se puede deshacer.",
      conversation: "ID de conversación", email: "Correo verificado", phone: "Teléfono verificado (con prefijo)",
      check: "Comprobar", confirm: "Borrar definitivamente", close: "Cerrar",
      needOne: "Indica al menos un ID de conversación, un correo o un teléfono.",
      preview: "Conversaciones de este cliente que se borrarán: {n}.",
      done: "Datos borrados. Conversaciones: {n}. No queda rastro (registro {id}).",
      incomplete: "El borrado no se completó (registro {id}). Revisa los registros del servidor.",
    },
    // the reply box's WhatsApp / Messenger tools (channel-tools.js)
    channelTools: {
      sent: "Enviado", delivered: "Entregado", read: "Leído", failed: "No entregado",
      template: "Plantilla {name}", echo: "Respondido desde el teléfono",
      windowTemplate: "Han pasado más de 24 horas desde el último mensaje del cliente: WhatsApp solo permite enviar una plantilla aprobada. Cuando el cliente responda podrás escribirle libremente.",
      windowHumanAgent: "Más de 24 horas sin mensajes del cliente: tu respuesta se enviará con la etiqueta HUMAN_AGENT de Messenger (permitida hasta {time}).",
      messenger_7_days_passed: "Han pasado más de 7 días desde el último mensaje del cliente: Messenger no permite enviarle nada hasta que vuelva a escribir.",
      messenger_human_agent_not_enabled: "Han pasado más de 24 horas desde el último mensaje del cliente: Messenger solo permite responder con la etiqueta HUMAN_AGENT, que esta página no tiene activada (MESSENGER_HUMAN_AGENT_TAG).",
      pickTemplate: "Plantilla", choose: "Elige una plantilla…", noTemplates: "No hay plantillas aprobadas para responder. Un supervisor puede sincronizarlas desde Meta.",
      preview: "Vista previa (lo que leerá el cliente, en {lang})", sendTemplate: "Enviar plantilla",
      templateSent: "Plantilla enviada", fill: "Rellena todos los campos de la plantilla.",
      sync: "Sincronizar plantillas con Meta", synced: "{count} plantillas leídas de Meta.",
      langs: { es: "español", en: "inglés" },
      errors: {
        131047: "WhatsApp la rechazó: han pasado más de 24 horas desde el último mensaje del cliente; usa una plantilla aprobada.",
        131026: "WhatsApp no puede entregar mensajes a este número (no usa WhatsApp o no aceptó las condiciones).",
        132000: "WhatsApp la rechazó: el número de parámetros no coincide con la plantilla.",
        132001: "WhatsApp la rechazó: la plantilla no existe en ese idioma (nombre o idioma equivocado, o aún no aprobada). Pide a un supervisor que sincronice las plantillas.",
        132005: "WhatsApp la rechazó: el texto con los parámetros es demasiado largo.",
        132007: "WhatsApp la rechazó: el contenido infringe su política.",
        132012: "WhatsApp la rechazó: un parámetro tiene un formato no válido.",
        132015: "WhatsApp la rechazó: la plantilla está en pausa por baja calidad.",
        132016: "WhatsApp la rechazó: la plantilla está desactivada.",
        generic: "No se ha podido enviar: {detail}",
      },
    },
    errors: {
      network: "No se pudo contactar con el servidor. Comprueba la conexión.",
      401: "Tu sesión ha caducado o los datos no son correctos.", 403: "No tienes permiso para hacer esto.",
      404: "No se encontró: {detail}", 409: "No se pudo: {detail}",
      429: "Demasiados intentos. Vuelve a intentarlo en {seconds} s.",
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
    media: "Photos and files", noMedia: "No photos or files.", mediaOpen: "Open full size",
    attachFile: "Attach a photo or document", mediaSent: "File sent.", mediaAlt: "Shopper's photo",
    cannedWithImage: "(with image)",
    notes: "Internal notes", notePlaceholder: "Note visible to the team only…", addNote: "Save note",
    noNotes: "No notes.", resolve: "Resolve", handBack: "Hand back to assistant", transfer: "Transfer",
    transferTo: "Transfer to…", transferPick: "Choose an agent", confirmTransfer: "Transfer",
    cancel: "Cancel", you: "You", shopper: "Customer", bot: "Assistant", agent: "Agent",
    online: "Live", offline: "Offline, reconnecting…",
    deliveryFailed: "Not delivered: {error}", deliveryWindow: "Cannot deliver: outside WhatsApp's 24-hour window. The customer must write first.",
    deliveryReasons: {
      interrupted: "sending was cut off (the server stopped) and the customer may not have received it",
      window_closed: "outside {channel}'s messaging window; the customer must write first",
      unreachable: "could not connect to {channel}",
      not_configured: "the {channel} channel is not set up to send messages",
      unsupported: "this kind of message cannot be sent on {channel}",
      refused: "{channel} refused the message",
      email: "the e-mail could not be sent",
      other: "{channel} channel error",
    },
    resend: "Resend", resending: "Resending…", resent: "Message resent.",
    replyNotDelivered: "Your message did not reach the customer: the reason is in the conversation; you can resend it.",
    claimed: "Conversation assigned.", resolved: "Conversation resolved.", handedBack: "Handed back to the assistant.",
    transferred: "Conversation transferred.", noteSaved: "Note saved.",
    assignedTo: "Handled by {name}", assignedToMe: "Handled by you", closed: "Closed ({status})",
    reasons: {
      asked: "Asked for a person", frustration: "Complaint / frustration", legal_or_fraud: "Legal or fraud",
      repeated_fallback: "Assistant did not understand", approval_required: "Needs approval",
      backend_error: "System error", verification_failed: "Verification failed",
      answered_from_phone: "Answered from the phone",
      withdrawal: "Withdrawal (legal right)",
    },
    offlineTitle: "Cases to answer", emptyOffline: "No pending cases.",
    dashboardLink: "Supervisor dashboard",
    due: "answer by {time}", overdue: "overdue! ({time})", dueSoon: "due soon ({time})",
    offlineState: "Offline case: answer promised by {time}",
    followUpTitle: "Answer the case", followUpPlaceholder: "Your answer to the customer (sent on their channel or by e-mail)…",
    followUpSend: "Send answer", followUpVia: "Send by",
    via: { auto: "Automatic (their channel if connected, else e-mail)", channel: "Their channel ({channel})", email: "E-mail ({email})" },
    noEmail: "No e-mail known: their channel only.",
    followUpSent: "Answer delivered ({via}). Case resolved.", followUpQueued: "Answer saved; the e-mail will be retried: {error}",
    viaNames: { email: "by e-mail", channel: "on their channel" },
    emailSending: "E-mail waiting to be sent (retried automatically).", byEmail: "✉ e-mail",
    deadTitle: "Undelivered messages", emptyDead: "None.",
    deadHelp: "These customer messages reached neither a person nor the assistant. Read them; if they need an answer, open the conversation and reply (or e-mail the customer if you know the address). Then mark them as dealt with.",
    deadCauses: { too_large: "Too long for the queue", invalid: "Invalid format for the queue",
      no_handoff: "The conversation no longer had an open handoff", conflict: "State conflict", other: "Could not be delivered" },
    openConversation: "Open conversation", dismiss: "Mark as dealt with", dismissed: "Marked as dealt with.",
    noConversation: "No conversation with the team",
    leftQueuePressed: "(The customer pressed \"Back to the assistant\")",
    yes: "Yes", no: "No", visitor: "Visitor",
    fields: { vip: "VIP", name: "Name", email: "Email", phone: "Phone", order_id: "Order", status: "Status",
      total: "Total", language: "Language", customer_contact: "Contact", return_item: "Item", return_reason: "Return reason",
      new_address: "New address", store_request: "Request for the store", created_at: "Date", carrier: "Carrier", tracking: "Tracking",
      id: "Reference", market: "Market", currency: "Currency", total_cents: "Total", payment_method: "Payment", placed_at: "Ordered on",
      shipping_address: "Shipping address", tracking_number: "Tracking number", tracking_url: "Tracking", shipped_at: "Shipped on",
      estimated_delivery: "Expected delivery", delivered_at: "Delivered on", cancelled_at: "Cancelled on", items: "Items",
      returns: "Returns", refunds: "Refunds", sku: "SKU", category: "Category", size: "Size", quantity: "Quantity",
      unit_price_cents: "Unit price", final_sale: "Final sale", rma: "RMA", reason: "Reason", kind: "Type",
      refund_cents: "Amount to refund", label_url: "Label", amount_cents: "Amount", method: "Method", completed_at: "Completed on",
      item_ids: "Items", verified_order_id: "Verified order", verification_attempts: "Verification attempts",
      customer_vip: "VIP customer", cancel_confirm: "Confirmed the cancellation", return_seal: "Seal intact", return_exchange: "Exchange for",
      return_confirm: "Confirmed the return", claim_item: "Item claimed", claim_photo: "Photo", claim_remedy: "Remedy asked for",
      claim_confirm: "Confirmed the claim", claim_photo_asks: "Times a photo was asked for", claim_description: "Problem described",
      kb_last_article: "Last article shown", kb_articles_shown: "Articles shown", handoff_reason: "Handoff reason",
      csat_offered: "Rating offered", problem: "Problem", rating: "Rating", csat_comment: "Rating comment",
      product: "Product", product_size: "Size", product_colour: "Colour" },
    orderStatuses: { pending: "Awaiting payment", paid: "Paid", shipped: "Shipped", in_transit: "In transit", delivered: "Delivered",
      cancelled: "Cancelled", returned: "Returned", refunded: "Refunded" },
    returnStatuses: { requested: "Requested", open: "Open", label_sent: "Label sent", received: "Received", refunded: "Refunded",
      closed: "Closed", declined: "Declined", cancelled: "Cancelled" },
    refundStatuses: { pending: "Pending", processing: "Processing", completed: "Completed", failed: "Failed" },
    payments: { card: "Card", paypal: "PayPal", bank_transfer: "Bank transfer", cash_on_delivery: "Cash on delivery",
      mercadopago: "Mercado Pago", pse: "PSE", oxxo: "OXXO" },
    kinds: { refund: "Refund", exchange: "Exchange" },
    markets: { ES: "Spain", MX: "Mexico", AR: "Argentina", CO: "Colombia", US: "United States" },
    languages: { es: "Spanish", en: "English" },
    channels: { socketio: "Web chat", rest: "Web chat", webchat: "Web chat", whatsapp: "WhatsApp", messenger: "Messenger",
      facebook: "Messenger", email: "E-mail" },
    finalSale: "final sale", sizeOf: "size {size}", open_: "Open", moreFields: "More data",
    button: "button", buttonTapped: "Tapped the \"{title}\" button",
    unread: "{n} unread", typing: "The customer is typing…",
    confirm: {
      resolveTitle: "Resolve the conversation?",
      resolveText: "The assistant takes the conversation back and asks the customer to rate the service.",
      handBackTitle: "Hand the conversation back to the assistant?",
      handBackText: "It goes back to the assistant without being marked resolved: the assistant answers whatever the customer writes next.",
    },
    alerts: {
      open: "Alerts", title: "Alerts", sound: "Sound", titleCount: "Count in the tab title",
      desktop: "Desktop notifications", denied: "The browser blocks notifications from this page.",
      explain: "When a conversation joins the queue or a customer writes to you.", close: "Close",
      newQueue: "New conversation waiting", newMessage: "Message from {name}",
    },
    search: {
      title: "Search conversations", placeholder: "Text, order, e-mail, phone", go: "Search",
      none: "No results.", more: "Show more", notReadable: "Handled by {name}: only they and supervisors can read it.",
      history: "Customer history", noHistory: "No other conversations with this customer.", current: "this conversation",
      results: "{n} results", help: "Closed ones. By verified e-mail or phone: the customer's whole history.",
    },
    help: {
      open: "Keyboard shortcuts", title: "Keyboard shortcuts", close: "Close",
      claimNext: "Claim the next conversation", send: "Send the reply (in the reply box)",
      canned: "Insert canned reply 1–9", cannedMenu: "Open the canned replies", search: "Search conversations",
      help: "Show this help", escape: "Close a dialog",
    },
    statuses: { queued: "Queued", assigned: "Assigned", resolved: "Resolved", handed_back: "Handed back", abandoned: "Abandoned", offline: "Offline case" },
    privacy: {
      open: "Delete a customer's data", title: "Delete a customer's data",
      explain: "Their conversations, messages, notes and files are deleted in every system. This cannot be undone.",
      conversation: "Conversation ID", email: "Verified e-mail", phone: "Verified phone (with country code)",
      check: "Check", confirm: "Delete for good", close: "Close",
      needOne: "Give at least a conversation ID, an e-mail or a phone.",
      preview: "Conversations of this customer to delete: {n}.",
      done: "Data deleted. Conversations: {n}. Nothing is left (record {id}).",
      incomplete: "The deletion did not complete (record {id}). Check the server logs.",
    },
    channelTools: {
      sent: "Sent", delivered: "Delivered", read: "Read", failed: "Not delivered",
      template: "Template {name}", echo: "Answered from the phone",
      windowTemplate: "More than 24 hours since the shopper's last message: WhatsApp only allows an approved template now. Once the shopper answers you can write freely again.",
      windowHumanAgent: "More than 24 hours without a message from the shopper: your reply goes with Messenger's HUMAN_AGENT tag (allowed until {time}).",
      messenger_7_days_passed: "More than 7 days since the shopper's last message: Messenger allows nothing to be sent until they write again.",
      messenger_human_agent_not_enabled: "More than 24 hours since the shopper's last message: Messenger only allows replies with the HUMAN_AGENT tag, which is not enabled for this page (MESSENGER_HUMAN_AGENT_TAG).",
      pickTemplate: "Template", choose: "Choose a template…", noTemplates: "No approved template to answer with. A supervisor can sync them from Meta.",
      preview: "Preview (what the shopper will read, in {lang})", sendTemplate: "Send template",
      templateSent: "Template sent", fill: "Fill in every field of the template.",
      sync: "Sync templates from Meta", synced: "{count} templates read from Meta.",
      langs: { es: "Spanish", en: "English" },
      errors: {
        131047: "WhatsApp refused it: more than 24 hours since the shopper's last message; use an approved template.",
        131026: "WhatsApp cannot deliver to this number (not on WhatsApp, or terms not accepted).",
        132000: "WhatsApp refused it: the number of parameters does not match the template.",
        132001: "WhatsApp refused it: the template does not exist in that language (wrong name or language, or not approved yet). Ask a supervisor to sync the templates.",
        132005: "WhatsApp refused it: the text with its parameters is too long.",
        132007: "WhatsApp refused it: the content breaks its policy.",
        132012: "WhatsApp refused it: a parameter has an invalid format.",
        132015: "WhatsApp refused it: the template is paused for low quality.",
        132016: "WhatsApp refused it: the template is disabled.",
        generic: "Could not send: {detail}",
      },
    },
    errors: {
      network: "Could not reach the server. Check your connection.",
      401: "Your session expired or the credentials are wrong.", 403: "You are not allowed to do this.",
      404: "Not found: {detail}", 409: "Could not do it: {detail}",
      429: "Too many attempts. Try again in {seconds} s.",
      413: "The message is too long.", 422: "Invalid input: {detail}", 500: "Server error. Please try again.",
      generic: "Error ({status}): {detail}",
    },
  },
};

export { STRINGS }; // the browser tests check that es and en have the same keys

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

/** The agent's locale for numbers and dates: the browser's own one in the console's language
 *  (es-MX, es-AR, en-US…), else es-ES / en-GB. */
export function locale() {
  const mine = (navigator.languages?.length ? navigator.languages : [navigator.language || ""])
    .find((l) => String(l).toLowerCase().split("-")[0] === current);
  return mine || (current === "en" ? "en-GB" : "es-ES");
}

export function clock(ts) {
  const d = toDate(ts);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
}

/** "vie 11/12 18:30" — a promised answer time, in the agent's language. */
export function dateTime(ts) {
  const d = toDate(ts);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(locale(),
    { weekday: "short", day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" });
}

const DAY_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** "7 dic 2026, 9:30" (or "7 dic 2026" for a calendar day such as an expected delivery). */
export function longDate(value) {
  const day = DAY_ONLY.exec(String(value ?? ""));
  const d = day ? new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3])) : toDate(value);
  if (Number.isNaN(d.getTime())) return String(value ?? "");
  return new Intl.DateTimeFormat(locale(), day ? { dateStyle: "medium" } : { dateStyle: "medium", timeStyle: "short" }).format(d);
}

/** 13890 cents in EUR → "138,90 €" (es-ES) / "€138.90" (en-GB). */
export function money(cents, currency) {
  const amount = Number(cents) / 100;
  if (!Number.isFinite(amount)) return String(cents ?? "");
  try {
    return new Intl.NumberFormat(locale(), { style: "currency", currency: currency || "EUR" }).format(amount);
  } catch { // an unknown currency code
    return `${new Intl.NumberFormat(locale(), { minimumFractionDigits: 2 }).format(amount)} ${currency || ""}`.trim();
  }
}

/** "socketio" → "Chat web": a channel as agents call it (an unknown one as it is). */
export function channelName(channel) {
  const known = t(`channels.${channel}`);
  return known === `channels.${channel}` ? String(channel ?? "") : known;
}
