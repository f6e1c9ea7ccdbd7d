/**
 * Bot messages as safe Markdown: paragraphs, line breaks, lists, bold, tables and links that open
 * in a new tab — nothing else. Knowledge-base answers are written in Markdown; the other bot
 * messages are plain text, which reads the same.
 *
 * Parsing is markdown-it 14 (vendored with its MIT licence in ../vendor/), started from its "zero"
 * preset so only the rules listed below exist: raw HTML is never interpreted (`html: false`: a
 * `<script>` is shown as text), images, headings, code blocks and quotes stay text, and links are
 * only http(s), mailto and tel (anything else — `javascript:`, `data:` — is left as plain text).
 * Bare URLs (tracking links, return labels) become links too.
 *
 * Asterisks and underscores outside a well-formed `**bold**` pair are escaped first, so masked
 * data such as `l***n@example.com` or `***, 280** Madrid` is never read as emphasis (the same rule
 * as bot/channels/formatting.py for WhatsApp and Messenger).
 */
import "../vendor/markdown-it.min.js";

const SAFE_LINK = /^(https?:|mailto:|tel:)/i;
const BOLD = /(?<![\w*])\*\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*\*(?![\w*])/g;

const escapeMarks = (text) => text.replace(/[\\*_]/g, (c) => `\\${c}`);

/** Escape `*` and `_` that are not part of a well-formed **bold** pair. */
export function protect(text) {
  let out = "";
  let last = 0;
  for (const m of text.matchAll(BOLD)) {
    out += escapeMarks(text.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return out + escapeMarks(text.slice(last));
}

let parser = null;

function md() {
  if (parser) return parser;
  const markdownit = globalThis.markdownit;
  parser = markdownit("zero", { html: false, linkify: true, breaks: true, typographer: false })
    .enable(["table", "list", "emphasis", "link", "linkify", "newline", "escape", "entity"]);
  parser.validateLink = (url) => SAFE_LINK.test(url.trim());
  const renderToken = (tokens, idx, options, env, self) => self.renderToken(tokens, idx, options);
  parser.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    tokens[idx].attrSet("target", "_blank");
    tokens[idx].attrSet("rel", "noopener noreferrer nofollow");
    return renderToken(tokens, idx, options, env, self);
  };
  return parser;
}

/** A DocumentFragment for `text`, built from markdown-it's escaped HTML. */
export function renderMarkdown(text) {
  const template = document.createElement("template");
  template.innerHTML = md().render(protect(String(text || "")));
  return template.content;
}
