/**
 * The context panel: what the bot knew when it handed the conversation over (customer, verified
 * order, collected data, articles shown, intents), readable by a person — labels translated,
 * money and dates in the agent's locale (Intl), statuses and payment methods in words, nested
 * data as nested lists. Never JSON, never "total_cents 13890", never an ISO timestamp.
 */
import { el } from "./dom.js";
import { t } from "./i18n.js";
import { longDate, money } from "./format.js";

const CURRENCY_OF_MARKET = { ES: "EUR", MX: "MXN", AR: "ARS", CO: "COP", US: "USD" };
const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const MAX_DEPTH = 3;

/** A translated label, else the key in words ("gift_wrap" → "Gift wrap"). */
export function label(key) {
  const known = t(`fields.${key}`);
  if (known !== `fields.${key}`) return known;
  const words = String(key).replace(/_cents$/, "").replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function translated(table, value) {
  const hit = t(`${table}.${value}`);
  return hit === `${table}.${value}` ? String(value).replace(/_/g, " ") : hit;
}

function link(url) {
  return /^https?:\/\//i.test(url)
    ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, t("open_")) : url;
}

/**
 * One value as text or nodes. ``where`` says whose field it is (order, return, refund…), which
 * picks the table for a status; ``currency`` is the order's.
 */
export function show(key, value, { currency, where = "", depth = 0 } = {}) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "boolean") return t(value ? "yes" : "no");
  if (/_cents$/.test(key) && (typeof value === "number" || /^-?\d+$/.test(String(value)))) {
    return money(value, currency);
  }
  if (Array.isArray(value)) {
    if (!value.length) return null;
    if (value.every((v) => v === null || typeof v !== "object")) return value.map((v) => show(key, v, { currency, where, depth })).join(", ");
    return el("ul", { class: "nested" }, value.map((v) => el("li", {}, show(key, v, { currency, where, depth: depth + 1 }))));
  }
  if (typeof value === "object") {
    return depth >= MAX_DEPTH ? Object.values(value).filter((v) => typeof v !== "object").join(" · ")
      : fields(value, { currency, where: key, depth: depth + 1 });
  }
  const text = String(value);
  if (key === "status") {
    const table = where === "returns" ? "returnStatuses" : where === "refunds" ? "refundStatuses" : "orderStatuses";
    return translated(table, text);
  }
  if (key === "payment_method" || key === "method") return translated("payments", text);
  if (key === "kind") return translated("kinds", text);
  if (key === "market") return translated("markets", text);
  if (key === "language") return translated("languages", text);
  if (/_url$/.test(key)) return link(text);
  if (ISO_TIME.test(text) && (/_at$|date|delivery|^ts$/.test(key) || text.includes("T"))) return longDate(text);
  return text;
}

/** A definition list of an object's fields (empty ones left out), or "—". */
export function fields(obj, opts = {}, skip = []) {
  const rows = Object.entries(obj || {})
    .filter(([k]) => !skip.includes(k))
    .map(([k, v]) => [k, show(k, v, opts)])
    .filter(([, v]) => v !== null && v !== "");
  if (!rows.length) return el("p", { class: "muted" }, t("none"));
  return el("dl", { class: "kv" }, rows.flatMap(([k, v]) => [el("dt", {}, label(k)), el("dd", {}, v)]));
}

function currencyOf(p) {
  return p.order?.currency || CURRENCY_OF_MARKET[p.order?.customer?.market || p.customer?.market] || "EUR";
}

function customerSection(p) {
  // the shopper's contact (packet.customer) plus what the verified order knows (market, language)
  const fromOrder = p.order?.customer || {};
  const customer = { name: p.customer?.name || fromOrder.name, email: p.customer?.email || fromOrder.email,
    phone: p.customer?.phone || fromOrder.phone, market: fromOrder.market, language: fromOrder.language,
    vip: Boolean(p.customer?.vip || fromOrder.vip), ...omit(p.customer, ["name", "email", "phone", "vip"]) };
  return fields(customer);
}

