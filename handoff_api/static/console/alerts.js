/**
 * Alerts for a new conversation in the queue and for a shopper's message: a sound, the count in
 * the tab title and a desktop notification. Each can be turned off in the "Avisos" dialog; the
 * choice is kept in localStorage (``atiende-console:alerts``) for the next visit.
 *
 * The desktop notification is shown only while the agent is not looking at the console (tab
 * hidden or window not focused) and only once the browser's permission is granted (asked when
 * the agent turns it on, or at login when it is on and not decided yet).
 */
import { t } from "./i18n.js";

const KEY = "atiende-console:alerts";
// a 0.3 s two-note chime (E6, A6; 16 kHz mono) synthesised for this project: no third-party asset
export const SOUND_URL = "/static/console/sounds/alert.wav";
const DEFAULTS = { sound: true, title: true, desktop: true };
const $ = (id) => document.getElementById(id);

export function prefs() {
  try {
    return { ...DEFAULTS, ...JSON.parse(localStorage.getItem(KEY) || "{}") };
  } catch {
    return { ...DEFAULTS };
  }
}

export function setPref(name, on) {
  localStorage.setItem(KEY, JSON.stringify({ ...prefs(), [name]: Boolean(on) }));
}

/** The agent is looking at this tab right now. */
export const watched = () => document.visibilityState === "visible" && document.hasFocus();

const canNotify = () => "Notification" in window;

/** Ask for the browser's permission if desktop notifications are on and it was never asked. */
export function askPermission() {
  if (prefs().desktop && canNotify() && Notification.permission === "default") {
    try { Notification.requestPermission()?.catch?.(() => {}); } catch { /* old browsers */ }
  }
}

let lastCount = 0;
/** "(3) Atiende · Consola de agentes": ``count`` = people waiting + unread messages of mine. */
export function updateTitle(count = lastCount) {
  lastCount = count;
  const base = t("appTitle");
  document.title = prefs().title && count > 0 ? `(${count}) ${base}` : base;
}

/**
 * One alert. @param {{title: string, body: string, tag: string, onClick?: () => void}} what
 */
export function alertAgent(what) {
  const p = prefs();
  if (p.sound) {
    try {
      const audio = new Audio(SOUND_URL);
      audio.play()?.catch?.(() => { /* no user gesture yet: the browser refuses to play */ });
    } catch { /* no audio */ }
  }
  if (p.desktop && canNotify() && Notification.permission === "granted" && !watched()) {
    try {
      const n = new Notification(what.title, { body: what.body, tag: what.tag, lang: document.documentElement.lang });
      n.onclick = () => { window.focus(); what.onClick?.(); n.close?.(); };
    } catch { /* e.g. Android Chrome needs a service worker: the sound and title still work */ }
  }
}

/** Wire the "Avisos" dialog: one checkbox per alert, saved at once. */
export function setupAlerts() {
  const dialog = $("alerts-dialog");
  const boxes = { sound: $("alert-sound"), title: $("alert-title"), desktop: $("alert-desktop") };
  const denied = $("alerts-denied");
  const sync = () => {
    const p = prefs();
    for (const [name, box] of Object.entries(boxes)) box.checked = p[name];
    denied.hidden = !(p.desktop && canNotify() && Notification.permission === "denied");
  };
  for (const [name, box] of Object.entries(boxes)) {
    box.addEventListener("change", () => {
      setPref(name, box.checked);
      if (name === "desktop" && box.checked) askPermission();
      if (name === "title") updateTitle();
      sync();
    });
  }
  $("alerts-open").addEventListener("click", () => { sync(); dialog.showModal(); });
  $("alerts-close").addEventListener("click", () => dialog.close());
}
