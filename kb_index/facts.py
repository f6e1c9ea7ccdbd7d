"""Policy facts in one place: per-market YAML files rendered into the articles and checked.

A store's figures (shipping cost per zone, free-shipping threshold, return window, refund days by
payment method, the amount above which an agent reviews a refund…) appear in several help articles
*and* in the order actions. Written twice they drift apart — the demo once told a shopper that
shipping to the Balearics costs 3,95 € while the same article's table said 5,95 €. So the figures
live in ``data/policies/<market>.yml`` (plus ``_defaults.yml`` for what every market shares):

- articles reference them with placeholders such as ``{{ES.shipping.baleares.standard_cents}}``
  (``{{refund_business_days.card}}`` for a default), rendered in the article's language when the
  index is built (:func:`render`): ``5,95 €`` in Spanish, ``€5.95`` in English, ``3–5`` for a range;
- the order actions read the same files (``actions/policy_markets.py``);
- :func:`scan` reads a rendered article and reports figures that disagree with the files: money
  amounts no market defines, a figure next to a zone or payment method that is not that one's, a
  return window that is not a market's window.

Nothing here imports anything heavy; the files are small and read once per build or process.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULTS_FILE = "_defaults.yml"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")
_MARKET = re.compile(r"^[A-Z]{2}$")
#: How amounts are written per currency and language (symbol first in English, as the articles do).
_EN_SYMBOL = {"EUR": "€", "GBP": "GBP ", "USD": "USD ", "MXN": "MXN ", "ARS": "ARS ", "COP": "COP "}


class FactsError(ValueError):
    """A policy file or a placeholder is wrong; the message names the file or the key."""


@dataclass(frozen=True)
class Name:
    facts: tuple[str, ...]
    words: dict[str, tuple[str, ...]]


def _name(label: str, raw: Any, market: str | None, source: Path) -> Name:
    if not isinstance(raw, dict) or not raw.get("facts"):
        raise FactsError(f"{source}: names.{label} needs 'facts' (a list of fact paths) and the "
                         f"words per language")
    prefix = f"{market}." if market else ""
    facts = tuple(prefix + str(f) for f in raw["facts"])
    words = {str(lang): tuple(str(w) for w in ws) for lang, ws in raw.items() if lang != "facts"}
    return Name(facts, words)


@dataclass(frozen=True)
class PolicyFacts:
    """The parsed policy files: ``markets[code]`` already has the defaults merged in."""

    defaults: dict[str, Any]
    markets: dict[str, dict[str, Any]]
    source: str = ""
    #: Named things (a shipping zone, a payment method): label → the fact paths that are its
    #: figures, and the words that name it per language. Labels of a market file start "ES.".
    names: dict[str, Name] = field(default_factory=dict)

    def lookup(self, path: str) -> tuple[str | None, Any]:
        """``(market or None, value)`` of a dotted path; raises :class:`FactsError` if unknown."""
        parts = path.split(".")
        market = parts[0] if _MARKET.match(parts[0]) else None
        node: Any = self.markets.get(market) if market else self.defaults
        if market and node is None:
            raise FactsError(f"unknown market {market!r} in placeholder {{{{{path}}}}}: "
                             f"policy files define {', '.join(sorted(self.markets))}")
        for part in parts[1:] if market else parts:
            if not isinstance(node, dict) or part not in node:
                raise FactsError(f"no policy fact {path!r} (stops at {part!r}); "
                                 f"see {self.source or 'data/policies'}")
            node = node[part]
        return market, node

    def currency(self, market: str | None) -> str | None:
        return str(self.markets[market]["currency"]) if market else None


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise FactsError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise FactsError(f"{path}: a policy file must be a mapping of keys to values")
    return data


def load_facts(directory: str | Path) -> PolicyFacts:
    """Every ``<code>.yml`` in ``directory`` merged over ``_defaults.yml``.

    The market code is the file name (``es.yml`` → ``ES``) and must match the file's ``market``
    key when it has one; each market needs a ``currency``. ``names`` sections are collected apart.
    """
    root = Path(directory)
    if not root.is_dir():
        raise FactsError(f"{root}: no policy folder (one YAML file per market expected)")
    defaults = _read_yaml(root / DEFAULTS_FILE) if (root / DEFAULTS_FILE).is_file() else {}
    names: dict[str, Name] = {}
    for label, raw in (defaults.pop("names", None) or {}).items():
        names[str(label)] = _name(str(label), raw, None, root / DEFAULTS_FILE)
    markets: dict[str, dict[str, Any]] = {}
    for file in sorted(root.glob("*.yml")):
        if file.name == DEFAULTS_FILE:
            continue
        code = file.stem.upper()
        raw = _read_yaml(file)
        if str(raw.get("market", code)).upper() != code:
            raise FactsError(f"{file}: says market {raw.get('market')!r} but the file name "
                             f"makes it {code}")
        if not raw.get("currency"):
            raise FactsError(f"{file}: 'currency' is required")
        for label, words in (raw.pop("names", None) or {}).items():
            names[f"{code}.{label}"] = _name(str(label), words, code, file)
        markets[code] = _deep_merge(defaults, {**raw, "market": code})
    if not markets:
        raise FactsError(f"{root}: no market files (<code>.yml) found")
    return PolicyFacts(defaults=defaults, markets=markets, source=str(root), names=names)


# ----------------------------------------------------------------------------- formatting
def _group(number: int, sep: str) -> str:
    return f"{number:,}".replace(",", sep)


def format_money(cents: int, currency: str, lang: str) -> str:
    """``595, EUR, es`` → ``5,95 €``; ``en`` → ``€5.95``; whole amounts drop the decimals."""
    units, rest = divmod(int(cents), 100)
    if lang == "es":
        number = _group(units, ".") + (f",{rest:02d}" if rest else "")
        return f"{number} {'€' if currency == 'EUR' else currency}"
    number = _group(units, ",") + (f".{rest:02d}" if rest else "")
    return f"{_EN_SYMBOL.get(currency, currency + ' ')}{number}"


def format_value(key: str, value: Any, currency: str | None, lang: str) -> str:
    """How one fact reads in an article: money for ``*_cents``, ``3–5`` for a range, else as is."""
    if isinstance(value, bool) or value is None or isinstance(value, dict):
        raise FactsError(f"policy fact {key!r} is not a number or a range and cannot be quoted")
    money = key.endswith("_cents")
    if money and not currency:
        raise FactsError(f"policy fact {key!r} is an amount: qualify it with a market "
                         f"({{{{ES.{key}}}}}) so its currency is known")
    if isinstance(value, list):
        if money:
            return ", ".join(format_money(v, currency or "", lang) for v in value)
        if len(value) == 2 and all(isinstance(v, int) for v in value):
            return f"{value[0]}–{value[1]}"
        return ", ".join(str(v) for v in value)
    if money:
        return format_money(int(value), currency or "", lang)
    if isinstance(value, int):
        return _group(value, "." if lang == "es" else ",") if value >= 10_000 else str(value)
    return str(value)


def render(text: str, lang: str, facts: PolicyFacts, source: str = "<article>") -> str:
    """``text`` with every ``{{path}}`` replaced by the fact, written for ``lang`` readers."""
    def one(match: re.Match[str]) -> str:
        path = match.group(1)
        try:
            market, value = facts.lookup(path)
            return format_value(path, value, facts.currency(market), lang)
        except FactsError as exc:
            raise FactsError(f"{source}: {exc}") from None
    return _PLACEHOLDER.sub(one, text)


def placeholders(text: str) -> list[str]:
    return _PLACEHOLDER.findall(text)


def render_articles(articles: list[Any], facts: PolicyFacts | None) -> list[Any]:
    """Articles (``kb_index.documents.Article``) with their placeholders filled in.

    An article that uses placeholders when no policy files are given is an error: a literal
    ``{{ES.…}}`` must never reach a shopper.
    """
    from dataclasses import replace

    out = []
    for article in articles:
        used = placeholders(article.body) + placeholders(article.title)
        if not used:
            out.append(article)
            continue
        if facts is None:
            raise FactsError(f"{article.source}: uses policy placeholders ({used[0]}…) but no "
                             f"policy folder was given (--policies / ATIENDE_POLICY_DIR)")
        out.append(replace(article, body=render(article.body, article.lang, facts, article.source),
                           title=render(article.title, article.lang, facts, article.source)))
    return out


# ----------------------------------------------------------------------------- scanning
_CUR = r"(?:€|EUR|USD|MXN|ARS|COP|GBP)"
_ES_AMOUNT = re.compile(r"(?<![\d.,])(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{2}))?\s?(" + _CUR + r")")
_EN_AMOUNT = re.compile(r"(€|£|\$|USD|MXN|ARS|COP|GBP)\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{2}))?"
                        r"(?![\d])")
_SYMBOLS = {"€": "EUR", "£": "GBP", "$": "USD"}
_RANGE = re.compile(r"(?<![\d.,:])(\d+)\s?(?:–|-|a|to)\s?(\d+)(?![\d.,:])")
_WINDOW = re.compile(r"(?<![\d])(\d+)\s(?:días|days)(?:\s(?:naturales|calendar))?\s(?:desde|from|"
                     r"after|de)\s(?:la\s|the\s)?(?:entrega|delivery|recib)", re.IGNORECASE)


@dataclass(frozen=True)
class Mention:
    kind: str  # "money" or "range"
    value: Any  # (cents, currency) or (low, high)
    start: int
    text: str


@dataclass(frozen=True)
class Disagreement:
    source: str
    line: int
    text: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.problem} — «{self.text.strip()[:140]}»"


def money_mentions(text: str, lang: str) -> Iterator[Mention]:
    """Amounts with a currency, read the way the language writes them (``5,95 €`` / ``€5.95``)."""
    if lang == "es":
        for m in _ES_AMOUNT.finditer(text):
            units = int(m.group(1).replace(".", ""))
            cents = units * 100 + int(m.group(2) or 0)
            yield Mention("money", (cents, _SYMBOLS.get(m.group(3), m.group(3))), m.start(),
                          m.group(0))
    else:
        for m in _EN_AMOUNT.finditer(text):
            units = int(m.group(2).replace(",", ""))
            cents = units * 100 + int(m.group(3) or 0)
            yield Mention("money", (cents, _SYMBOLS.get(m.group(1), m.group(1))), m.start(),
                          m.group(0))


def range_mentions(text: str) -> Iterator[Mention]:
    for m in _RANGE.finditer(text):
        yield Mention("range", (int(m.group(1)), int(m.group(2))), m.start(), m.group(0))


def _leaves(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            for sub, leaf in _leaves(value):
                yield (f"{key}.{sub}" if sub else str(key)), leaf
    else:
        yield "", node


def _figures(node: Any, currency: str | None) -> set[tuple[str, Any]]:
    """Every figure under a policy node, as ("money", (cents, cur)) or ("range", (a, b))."""
    out: set[tuple[str, Any]] = set()
    for key, leaf in _leaves(node):
        values = leaf if isinstance(leaf, list) else [leaf]
        if key.endswith("_cents") and currency:
            out |= {("money", (int(v), currency)) for v in values if isinstance(v, int)}
        elif isinstance(leaf, list) and len(leaf) == 2 and all(isinstance(v, int) for v in leaf):
            out.add(("range", (leaf[0], leaf[1])))
    return out


def _all_money(facts: PolicyFacts) -> set[tuple[int, str]]:
    return {value for code, market in facts.markets.items()
            for kind, value in _figures(market, market["currency"]) if kind == "money"}


def _name_figures(facts: PolicyFacts, name: Name) -> set[tuple[str, Any]]:
    """A name's figures; an unqualified fact counts in every market that has it."""
    figures: set[tuple[str, Any]] = set()
    for path in name.facts:
        if _MARKET.match(path.split(".")[0]):
            market, node = facts.lookup(path)
            figures |= _figures(node, facts.currency(market))
            continue
        for code in facts.markets:
            try:
                figures |= _figures(facts.lookup(f"{code}.{path}")[1], facts.currency(code))
            except FactsError:
                continue
    return figures


