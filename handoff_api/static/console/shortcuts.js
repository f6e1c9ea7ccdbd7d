/**
 * Keyboard shortcuts. ``SHORTCUTS`` is both what the keys do and what the help dialog lists, so
 * the help cannot drift from the behaviour. Alt shortcuts use the physical key (``e.code``), so
 * they work on every keyboard layout (and Option+N on a Mac, which types "˜", still claims).
 */
import { el } from "./dom.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const inField = (e) => /^(INPUT|TEXTAREA|SELECT)$/.test(e.target?.tagName || "") || e.target?.isContentEditable;

export const SHORTCUTS = [
  { keys: ["Alt", "N"], what: "help.claimNext" },
  { keys: ["Ctrl", "Enter"], what: "help.send" },
  { keys: ["Alt", "1…9"], what: "help.canned" },
  { keys: ["Alt", "K"], what: "help.cannedMenu" },
  { keys: ["/"], what: "help.search" },
  { keys: ["?"], what: "help.help" },
  { keys: ["Esc"], what: "help.escape" },
];

/** Put canned reply ``n`` (1-based, as listed in the menu) into the reply box. */
function insertCanned(n) {
  const select = document.querySelector("#conversation select.canned");
  if (!select || n >= select.options.length) return;
  select.value = String(n - 1);
  select.dispatchEvent(new Event("change"));
}

export function renderHelp() {
  $("help-list").replaceChildren(...SHORTCUTS.map((s) => el("div", { class: "shortcut" },
    el("dt", {}, s.keys.flatMap((k, i) => [i ? " + " : null, el("kbd", {}, k)])), el("dd", {}, t(s.what)))));
}

/** @param {{claimNext: () => void}} app */
export function setupShortcuts(app) {
  const help = $("help-dialog");
  const openHelp = () => { renderHelp(); help.showModal(); };
  $("help-open").addEventListener("click", openHelp);
  $("help-close").addEventListener("click", () => help.close());
  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || $("app-view").hidden) return;
    if (document.querySelector("dialog[open]")) return; // Esc and the dialog's own keys
    if (e.altKey && !e.ctrlKey && !e.metaKey) {
      if (e.code === "KeyN") { e.preventDefault(); app.claimNext(); }
      else if (/^Digit[1-9]$/.test(e.code)) { e.preventDefault(); insertCanned(Number(e.code.slice(5))); }
      else if (e.code === "KeyK") { e.preventDefault(); document.querySelector("#conversation select.canned")?.focus(); }
      return;
    }
    if (inField(e) || e.ctrlKey || e.metaKey) return;
    if (e.key === "?") { e.preventDefault(); openHelp(); }
    else if (e.key === "/") { e.preventDefault(); $("search-q").focus(); }
  });
}
