/**
 * Numbers, dates, waiting times and names as agents read them, in the console's language
 * (`i18n.js`) and the agent's locale.
 */
import { getLang, t } from "./i18n.js";

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
    .find((l) => String(l).toLowerCase().split("-")[0] === getLang());
  return mine || (getLang() === "en" ? "en-GB" : "es-ES");
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