def _entities(facts: PolicyFacts, lang: str) -> list[tuple[re.Pattern[str], str, set[Any]]]:
    """(word pattern, label, figures) for each named zone / payment method."""
    found = []
    for label, name in facts.names.items():
        figures = _name_figures(facts, name)
        if not figures:
            raise FactsError(f"names.{label}: its facts {list(name.facts)} define no figure")
        for word in name.words.get(lang, ()):
            found.append((re.compile(rf"(?<!\w){re.escape(word)}", re.IGNORECASE), label, figures))
    return found


_LINKING = re.compile(r"^\s*(?:(?:a|al|en|a la|de|del|la|el|to|the|for|in)\s+)*$", re.IGNORECASE)


def _owner(segment: str, mention: Mention,
           names: list[tuple[int, int, str, set[Any]]]) -> tuple[str, set[Any]] | None:
    """The zone or method a figure belongs to: the name right after it when only linking words
    stand between them ("5,95 € a Baleares", "€9.95 to the Canary Islands"), else the nearest
    name before it ("Baleares: 5,95 €", "PayPal 1–2 días")."""
    end = mention.start + len(mention.text)
    after = sorted((n for n in names if n[0] >= end), key=lambda n: n[0])
    if after and _LINKING.match(segment[end:after[0][0]]):
        return after[0][2], after[0][3]
    before = sorted((n for n in names if n[1] <= mention.start), key=lambda n: n[1])
    if before:
        return before[-1][2], before[-1][3]
    return None


