/**
 * The widget's DOM, inside a shadow root so the shop's CSS cannot break it (and ours cannot
 * break the shop). Only builds and updates elements; no network code here.
 */

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}

function timeLabel(ts, lang) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString(lang === "en" ? "en-GB" : "es-ES", { hour: "2-digit", minute: "2-digit" });
}

/** Inline SVG icon: emoji glyphs are missing on some systems (and in headless browsers). */
function chatIcon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "28");
  svg.setAttribute("height", "28");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "launcher-icon");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z");
  svg.append(path);
  return svg;
}

export class WidgetView {
  /**
   * @param {object} o
   * @param {string} o.staticUrl  where widget.css lives
   * @param {(key: string, f?: object) => string} o.t
   * @param {string} o.lang
   * @param {(text: string) => void} o.onSend
   * @param {(title: string, payload: string) => void} o.onButton
   * @param {(id: string) => void} o.onRetry
   * @param {(open: boolean) => void} o.onToggle
   */
  constructor(o) {
    this.o = o;
    const t = o.t;
    this.host = el("div", { id: "atiende-widget", "data-atiende": "" });
    const root = this.host.attachShadow({ mode: "open" });
    root.append(el("link", { rel: "stylesheet", href: `${o.staticUrl}/widget/widget.css` }));

    this.launcher = el("button", {
      class: "launcher", type: "button", "aria-label": t("open"), "aria-expanded": "false",
      "aria-controls": "atiende-panel", onclick: () => this.setOpen(!this.isOpen),
    }, chatIcon());

    this.status = el("span", { class: "status", role: "status" }, "");
    this.log = el("div", {
      class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
      "aria-label": t("log"), tabindex: "0",
    });
    this.typing = el("div", { class: "typing", hidden: true, "aria-hidden": "true" },
      el("span", { class: "dots" }, el("i"), el("i"), el("i")),
      el("span", { class: "sr-only" }, t("typing")));
    this.input = el("textarea", {
      class: "input", rows: "1", maxlength: "2000", placeholder: t("placeholder"),
      "aria-label": t("placeholder"),
      onkeydown: (e) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); this._submit(); }
      },
    });
    const form = el("form", { class: "composer", onsubmit: (e) => { e.preventDefault(); this._submit(); } },
      this.input,
      el("button", { class: "send", type: "submit", "aria-label": t("send") }, t("send")));

    this.panel = el("section", {
      id: "atiende-panel", class: "panel", role: "dialog", "aria-modal": "false",
      "aria-label": t("title"), hidden: true,
      onkeydown: (e) => { if (e.key === "Escape") { this.setOpen(false); this.launcher.focus(); } },
    },
    el("header", { class: "head" },
      el("div", { class: "avatar", "aria-hidden": "true" }, "A"),
      el("div", { class: "titles" },
        el("h2", { class: "title" }, o.title || t("title")),
        el("p", { class: "subtitle" }, t("subtitle"), " · ", this.status)),
      el("button", {
        class: "close", type: "button", "aria-label": t("close"),
        onclick: () => { this.setOpen(false); this.launcher.focus(); },
      }, "×")),
    this.log, this.typing, form);

    root.append(this.panel, this.launcher);
    document.body.append(this.host);
  }

  get isOpen() { return !this.panel.hidden; }

  setOpen(open) {
    this.panel.hidden = !open;
    this.launcher.setAttribute("aria-expanded", String(open));
    this.launcher.classList.toggle("is-open", open);
    if (open) { this.input.focus(); this.scrollToEnd(); }
    this.o.onToggle(open);
  }

  setOnline(online) {
    this.status.textContent = online ? this.o.t("online") : this.o.t("offline");
    this.status.classList.toggle("offline", !online);
  }

  showTyping(on) {
    this.typing.hidden = !on;
    if (on) this.scrollToEnd();
  }

  clear() { this.log.replaceChildren(); }

  /** Render one transcript item; returns its element so status can be updated later. */
  render(item) {
    const t = this.o.t;
    if (item.kind === "notice") {
      const n = el("p", { class: "notice", "data-kind": "notice" }, item.text);
      this.log.append(n);
      this.scrollToEnd();
      return n;
    }
    const who = item.kind === "user" ? t("you") : item.kind === "agent" ? (item.name || t("agent")) : t("assistant");
    const bubble = el("div", { class: "bubble" });
    bubble.textContent = item.text || "";
    const meta = el("div", { class: "meta" },
      el("span", { class: "who" }, who), " ", el("time", { datetime: item.ts }, timeLabel(item.ts, this.o.lang)));
    const row = el("div", { class: `msg ${item.kind}`, "data-kind": item.kind, "data-id": item.id || "" }, meta, bubble);
    if (item.image) row.append(el("img", { class: "image", src: item.image, alt: "" }));
    if (item.buttons?.length) row.append(this._buttons(item));
    if (item.kind === "user") row.append(el("div", { class: "delivery", "aria-live": "off" }));
    this.log.append(row);
    if (item.kind === "user") this.setDelivery(item.id, item.status);
    this.scrollToEnd();
    return row;
  }

  _buttons(item) {
    const group = el("div", { class: "buttons", role: "group" });
    for (const b of item.buttons) {
      group.append(el("button", {
        type: "button", class: `choice${item.chosen === b.payload ? " chosen" : ""}`, disabled: item.buttonsUsed || null,
        "data-payload": b.payload,
        onclick: (e) => {
          for (const btn of group.querySelectorAll("button")) btn.disabled = true;
          e.currentTarget.classList.add("chosen");
          this.o.onButton(b.title, b.payload, item);
        },
      }, b.title));
    }
    return group;
  }

  /** Show sending / failed (+ retry) under a shopper's message; nothing once delivered. */
  setDelivery(id, status) {
    const row = this.log.querySelector(`.msg.user[data-id="${CSS.escape(id)}"]`);
    const box = row?.querySelector(".delivery");
    if (!box) return;
    box.replaceChildren();
    row.classList.toggle("failed", status === "failed");
    if (status === "sending") box.append(this.o.t("sending"));
    if (status === "failed") {
      box.append(this.o.t("failed"), " ",
        el("button", { type: "button", class: "retry", onclick: () => this.o.onRetry(id) }, this.o.t("retry")));
    }
  }

  scrollToEnd() {
    requestAnimationFrame(() => { this.log.scrollTop = this.log.scrollHeight; });
  }

  _submit() {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = "";
    this.o.onSend(text);
  }
}
