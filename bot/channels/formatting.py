"""Bot messages written for each chat channel.

Knowledge-base answers are Markdown (paragraphs, lists, **bold**, tables, links); the other bot
messages are plain text, which is valid Markdown too. Each channel shows a different subset:

- the web widget renders Markdown itself (``handoff_api/static/widget/markdown.js``, markdown-it);
- WhatsApp has its own marks — ``*bold*``, ``_italic_`` — no tables and no link syntax, but it
  previews a plain URL: :func:`to_whatsapp`;
- Messenger shows plain text (quick replies carry the buttons): :func:`to_plain`.

Both functions parse with markdown-it-py (the Python port of the parser the widget uses, so all
three channels read a message the same way) and print the tokens back: a table becomes one line
per row ("*Baleares* — Estándar: 5,95 € · Gratis desde: 50 €"), a link becomes its text followed by
its URL. Asterisks and underscores that are not a well-formed ``**bold**`` pair are kept
literally, so a masked e-mail (``l***n@example.com``) or address (``***, 280** Madrid``) is never
read as emphasis. A message the parser cannot handle is sent as it came.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

logger = logging.getLogger(__name__)

#: ``**bold**``: opened after a space or start and closed before one, nothing starred inside.
_BOLD = re.compile(r"(?<![\w*])\*\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*\*(?![\w*])")
_URL = re.compile(r"https?://\S+")


def protect(text: str) -> str:
    """Escape ``*`` and ``_`` outside well-formed ``**bold**`` pairs (masked data stays literal)."""
    out, last = [], 0
    for match in _BOLD.finditer(text):
        out.append(_escape(text[last:match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_escape(text[last:]))
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")


@lru_cache(maxsize=1)
def _parser() -> Any:
    from markdown_it import MarkdownIt

    # Only what the widget renders; headings, code blocks, quotes, HTML and images stay text.
    return MarkdownIt("zero", {"breaks": True}).enable(
        ["table", "list", "emphasis", "link", "newline", "escape", "entity"])


def has_url(text: str) -> bool:
    return bool(_URL.search(text))


def to_whatsapp(text: str) -> str:
    """WhatsApp formatting: ``*bold*``, tables as lines, links as "text URL"."""
    return _render(text, bold="*", italic="_")


def to_plain(text: str) -> str:
    """Plain text (Messenger): no marks, tables as lines, links as "text URL"."""
    return _render(text, bold="", italic="")


def _render(text: str, bold: str, italic: str) -> str:
    if not text or not text.strip():
        return text
    try:
        tokens = _parser().parse(protect(text))
        return _Printer(bold, italic).blocks(tokens).strip()
    except Exception:  # a formatting bug must never cost the shopper the message
        logger.exception("formatting.failed: sending the message unformatted")
        return text


class _Printer:
    def __init__(self, bold: str, italic: str) -> None:
        self.bold, self.italic = bold, italic

    def inline(self, children: list[Any]) -> str:
        out: list[str] = []
        href: list[str] = []
        link_start = 0
        for tok in children:
            kind = tok.type
            if kind in ("text", "code_inline"):
                out.append(tok.content)
            elif kind in ("softbreak", "hardbreak"):
                out.append("\n")
            elif kind in ("strong_open", "strong_close"):
                out.append(self.bold)
            elif kind in ("em_open", "em_close"):
                out.append(self.italic)
            elif kind == "link_open":
                href.append(str(tok.attrs.get("href") or ""))
                link_start = len(out)
            elif kind == "link_close" and href:
                url = href.pop()
                label = "".join(out[link_start:]).strip()
                del out[link_start:]
                out.append(url if not label or label == url else f"{label} {url}")
        return "".join(out)

    def blocks(self, tokens: list[Any]) -> str:
        parts: list[str] = []
        lists: list[list[int]] = []  # per open list: [next number] (or [-1] for bullets)
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            kind = tok.type
            if kind == "bullet_list_open":
                lists.append([-1])
            elif kind == "ordered_list_open":
                lists.append([int(tok.attrs.get("start") or 1)])
            elif kind in ("bullet_list_close", "ordered_list_close"):
                lists.pop()
                parts.append("\n")
            elif kind == "list_item_open":
                counter = lists[-1] if lists else [-1]
                indent = "   " * (len(lists) - 1)
                if counter[0] < 0:
                    parts.append(f"{indent}• ")
                else:
                    parts.append(f"{indent}{counter[0]}. ")
                    counter[0] += 1
            elif kind == "inline":
                parts.append(self.inline(tok.children or []))
            elif kind == "paragraph_close":
                parts.append("\n" if lists else "\n\n")
            elif kind == "table_open":
                i = self._table(tokens, i, parts)
                continue
            i += 1
        text = "".join(parts)
        return re.sub(r"\n{3,}", "\n\n", text)

    def _table(self, tokens: list[Any], start: int, parts: list[str]) -> int:
        """Each body row as one line: its first cell, then "header: value" for the rest."""
        header: list[str] = []
        rows: list[list[str]] = []
        row: list[str] = []
        in_head = False
        i = start
        while i < len(tokens) and tokens[i].type != "table_close":
            kind = tokens[i].type
            if kind == "thead_open":
                in_head = True
            elif kind == "thead_close":
                in_head = False
            elif kind == "tr_open":
                row = []
            elif kind == "tr_close":
                if in_head:
                    header = row
                else:
                    rows.append(row)
            elif kind == "inline":
                row.append(self.inline(tokens[i].children or []).strip())
            i += 1
        for cells in rows:
            label = cells[0] if cells else ""
            details = [f"{h}: {c}" if h else c
                       for h, c in zip(header[1:], cells[1:], strict=False)
                       if c and c not in ("—", "-")]
            head = f"{self.bold}{label}{self.bold}" if label else ""
            parts.append(" — ".join(p for p in (head, " · ".join(details)) if p) + "\n")
        parts.append("\n")
        return i + 1