def _segments(text: str) -> Iterator[tuple[int, str]]:
    """(line number, sentence or table row): the unit inside which a figure belongs to a name."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("|"):
            yield number, line
            continue
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-ZÁÉÍÓÚÑ¿¡])", line):
            yield number, sentence


def scan(text: str, lang: str, facts: PolicyFacts, source: str = "<article>") -> list[Disagreement]:
    """Figures in a rendered article that disagree with the policy files.

    1. every money amount must be an amount some market's policy defines in that currency;
    2. a figure next to the name of a zone or payment method (the nearest name in the same
       sentence or table row) must be one of that zone's / method's figures of its kind;
    3. "N días desde la entrega" / "N days from delivery" must be a market's return window or
       legal withdrawal period.
    """
    problems: list[Disagreement] = []
    known = _all_money(facts)
    entities = _entities(facts, lang)
    windows = {int(m.get(k) or 0) for m in facts.markets.values()
               for k in ("return_window_days", "statutory_withdrawal_days")}
    for line, segment in _segments(text):
        money = list(money_mentions(segment, lang))
        for mention in money:
            if mention.value not in known:
                cents, cur = mention.value
                problems.append(Disagreement(source, line, segment,
                                             f"{mention.text.strip()} is not an amount in any "
                                             f"{cur} policy file"))
        names = [(m.start(), m.end(), label, figures) for pattern, label, figures in entities
                 for m in pattern.finditer(segment)]
        for mention in money + list(range_mentions(segment)):
            owner = _owner(segment, mention, names)
            if owner is None:
                continue
            path, figures = owner
            same_kind = {v for kind, v in figures if kind == mention.kind}
            if same_kind and mention.value not in same_kind:
                problems.append(Disagreement(source, line, segment,
                                             f"{mention.text.strip()} next to a name of {path} "
                                             f"is not one of its figures"))
        for m in _WINDOW.finditer(segment):
            if int(m.group(1)) not in windows:
                problems.append(Disagreement(source, line, segment,
                                             f"{m.group(0)}: {m.group(1)} days is not a return "
                                             f"window or legal withdrawal period of any market"))
    return problems
