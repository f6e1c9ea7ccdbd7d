"""Importing a store's existing help centre: exported or saved HTML pages, or a sitemap of them.

Stores rarely have their FAQ as Markdown. They have a help centre (Zendesk, Shopify pages,
WordPress…) that can be exported or saved as HTML files, usually with a ``sitemap.xml``. This
module turns those files into :class:`~kb_index.documents.Article` objects:

- the page's ``<main>``/``<article>`` (else ``<body>`` without navigation, header, footer, forms and
  scripts) becomes Markdown: headings, paragraphs, lists, tables, bold and links survive;
- a **FAQ page** — questions in ``<summary>``/``<dt>``/headings ending in "?" each followed by its
  answer — becomes one article per question, titled by the question. The question then has its
  own vector (the article card), so a shopper's question that matches a store's question is a
  strong signal on its own, and the answer is what gets quoted;
- ``<html lang>`` gives the language (else the ``es``/``en`` folder), ``<link rel=canonical>`` the
  URL shown as the source.

The parser is the standard library's :class:`html.parser.HTMLParser`: only structure is needed,
pages are the store's own, and nothing is fetched — a sitemap's URLs are mapped to local files.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

from kb_index.documents import Article, SourceError
from kb_index.lexical import strip_accents

SKIP = {"script", "style", "nav", "header", "footer", "form", "noscript", "svg", "button",
        "select", "template", "iframe", "aside"}
BLOCKS = {"p", "div", "section", "li", "tr", "table", "ul", "ol", "dl", "dd", "dt", "details",
          "summary", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "br", "main", "article"}
_QUESTION = re.compile(r"\?\s*$")


@dataclass
class _Page:
    lang: str = ""
    title: str = ""
    canonical: str = ""
    h1: str = ""
    #: (kind, text): kind is "h2".."h6", "q" (a summary/dt question), "p", "li", "row", "head"
    blocks: list[tuple[str, str]] = field(default_factory=list)


class _Reader(HTMLParser):
    """Collects the page's text blocks with their kind, inline Markdown kept (bold, links)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = _Page()
        self.skip = 0
        self.stack: list[str] = []
        self.buf: list[str] = []
        self.kind = "p"
        self.in_title = False
        self.href: list[str] = []
        self.cells: list[str] | None = None
        self.header_row = False
        self.main_depth = 0
        self.saw_main = False

    # -- helpers ---------------------------------------------------------------------------
    def _flush(self) -> None:
        text = re.sub(r"[ \t\r\f\v]+", " ", "".join(self.buf)).strip()
        text = re.sub(r" *\n *", "\n", text)
        self.buf = []
        if not text:
            return
        if self.cells is not None:
            self.cells.append(text.replace("|", "/").replace("\n", " "))
            return
        self.page.blocks.append((self.kind, text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html" and a.get("lang"):
            self.page.lang = a["lang"].split("-")[0].lower()
        if tag == "link" and "canonical" in a.get("rel", "").split():
            self.page.canonical = a.get("href", "")
        if tag == "meta" and a.get("property") == "og:url" and not self.page.canonical:
            self.page.canonical = a.get("content", "")
        if tag == "title":
            self.in_title = True
        if tag in SKIP:
            self.skip += 1
            return
        if tag in ("main", "article"):
            self.saw_main = True
            self.main_depth += 1
        if self.skip:
            return
        if tag in BLOCKS:
            self._flush()
            self.kind = {"summary": "q", "dt": "q", "li": "li"}.get(tag, tag if tag[0] == "h" and
                                                                tag[1:].isdigit() else "p")
        if tag == "br":
            self.buf.append("\n")
        elif tag in ("strong", "b"):
            self.buf.append("**")
        elif tag == "a" and a.get("href", "").startswith(("http://", "https://", "mailto:")):
            self.href.append(a["href"])
            self.buf.append("[")
        elif tag == "a":
            self.href.append("")
        elif tag == "tr":
            self.cells = []
            self.header_row = False
        elif tag == "th":
            self.header_row = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag in ("main", "article"):
            self.main_depth = max(0, self.main_depth - 1)
        if self.skip:
            return
        if tag in ("strong", "b"):
            self.buf.append("**")
        elif tag == "a" and self.href:
            href = self.href.pop()
            if href:
                self.buf.append(f"]({href})")
        elif tag in ("td", "th"):
            self._flush()
        elif tag == "tr" and self.cells is not None:
            cells, self.cells = self.cells, None
            if cells:
                self.page.blocks.append(("head" if self.header_row else "row",
                                         "| " + " | ".join(cells) + " |"))
        elif tag in BLOCKS:
            self._flush()
            if tag in ("h1",) and self.page.blocks and not self.page.h1:
                self.page.h1 = self.page.blocks[-1][1]

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.page.title += data
            return
        if not self.skip:
            self.buf.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def _markdown(blocks: list[tuple[str, str]]) -> str:
    """Blocks as Markdown; table rows and list items stay on consecutive lines."""
    text = ""
    previous = ""
    for kind, block in blocks:
        if kind == "head":
            line = block + "\n|" + "---|" * (block.count("|") - 1)
        elif kind == "row" and previous not in ("head", "row"):
            columns = block.count("|") - 1
            line = "|" + " |" * columns + "\n|" + "---|" * columns + "\n" + block
        elif kind == "li":
            line = f"- {block}"
        elif kind[0] == "h" and kind[1:].isdigit():
            line = f"{'#' * int(kind[1:])} {block}"
        elif kind == "q":
            line = f"### {block}"
        else:
            line = block
        same = (kind == "row" and previous in ("head", "row")) or (kind == previous == "li")
        text += ("\n" if same else "\n\n") + line
        previous = kind
    return text.strip()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", strip_accents(text.lower())).strip("-")[:60] or "page"


def _qa_pairs(blocks: list[tuple[str, str]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Questions (summary/dt, or headings ending in "?") each with the blocks up to the next."""
    pairs: list[tuple[str, list[tuple[str, str]]]] = []
    for kind, text in blocks:
        is_question = kind == "q" or (kind[0] == "h" and kind[1:].isdigit() and kind != "h1"
                                      and bool(_QUESTION.search(text)))
        if is_question:
            pairs.append((text, []))
        elif pairs and not (kind[0] == "h" and kind[1:].isdigit()):
            pairs[-1][1].append((kind, text))
        elif pairs:
            pairs.append(("", []))  # a non-question heading ends the previous answer
    return [(q, body) for q, body in pairs if q and body]


def parse_html(text: str, source: str = "<html>", default_lang: str | None = None,
               url: str = "") -> list[Article]:
    """Articles from one saved help-centre page (one per question on a FAQ page)."""
    reader = _Reader()
    reader.feed(text)
    reader.close()
    page = reader.page
    lang = page.lang if page.lang in ("es", "en") else (default_lang or page.lang or "")
    if not lang:
        raise SourceError(f"{source}: no <html lang> and no es/en folder to say its language")
    title = (page.h1 or page.title).strip()
    blocks = [b for b in page.blocks if not (b[0] == "h1" and b[1] == page.h1)]
    page_url = page.canonical or url
    stem = _slug(Path(source).stem if source != "<html>" else title)
    pairs = _qa_pairs(blocks)
    if len(pairs) >= 2 and sum(len(body) for _, body in pairs) >= len(blocks) // 2:
        return [Article(id=f"{stem}-{_slug(question)}", lang=lang, title=question,
                        body=_markdown(body), url=page_url, tags=(), source=source,
                        questions=(question,))
                for question, body in pairs]
    body = _markdown(blocks)
    if not body:
        return []
    return [Article(id=stem, lang=lang, title=title or stem, body=body, url=page_url,
                    source=source)]


def load_html(path: Path, default_lang: str | None = None, url: str = "") -> list[Article]:
    return parse_html(path.read_text(encoding="utf-8", errors="replace"), str(path),
                      default_lang, url)


def sitemap_files(sitemap: Path) -> list[tuple[Path, str]]:
    """(local file, URL) for every ``<loc>`` of a sitemap saved next to the pages.

    ``https://shop.example/help/returns`` is looked for as ``help/returns``,
    ``help/returns.html`` and ``help/returns/index.html`` under the sitemap's folder; pages that
    are not there are reported, not fetched.
    """
    try:
        tree = ET.parse(sitemap)
    except ET.ParseError as exc:
        raise SourceError(f"{sitemap}: not a valid sitemap: {exc}") from exc
    root = sitemap.parent
    found, missing = [], []
    for loc in tree.iter():
        if not loc.tag.endswith("loc") or not (loc.text or "").strip():
            continue
        url = loc.text.strip()
        path = urlparse(url).path.strip("/")
        candidates = [root / path, root / f"{path}.html", root / path / "index.html"] if path \
            else [root / "index.html"]
        local = next((c for c in candidates if c.is_file()), None)
        (found if local else missing).append((local, url))
    if missing and not found:
        raise SourceError(f"{sitemap}: none of its {len(missing)} pages are saved next to it "
                          f"(first: {missing[0][1]})")
    return [(p, u) for p, u in found if p is not None]
