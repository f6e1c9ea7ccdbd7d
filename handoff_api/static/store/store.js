/**
 * Demo store page: Spanish/English texts from the browser language, the product grid, the
 * tester data and the embedded Atiende widget.
 */

const LANG = (navigator.language || "es").toLowerCase().startsWith("en") ? "en" : "es";

const TEXT = {
  es: {
    skip: "Saltar al contenido", nav: "Principal", navNew: "Novedades", navShoes: "Calzado", navHelp: "Ayuda",
    cart: "Cesta (0)", ship: "Envío gratis desde 50 € · Devoluciones gratis en 30 días",
    kicker: "Colección otoño", heroTitle: "Camina ligero, vuelve a casa seco.",
    heroLead: "Zapatillas, botas y básicos hechos para la ciudad. ¿Dudas con tu pedido? Nuestro asistente responde al momento, y si hace falta, una persona del equipo.",
    heroCta: "Ver la colección", productsTitle: "Lo más vendido", add: "Añadir a la cesta", added: "Añadido ✓",
    helpTitle: "¿Necesitas ayuda?",
    helpText: "Abre el chat (abajo a la derecha) y pregunta por el estado de tu pedido, devoluciones, reembolsos, cambios de dirección o nuestras políticas. Escribe «quiero hablar con una persona» para pasar con el equipo.",
    testersTitle: "Datos de prueba para testers",
    testersText: "Esta tienda es una demostración. Usa estos pedidos con su correo para probar el asistente:",
    thOrder: "Pedido", thEmail: "Correo", thState: "Situación",
    footer: "Atiende Demo Store es una tienda ficticia para demostrar Atiende, un asistente de atención al cliente de código abierto.",
    consoleLink: "Consola de agentes", title: "Atiende Demo Store — calzado y moda",
  },
  en: {
    skip: "Skip to content", nav: "Main", navNew: "New in", navShoes: "Shoes", navHelp: "Help",
    cart: "Bag (0)", ship: "Free shipping over €50 · Free returns within 30 days",
    kicker: "Autumn collection", heroTitle: "Walk light, get home dry.",
    heroLead: "Sneakers, boots and basics made for the city. Questions about your order? Our assistant answers instantly — and a person from the team when needed.",
    heroCta: "Shop the collection", productsTitle: "Best sellers", add: "Add to bag", added: "Added ✓",
    helpTitle: "Need help?",
    helpText: "Open the chat (bottom right) and ask about your order status, returns, refunds, address changes or our policies. Type “I want to talk to a person” to reach the team.",
    testersTitle: "Test data for testers",
    testersText: "This store is a demo. Use these orders with their email to try the assistant:",
    thOrder: "Order", thEmail: "Email", thState: "Status",
    footer: "Atiende Demo Store is a fictional shop that demonstrates Atiende, an open-source customer-service assistant.",
    consoleLink: "Agent console", title: "Atiende Demo Store — shoes & fashion",
  },
};

const PRODUCTS = [
  { id: "urban-runner", es: "Zapatilla Urban Runner", en: "Urban Runner sneaker", price: 79.95, hue: 160 },
  { id: "chelsea-boot", es: "Botín Chelsea impermeable", en: "Waterproof Chelsea boot", price: 119.0, hue: 25 },
  { id: "canvas-low", es: "Zapatilla de lona baja", en: "Low canvas sneaker", price: 45.5, hue: 210 },
  { id: "trail-pro", es: "Zapatilla Trail Pro", en: "Trail Pro shoe", price: 99.9, hue: 95 },
  { id: "merino-socks", es: "Calcetines de merino (3 pares)", en: "Merino socks (3 pairs)", price: 24.0, hue: 280 },
  { id: "rain-jacket", es: "Chubasquero ligero", en: "Lightweight rain jacket", price: 89.0, hue: 340 },
];

/*
 * DEMO ORDERS — a few rows of docs/demo_orders.md (seeded into var/store.db by
 * `python -m actions.store seed`). Ids and emails never change; keep this list in sync with it.
 */
const DEMO_ORDERS = [
  { id: "AT101001", email: "carmen.navarro@example.com", es: "En tránsito", en: "In transit" },
  { id: "AT101003", email: "carmen.navarro@example.com", es: "Pagado, se puede cancelar", en: "Paid, can be cancelled" },
  { id: "AT101005", email: "carmen.navarro@example.com", es: "Entregado, dentro del plazo de devolución", en: "Delivered, within the return window" },
  { id: "AT101007", email: "carmen.navarro@example.com", es: "Reembolsado", en: "Refunded" },
  { id: "AT101009", email: "javier.ruiz@example.es", es: "Pagado, importe alto (cliente VIP)", en: "Paid, high amount (VIP customer)" },
  { id: "AT105001", email: "olivia.smith@example.org", es: "En tránsito (EE. UU., inglés)", en: "In transit (US, English)" },
];

