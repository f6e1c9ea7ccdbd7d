/**
 * The widget's DOM, inside a shadow root so the shop's CSS cannot break it (and ours cannot
 * break the shop). Only builds and updates elements; no network code here.
 */
import { el } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { QueueBanner } from "./queue-banner.js";
import { WidgetMenu } from "./menu.js";

/** Characters as the server counts them (code points, not UTF-16 units), after trimming. */
export function charCount(text) {
  return [...text.trim()].length;
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
   * @param {() => void} o.onLeaveQueue  "back to the assistant" pressed while queued
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
    this.maxChars = 2000; // until Rasa's socket.io channel says its own limit
    this.counter = el("p", { class: "counter", id: "atiende-counter", "aria-live": "polite", hidden: true });
    this.input = el("textarea", {
      class: "input", rows: "1", placeholder: t("placeholder"),
      "aria-label": t("placeholder"), "aria-describedby": "atiende-counter",
      oninput: () => { this._count(); this.o.onInput?.(this.input.value); },
      onkeydown: (e) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); this._submit(); }
      },
    });
    this.sendButton = el("button", { class: "send", type: "submit", "aria-label": t("send") }, t("send"));
    // the attachment button: images only (the server checks the content again), see app.js
    this.file = el("input", {
      type: "file", class: "file", accept: "image/jpeg,image/png,image/webp", hidden: true,
      onchange: () => {
        const [picked] = this.file.files || [];
        this.file.value = "";
        if (picked) o.onAttach?.(picked);
      },
    });
    this.attachButton = el("button", {
      class: "attach", type: "button", "aria-label": t("attach"), title: t("attach"),
      onclick: () => this.file.click(),
    }, "📎");
    const form = el("form", { class: "composer", onsubmit: (e) => { e.preventDefault(); this._submit(); } },
      this.file, this.attachButton, this.input, this.sendButton);
    this.queue = new QueueBanner(t, () => o.onLeaveQueue());
    this.menu = new WidgetMenu(t);

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
      this.menu.button,
      el("button", {
        class: "close", type: "button", "aria-label": t("close"),
        onclick: () => { this.setOpen(false); this.launcher.focus(); },
      }, "×")),
    this.menu.list, this.queue.node, this.log, this.typing, this.counter, form);

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

  /** The shopper's place in the queue (hidden unless queued). */
  showQueue(state) { this.queue.update(state); }

  /** The channel's message length cap (same number the server enforces). */
  setMaxChars(max) {
    if (Number.isInteger(max) && max > 0) { this.maxChars = max; this._count(); }
  }

  /** Counter near the cap (from 80 %), a warning and no sending over it. */
  _count() {
    const count = charCount(this.input.value);
    const over = count > this.maxChars;
    this.counter.hidden = count < this.maxChars * 0.8;
    this.counter.classList.toggle("over", over);
    this.counter.textContent = over
      ? this.o.t("tooLong", { count, max: this.maxChars })
      : this.o.t("charsLeft", { count, max: this.maxChars });
    this.sendButton.disabled = over;
    this.input.setAttribute("aria-invalid", String(over));
    return !over;
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
    if (item.kind === "bot") {  // bot answers are safe Markdown (markdown.js); the rest plain text
      bubble.classList.add("md");
      bubble.replaceChildren(renderMarkdown(item.text));
    } else bubble.textContent = item.text || "";
    const meta = el("div", { class: "meta" },
      el("span", { class: "who" }, who), " ", el("time", { datetime: item.ts }, timeLabel(item.ts, this.o.lang)));
    const row = el("div", { class: `msg ${item.kind}`, "data-kind": item.kind, "data-id": item.id || "" }, meta, bubble);
    if (item.image) row.append(el("img", { class: "image", src: item.image, alt: "" }));
    if (item.media?.key) row.append(this._media(item.media));
    if (item.buttons?.length) row.append(this._buttons(item));
    if (item.kind === "user") row.append(el("div", { class: "delivery", "aria-live": "off" }));
    this.log.append(row);
    if (item.kind === "user") this.setDelivery(item.id, item.status);
    this.scrollToEnd();
    return row;
  }

  /** A stored photo (the shopper's or an agent's), read with the conversation token: never a
   *  public URL. Documents show as a download link. */
  _media(media) {
    const box = el("div", { class: "media", "data-media-key": media.key });
    const load = this.o.loadMedia?.(media.key);
    if (!load) return box;
    load.then((url) => {
      if (media.kind === "image" || !media.kind) {
        box.append(el("img", { class: "photo", src: url, alt: media.filename || this.o.t("photoAlt") }));
      } else {
        box.append(el("a", { href: url, download: media.filename || "file" }, media.filename || "📄"));
      }
      this.scrollToEnd();
    }).catch(() => box.append(this.o.t("photoFailed")));
    return box;
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
    if (!text || !this._count()) return;
    this.input.value = "";
    this._count();
    this.o.onSend(text);
  }
}