function omit(obj, keys) {
  return Object.fromEntries(Object.entries(obj || {}).filter(([k]) => !keys.includes(k)));
}

function itemLine(it, currency) {
  if (typeof it !== "object" || it === null) return String(it);
  const qty = it.quantity ?? it.qty ?? 1;
  const total = it.unit_price_cents != null ? money(it.unit_price_cents * qty, currency) : null;
  return [
    `${qty} × ${it.name ?? it.sku ?? ""}`,
    it.size ? ` · ${t("sizeOf", { size: it.size })}` : "",
    total ? ` — ${total}` : "",
    it.final_sale ? ` · ${t("finalSale")}` : "",
  ].join("");
}

function returnLine(r, currency) {
  return [r.rma, translated("kinds", r.kind), translated("returnStatuses", r.status),
    r.refund_cents != null ? money(r.refund_cents, currency) : null, r.created_at ? longDate(r.created_at) : null]
    .filter(Boolean).join(" · ");
}

function refundLine(r, currency) {
  return [money(r.amount_cents, r.currency || currency), translated("refundStatuses", r.status),
    r.method ? translated("payments", r.method) : null, longDate(r.completed_at || r.created_at)]
    .filter(Boolean).join(" · ");
}

function orderSection(order, currency) {
  if (!order) return el("p", { class: "muted" }, t("noOrder"));
  const id = order.id ?? order.order_id;
  const status = order.status ? translated("orderStatuses", order.status) : null;
  const items = order.items || order.lines || [];
  const head = el("p", { class: "order-head" }, el("strong", {}, id ?? ""), status ? ` · ${status}` : "");
  const main = fields(order, { currency, where: "order" },
    ["id", "order_id", "status", "customer", "currency", "items", "lines", "returns", "refunds", "tracking_url"]);
  if (order.tracking_url && main.tagName === "DL") {
    main.append(el("dt", {}, label("tracking_url")), el("dd", {}, link(order.tracking_url)));
  }
  const list = (title, rows, line) => (rows?.length
    ? el("div", { class: "order-sub" }, el("h4", {}, title), el("ul", { class: "order-items" }, rows.map((r) => el("li", {}, line(r, currency)))))
    : null);
  return el("div", { class: "order" }, head, main,
    list(label("items"), items, itemLine), list(label("returns"), order.returns, returnLine),
    list(label("refunds"), order.refunds, refundLine));
}

/**
 * The whole panel. ``history`` is the node the customer-history search fills (search.js);
 * ``media`` the conversation's photos and files (conversation.js).
 * @param {object} h the handoff (GET /api/handoffs/{id})
 */
export function contextPanel(h, history = null, media = null) {
  const p = h.packet || h;
  const currency = currencyOf(p);
  const section = (title, body, cls = "") => el("section", { class: `pk ${cls}`.trim() }, el("h3", {}, title), body);
  return el("aside", { class: "packet", "aria-label": t("packet") },
    el("h2", {}, t("packet")),
    section(t("customer"), customerSection(p), "customer"),
    section(t("order"), orderSection(p.order, currency), "order-section"),
    media ? section(t("media"), media, "media") : null,
    section(t("slots"), fields(p.slots, { currency }), "slots"),
    section(t("kb"), (p.kb_articles || []).length
      ? el("ul", { class: "chips" }, p.kb_articles.map((a) => el("li", {}, typeof a === "string" ? a : (a.title || a.id))))
      : el("p", { class: "muted" }, t("none"))),
    section(t("intents"), (p.intent_history || []).length
      ? el("ol", { class: "intents" }, p.intent_history.map((i) => el("li", {}, typeof i === "string" ? i : `${i.name ?? i.intent} ${i.confidence != null ? `(${Number(i.confidence).toFixed(2)})` : ""}`)))
      : el("p", { class: "muted" }, t("none"))),
    history);
}