const t = (k) => TEXT[LANG][k] ?? TEXT.es[k];
const money = new Intl.NumberFormat(LANG === "en" ? "en-IE" : "es-ES", { style: "currency", currency: "EUR" });

function applyTexts() {
  document.documentElement.lang = LANG;
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-aria]")) node.setAttribute("aria-label", t(node.dataset.i18nAria));
}

function renderProducts() {
  const list = document.getElementById("products");
  list.replaceChildren(...PRODUCTS.map((p) => {
    const li = document.createElement("li");
    li.className = "card";
    li.innerHTML = `
      <div class="thumb" aria-hidden="true"><div class="shoe"></div></div>
      <h3></h3><p class="price"></p>
      <button type="button" class="add"></button>`;
    // a CSSOM property, not a style="" attribute: the page's CSP allows no inline styles
    li.querySelector(".thumb").style.setProperty("--h", String(p.hue));
    li.querySelector("h3").textContent = p[LANG];
    li.querySelector(".price").textContent = money.format(p.price);
    const btn = li.querySelector(".add");
    btn.textContent = t("add");
    btn.addEventListener("click", () => { btn.textContent = t("added"); btn.disabled = true; });
    return li;
  }));
}

function renderDemoOrders() {
  const body = document.getElementById("demo-orders");
  body.replaceChildren(...DEMO_ORDERS.map((o) => {
    const tr = document.createElement("tr");
    for (const v of [o.id, o.email, o[LANG]]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.append(td);
    }
    return tr;
  }));
}

/** The demo shop's market (?market=AR shows Argentina's button; remembered), Spain by default. */
function market() {
  const fromQuery = new URLSearchParams(location.search).get("market");
  if (fromQuery && /^[A-Za-z]{2}$/.test(fromQuery)) localStorage.setItem("atiende-demo:market", fromQuery.toUpperCase());
  return localStorage.getItem("atiende-demo:market") || "ES";
}

/**
 * The market's legal withdrawal function ("Desistir del contrato aquí" in Spain, "Botón de
 * arrepentimiento" in Argentina): labelled from the market's policy file through the handoff API
 * (GET /api/withdrawal-function), shown only where the law asks for one. Pressing it opens the
 * chat and sends the withdrawal request (the bot's withdrawal form: order number, name, e-mail,
 * then a separate confirmation).
 */
async function renderWithdrawal() {
  const query = new URLSearchParams({ market: market(), lang: LANG });
  let fn = null;
  try {
    const res = await fetch(`/api/withdrawal-function?${query}`);
    if (res.ok) fn = await res.json();
  } catch { /* no API, no button: the chat still understands "desistir del contrato" */ }
  if (!fn || !fn.available || !fn.label) return;
  const button = document.getElementById("withdraw");
  button.textContent = fn.label;
  button.hidden = false;
  button.addEventListener("click", () => startWithdrawal(fn, 0));
}

/** Hand the request to the widget (it may still be loading: wait for it, up to ~10 s). */
function startWithdrawal(fn, tries) {
  const widget = window.AtiendeWidget;
  if (widget && widget.request) widget.request(fn.label, fn.payload);
  else if (tries < 40) setTimeout(() => startWithdrawal(fn, tries + 1), 250);
}

/** Embed the widget with the same one-tag snippet a shop would use. */
function embedWidget() {
  const params = new URLSearchParams(location.search);
  const fromQuery = params.get("rasa");
  if (fromQuery) localStorage.setItem("atiende-demo:rasa-url", fromQuery);
  const rasaUrl = fromQuery || localStorage.getItem("atiende-demo:rasa-url") ||
    `${location.protocol}//${location.hostname}:5005`;
  const tag = document.createElement("script");
  tag.src = "/widget/atiende.js";
  tag.dataset.rasaUrl = rasaUrl;
  tag.dataset.handoffUrl = location.origin;
  tag.dataset.market = market();
  if (params.get("chat") === "open") tag.dataset.open = "true";
  document.body.append(tag);
}

applyTexts();
renderProducts();
renderDemoOrders();
embedWidget();
renderWithdrawal();
