"""Loading knowledge-base sources into articles and heading-sized chunks.

A store's knowledge lives in two shapes: Markdown articles written for the help centre (with YAML
front matter) and question/answer exports from a FAQ tool (CSV or JSONL). Both become
:class:`Article` objects so the rest of the index never cares where text came from. Articles are
cut at headings because a shopper's question is usually answered by one section, and a section is
short enough to quote back as the answer.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kb_index.facts import PolicyFacts, load_facts, render_articles
from kb_index.settings import policy_dir

#: Bumped whenever chunking changes, so the corpus hash (and thus "up to date") changes with it.
CHUNKING_VERSION = 3  # 3: questions travel with the chunks
#: Sections longer than this are split again at paragraph boundaries.
MAX_CHUNK_CHARS = 1200

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)


class SourceError(ValueError):
    """A knowledge-base source file cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Article:
    id: str
    lang: str
    title: str
    body: str
    url: str = ""
    tags: tuple[str, ...] = ()
    market: str | None = None
    source: str = ""
    #: Questions this article answers, in shoppers' words (front matter ``questions:``; a FAQ
    #: row's or page's own question). Each is indexed on its own: question-to-question matching.
    questions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    article_id: str
    lang: str
    title: str
    url: str
    heading: str
    text: str
    tags: tuple[str, ...] = field(default=())
    questions: tuple[str, ...] = field(default=())

    def embedding_text(self) -> str:
        """What the encoder sees: the title and heading carry most of the topic signal."""
        parts = [self.title]
        if self.heading and self.heading != self.title:
            parts.append(self.heading)
        parts.append(self.text)
        return "\n".join(p for p in parts if p)

    def lexical_text(self) -> str:
        """What BM25 sees: the embedding text plus the article's tags (keywords by the author)."""
        return self.embedding_text() + ("\n" + " ".join(self.tags) if self.tags else "")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tags"] = list(self.tags)
        data["questions"] = list(self.questions)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Chunk:
        return cls(**{**data, "tags": tuple(data.get("tags") or ()),
                      "questions": tuple(data.get("questions") or ())})


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:60] or "faq"


