/**
 * The widget's menu (header button "⋮"): shortcuts that send a fixed request to the bot. Today
 * one item, the market's legal withdrawal function ("Desistir del contrato aquí", "Botón de
 * arrepentimiento"), whose label comes from the handoff API (`GET /api/withdrawal-function`,
 * read from the market's policy file), so no label is copied into the widget.
 */
import { el } from "./dom.js";

export class WidgetMenu {
  /** @param {(key: string) => string} t */
  constructor(t) {
    this.list = el("ul", { class: "menu", id: "atiende-menu", role: "menu", hidden: true });
    this.button = el("button", {
      class: "menu-button", type: "button", "aria-label": t("menu"), title: t("menu"),
      "aria-haspopup": "menu", "aria-expanded": "false", "aria-controls": "atiende-menu",
      hidden: true, onclick: () => this.toggle(),
    }, "⋮");
  }

  toggle(open = this.list.hidden) {
    this.list.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    if (open) this.list.querySelector("button")?.focus();
  }

  /** Add one item; the menu button shows once there is something in it. */
  add(label, onChoose, name) {
    const item = el("button", {
      class: "menu-item", type: "button", role: "menuitem", "data-item": name || "",
      onclick: () => { this.toggle(false); onChoose(); },
    }, label);
    this.list.append(el("li", { role: "none" }, item));
    this.button.hidden = false;
    return item;
  }
}

/** The market's withdrawal function (null where the law asks for none, or when unreachable). */
export async function withdrawalFunction(handoffUrl, market, lang) {
  const query = new URLSearchParams({ market: market || "ES", lang });
  try {
    const res = await fetch(`${handoffUrl}/api/withdrawal-function?${query}`);
    if (!res.ok) return null;
    const fn = await res.json();
    return fn.available && fn.label ? fn : null;
  } catch {
    return null;
  }
}
