/**
 * The agent's own status in the console header: "Disponible" / "Ausente" (online / away),
 * POST /api/me/status. Supervisors see it on the dashboard's agents panel, next to the presence
 * the server derives from this console's heartbeat (offline when no console was seen for
 * HANDOFF_PRESENCE_SECONDS). A module of its own, loaded next to main.js: it shows itself once
 * the console is logged in (#app-view visible) and hides on logout.
 */
import { ApiError, get, post } from "./api.js";
import { el, toast } from "./dom.js";
import { getLang } from "./i18n.js";

const TEXT = {
  es: { label: "Mi estado", online: "Disponible", away: "Ausente", saved: "Estado: {s}.", failed: "No se pudo cambiar el estado: {detail}" },
  en: { label: "My status", online: "Available", away: "Away", saved: "Status: {s}.", failed: "Could not change the status: {detail}" },
};
const tx = (key, fields = {}) => (TEXT[getLang()] || TEXT.es)[key].replace(/\{(\w+)\}/g, (_, k) => fields[k] ?? "");

const select = el("select", { id: "presence-select" },
  el("option", { value: "online" }), el("option", { value: "away" }));
const caption = el("span", {});
const control = el("label", { id: "presence-control", class: "lang-toggle", hidden: true }, caption, select);

function label() {
  caption.textContent = tx("label");
  select.options[0].textContent = tx("online");
  select.options[1].textContent = tx("away");
  select.setAttribute("aria-label", tx("label"));
}

async function show() {
  try {
    const me = await get("/api/me");
    select.value = me.status === "away" ? "away" : "online";
    label();
    control.hidden = false;
  } catch { control.hidden = true; }
}

select.addEventListener("change", async () => {
  const wanted = select.value;
  try {
    await post("/api/me/status", { status: wanted });
    toast(tx("saved", { s: tx(wanted) }));
  } catch (err) {
    select.value = wanted === "away" ? "online" : "away";
    toast(tx("failed", { detail: err instanceof ApiError ? err.message : String(err) }), "error");
  }
});

function start() {
  const app = document.getElementById("app-view");
  const top = document.querySelector(".top-right");
  if (!app || !top) return;
  top.insertBefore(control, document.getElementById("me"));
  const sync = () => { if (app.hidden) control.hidden = true; else show(); };
  new MutationObserver(sync).observe(app, { attributes: true, attributeFilter: ["hidden"] });
  document.getElementById("lang-select")?.addEventListener("change", label);
  sync();
}

start();