def _tags(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(t.strip() for t in re.split(r"[;,|]", value) if t.strip())
    return tuple(str(t) for t in value)


def _questions(value: Any, source: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value.strip(),)
    if not isinstance(value, list):
        raise SourceError(f"{source}: 'questions' must be a list of questions")
    return tuple(str(q).strip() for q in value if str(q).strip())


def parse_markdown(text: str, source: str = "<string>", default_lang: str | None = None) -> Article:
    """An article from Markdown with front matter (``id``, ``lang``, ``title``, ``url``, tags)."""
    match = _FRONT_MATTER.match(text)
    meta: dict[str, Any] = {}
    body = text
    if match:
        try:
            meta = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise SourceError(f"{source}: front matter is not valid YAML: {exc}") from exc
        if not isinstance(meta, dict):
            raise SourceError(f"{source}: front matter must be a mapping")
        body = text[match.end():]
    stem = Path(source).stem
    lang = str(meta.get("lang") or default_lang or "").strip().lower()
    if not lang:
        raise SourceError(f"{source}: no 'lang' in front matter and none implied by the folder")
    title = str(meta.get("title") or "").strip()
    if not title:
        first = next((m for m in map(_HEADING.match, body.splitlines()) if m), None)
        title = first.group(2) if first else stem
    return Article(
        id=str(meta.get("id") or stem),
        lang=lang,
        title=title,
        body=body.strip(),
        url=str(meta.get("url") or ""),
        tags=_tags(meta.get("tags")),
        market=str(meta["market"]) if meta.get("market") else None,
        source=source,
        questions=_questions(meta.get("questions"), source),
    )


def _qa_article(row: dict[str, Any], source: str, line: int, default_lang: str | None) -> Article:
    question = str(row.get("question") or "").strip()
    answer = str(row.get("answer") or "").strip()
    if not question or not answer:
        raise SourceError(f"{source}:{line}: each row needs non-empty 'question' and 'answer'")
    lang = str(row.get("lang") or default_lang or "es").strip().lower()
    return Article(
        id=str(row.get("id") or "").strip() or f"faq-{_slug(question)}",
        lang=lang,
        title=question,
        body=answer,
        url=str(row.get("url") or "").strip(),
        tags=_tags(row.get("tags")),
        market=str(row["market"]) if row.get("market") else None,
        source=source,
        questions=(question,),
    )


def load_csv(path: Path, default_lang: str | None = None) -> list[Article]:
    """A FAQ export with columns ``question,answer`` and optional ``lang,id,url,tags``."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = {c.strip().lower() for c in reader.fieldnames or []}
        if not {"question", "answer"} <= columns:
            raise SourceError(f"{path}: a FAQ CSV needs 'question' and 'answer' columns, "
                              f"found {sorted(columns)}")
        return [
            _qa_article({(k or "").strip().lower(): v for k, v in row.items()}, str(path), n,
                        default_lang)
            for n, row in enumerate(reader, start=2)
        ]


def load_jsonl(path: Path, default_lang: str | None = None) -> list[Article]:
    """A FAQ export with one ``{"question", "answer", ...}`` object per line."""
    articles = []
    with path.open(encoding="utf-8") as handle:
        for n, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SourceError(f"{path}:{n}: not valid JSON: {exc.msg}") from exc
            articles.append(_qa_article(row, str(path), n, default_lang))
    return articles


def _lang_from_folder(path: Path) -> str | None:
    return path.name if path.name in ("es", "en") else None


def load_path(path: str | Path) -> list[Article]:
    """Articles from a Markdown file, a CSV/JSONL FAQ file, saved help-centre HTML pages (or the
    ``sitemap.xml`` listing them: :mod:`kb_index.importers`), or a folder of any of them.

    A folder named ``es`` or ``en`` supplies the language for files that do not state one.
    """
    root = Path(path)
    if not root.exists():
        raise SourceError(f"{root}: no such file or folder")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    # A folder with a sitemap.xml is imported through it (its URLs), not page by page.
    in_sitemap = root.is_dir() and (root / "sitemap.xml").is_file()
    articles: list[Article] = []
    for file in files:
        lang = _lang_from_folder(file.parent)
        suffix = file.suffix.lower()
        if suffix in (".md", ".markdown"):
            articles.append(parse_markdown(file.read_text(encoding="utf-8"), str(file), lang))
        elif suffix == ".csv":
            articles.extend(load_csv(file, lang))
        elif suffix == ".jsonl":
            articles.extend(load_jsonl(file, lang))
        elif suffix in (".html", ".htm") and not in_sitemap:
            from kb_index.importers import load_html

            articles.extend(load_html(file, lang))
        elif file.name == "sitemap.xml":
            from kb_index.importers import load_html, sitemap_files

            for page, url in sitemap_files(file):
                articles.extend(load_html(page, _lang_from_folder(page.parent) or lang, url))
        elif root.is_file():
            raise SourceError(f"{file}: unsupported file type {suffix!r} (use .md, .csv, .jsonl, "
                              f".html or a sitemap.xml)")
    return articles


def load_sources(paths: Iterable[str | Path],
                 policies: str | Path | None | PolicyFacts = "default") -> list[Article]:
    """Articles from several inputs, with policy placeholders filled in.

    ``policies`` is the folder of per-market policy files (default: ``ATIENDE_POLICY_DIR`` or the
    checkout's ``data/policies``, when it exists), already loaded facts, or ``None`` for none.
    The same (id, lang) twice is an authoring error.
    """
    articles: list[Article] = []
    seen: dict[tuple[str, str], str] = {}
    for path in paths:
        for article in load_path(path):
            key = (article.id, article.lang)
            if key in seen:
                raise SourceError(f"{article.source}: article id {article.id!r} ({article.lang}) "
                                  f"already defined in {seen[key]}")
            seen[key] = article.source
            articles.append(article)
    return render_articles(articles, _facts(policies))


def _facts(policies: str | Path | None | PolicyFacts) -> PolicyFacts | None:
    if policies is None or isinstance(policies, PolicyFacts):
        return policies
    if policies == "default":
        folder = policy_dir()
        return load_facts(folder) if folder.is_dir() else None
    return load_facts(policies)


def _sections(body: str) -> Iterator[tuple[str, str]]:
    heading = ""
    lines: list[str] = []
    for line in body.splitlines():
        match = _HEADING.match(line)
        if match:
            if "\n".join(lines).strip():
                yield heading, "\n".join(lines).strip()
            heading, lines = match.group(2), []
        else:
            lines.append(line)
    if "\n".join(lines).strip():
        yield heading, "\n".join(lines).strip()


def _split_long(text: str, limit: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    pieces, current = [], ""
    for paragraph in re.split(r"\n\s*\n", text):
        if current and len(current) + len(paragraph) + 2 > limit:
            pieces.append(current)
            current = paragraph
        else:
            current = f"{current}\n\n{paragraph}" if current else paragraph
    if current:
        pieces.append(current)
    return pieces


def chunk_article(article: Article, max_chars: int = MAX_CHUNK_CHARS) -> list[Chunk]:
    """One chunk per heading section (long sections split at paragraphs); never zero chunks."""
    sections = list(_sections(article.body)) or [("", article.title)]
    chunks = []
    for heading, text in sections:
        for piece in _split_long(text, max_chars):
            chunks.append(Chunk(
                chunk_id=f"{article.lang}/{article.id}#{len(chunks)}",
                article_id=article.id, lang=article.lang, title=article.title, url=article.url,
                heading=heading, text=piece, tags=article.tags, questions=article.questions,
            ))
    return chunks


def chunk_articles(articles: Iterable[Article]) -> list[Chunk]:
    return [chunk for article in articles for chunk in chunk_article(article)]


def corpus_hash(chunks: Iterable[Chunk]) -> str:
    """A digest of everything that reaches the index; equal hashes mean nothing to rebuild."""
    digest = hashlib.sha256(f"chunking-v{CHUNKING_VERSION}\n".encode())
    for chunk in sorted(chunks, key=lambda c: c.chunk_id):
        digest.update(json.dumps(chunk.to_json(), sort_keys=True, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()
