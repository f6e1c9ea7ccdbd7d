"""The WhatsApp message-template registry, shared by the bot (CSAT outside the window) and the
handoff API (agent replies after 24 h, order notices).

One file holds the registry: ``data/whatsapp_templates.yml`` (``WHATSAPP_TEMPLATES_FILE``). Each
entry names a template as it was created in WhatsApp Manager — ``name``, ``language``,
``category`` (``UTILITY``, ``MARKETING``, ``AUTHENTICATION``), the ``body`` with its ``{{1}}`` /
``{{name}}`` placeholders, its ``parameters`` (a label per language for the agent, an example) and
its quick-reply ``buttons`` — plus what Atiende uses it for (``use``: ``agent`` offers it in the
console, ``csat`` asks for the rating, ``order_shipped``…). The Graph API's template list
(``GET /{waba-id}/message_templates``) is the truth about what exists and is approved: a sync
(:func:`from_graph`, :func:`merge`) writes what Meta says next to the file
(``whatsapp_templates.synced.json`` in the data directory) and the registry is the file's entries
completed and corrected by it — a template Meta does not list is shown as ``MISSING``, a status
other than ``APPROVED`` is never offered.

Pure Python (PyYAML only), no I/O at import time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "whatsapp_templates.yml"
SYNCED_NAME = "whatsapp_templates.synced.json"
APPROVED = "APPROVED"
MISSING = "MISSING"  # in the file, not in Meta's list at the last sync
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
#: Meta's limits: a body parameter may not hold new lines, tabs or more than 4 spaces in a row
_BAD_PARAM = re.compile(r"[\n\t]| {5,}")
PARAM_LIMIT = 1024

#: Graph API error codes of template sends, as the agent should read them (es / en).
TEMPLATE_ERRORS: dict[int, dict[str, str]] = {
    131047: {"es": "han pasado más de 24 horas desde el último mensaje del cliente: solo se "
                   "puede enviar una plantilla aprobada",
             "en": "more than 24 hours since the shopper's last message: only an approved "
                   "template can be sent"},
    131026: {"es": "WhatsApp no puede entregar el mensaje a este número (no usa WhatsApp o no "
                   "aceptó las condiciones)",
             "en": "WhatsApp cannot deliver to this number (not on WhatsApp, or terms not "
                   "accepted)"},
    132000: {"es": "el número de parámetros no coincide con la plantilla",
             "en": "the number of parameters does not match the template"},
    132001: {"es": "la plantilla no existe en ese idioma (nombre o idioma equivocado, o aún no "
                   "aprobada)",
             "en": "the template does not exist in that language (wrong name or language, or "
                   "not approved yet)"},
    132005: {"es": "el texto con los parámetros es demasiado largo",
             "en": "the text with its parameters is too long"},
    132007: {"es": "el contenido infringe la política de WhatsApp",
             "en": "the content breaks WhatsApp's policy"},
    132012: {"es": "un parámetro tiene un formato que la plantilla no admite",
             "en": "a parameter has a format the template does not accept"},
    132015: {"es": "la plantilla está en pausa por su baja calidad",
             "en": "the template is paused for low quality"},
    132016: {"es": "la plantilla está desactivada", "en": "the template is disabled"},
}


@dataclass(frozen=True)
class Parameter:
    name: str  # "1", "2"… (positional) or the named placeholder
    label: dict[str, str] = field(default_factory=dict)  # es/en label for the agent
    example: str = ""


@dataclass(frozen=True)
class Template:
    name: str
    language: str  # Meta's code: es, es_MX, en, en_US…
    category: str = "UTILITY"
    status: str = APPROVED
    body: str = ""
    parameters: tuple[Parameter, ...] = ()
    buttons: tuple[str, ...] = ()  # quick-reply button texts, in order
    use: tuple[str, ...] = ()
    named: bool = False  # {{first_name}} placeholders (Meta's parameter_format NAMED)

    @property
    def key(self) -> str:
        return f"{self.name}:{self.language}"

    @property
    def approved(self) -> bool:
        return self.status == APPROVED

    @property
    def lang(self) -> str:
        """``es`` / ``en`` of a Meta language code (``es_MX`` → ``es``)."""
        return self.language.split("_")[0].lower()

    def view(self, agent_language: str = "es") -> dict[str, Any]:
        """What the console shows (labels in the agent's language)."""
        data = asdict(self)
        data["parameters"] = [{"name": p.name, "example": p.example,
                               "label": p.label.get(agent_language) or p.label.get("es")
                               or p.name} for p in self.parameters]
        data["key"] = self.key
        return data


class TemplateError(ValueError):
    """Parameters that cannot fill a template (the agent is told which and why)."""


def placeholders(body: str) -> list[str]:
    """Placeholder names in order of first appearance."""
    seen: list[str] = []
    for name in PLACEHOLDER.findall(body or ""):
        if name not in seen:
            seen.append(name)
    return seen


def _template(entry: Mapping[str, Any]) -> Template:
    name, language = str(entry.get("name") or ""), str(entry.get("language") or "")
    if not re.fullmatch(r"[a-z0-9_]{1,512}", name):
        raise ValueError(f"template name {name!r}: lower-case letters, digits and _ only")
    if not re.fullmatch(r"[a-z]{2,3}(_[A-Z]{2})?", language):
        raise ValueError(f"template {name}: language {language!r} is not a Meta code (es, es_MX)")
    body = str(entry.get("body") or "")
    given = {str(p.get("name")): p for p in entry.get("parameters") or []
             if isinstance(p, Mapping)}
    params = []
    for pname in placeholders(body):
        p = given.get(pname, {})
        label = p.get("label") or {}
        if isinstance(label, str):
            label = {"es": label, "en": label}
        params.append(Parameter(pname, {str(k): str(v) for k, v in label.items()},
                                str(p.get("example") or "")))
    unknown = set(given) - {p.name for p in params}
    if unknown:
        raise ValueError(f"template {name}: parameters {sorted(unknown)} are not in its body")
    use = entry.get("use") or []
    return Template(name=name, language=language,
                    category=str(entry.get("category") or "UTILITY").upper(),
                    status=str(entry.get("status") or APPROVED).upper(), body=body,
                    parameters=tuple(params),
                    buttons=tuple(str(b) for b in entry.get("buttons") or []),
                    use=tuple([use] if isinstance(use, str) else (str(u) for u in use)),
                    named=any(not p.name.isdigit() for p in params))


def load_file(path: Path | str | None = None) -> list[Template]:
    """The templates of the registry file (an empty list when the file does not exist)."""
    import yaml

    file = Path(path) if path else DEFAULT_FILE
    if not file.is_file():
        return []
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    return [_template(e) for e in data.get("templates") or []]


def from_graph(items: Iterable[Mapping[str, Any]]) -> list[Template]:
    """Templates from the Graph API's ``message_templates`` list (``data`` items: name,
    language, status, category, components with BODY text and BUTTONS)."""
    out = []
    for item in items:
        body, buttons, examples = "", [], []
        for comp in item.get("components") or []:
            kind = str(comp.get("type") or "").upper()
            if kind == "BODY":
                body = str(comp.get("text") or "")
                ex = comp.get("example") or {}
                examples = list((ex.get("body_text") or [[]])[0] or []) or \
                    [p.get("example") for p in ex.get("body_text_named_params") or []]
            elif kind == "BUTTONS":
                buttons = [str(b.get("text") or "") for b in comp.get("buttons") or []
                           if str(b.get("type") or "").upper() == "QUICK_REPLY"]
        names = placeholders(body)
        params = [{"name": n, "example": examples[i] if i < len(examples) else ""}
                  for i, n in enumerate(names)]
        try:
            out.append(_template({"name": item.get("name"), "language": item.get("language"),
                                  "category": item.get("category"), "status": item.get("status"),
                                  "body": body, "parameters": params, "buttons": buttons}))
        except ValueError:
            continue  # a shape we do not understand is not offered
    return out


def merge(configured: list[Template], synced: list[Template] | None) -> list[Template]:
    """The registry: the file's entries with Meta's status, body and buttons when a sync has run
    (labels and ``use`` stay the file's); templates only Meta knows are added, with no ``use``."""
    if synced is None:
        return list(configured)
    remote = {t.key: t for t in synced}
    out = []
    for mine in configured:
        theirs = remote.pop(mine.key, None)
        if theirs is None:
            out.append(replace(mine, status=MISSING))
            continue
        labels = {p.name: p for p in mine.parameters}
        params = tuple(replace(p, label=labels[p.name].label,
                               example=p.example or labels[p.name].example)
                       if p.name in labels else p for p in theirs.parameters)
        out.append(replace(theirs, parameters=params, use=mine.use))
    return out + sorted(remote.values(), key=lambda t: t.key)


def load_synced(data_dir: Path | str) -> list[Template] | None:
    file = Path(data_dir) / SYNCED_NAME
    if not file.is_file():
        return None
    try:
        return from_graph(json.loads(file.read_text(encoding="utf-8")).get("data") or [])
    except (ValueError, OSError):
        return None


def save_synced(data_dir: Path | str, items: list[Mapping[str, Any]], at: str) -> Path:
    file = Path(data_dir) / SYNCED_NAME
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"synced_at": at, "data": list(items)}, ensure_ascii=False),
                   encoding="utf-8")
    tmp.replace(file)
    return file


def registry(data_dir: Path | str | None, path: Path | str | None = None) -> list[Template]:
    return merge(load_file(path), load_synced(data_dir) if data_dir else None)


def check_values(template: Template, values: Mapping[str, Any]) -> dict[str, str]:
    """Every parameter filled, within Meta's rules; raises :class:`TemplateError` naming it."""
    out = {}
    for p in template.parameters:
        value = str(values.get(p.name) or "").strip()
        if not value:
            raise TemplateError(f"parameter {p.name} is empty")
        if _BAD_PARAM.search(value):
            raise TemplateError(f"parameter {p.name} has a new line, a tab or more than four "
                                "spaces in a row (WhatsApp refuses them)")
        if len(value) > PARAM_LIMIT:
            raise TemplateError(f"parameter {p.name} is longer than {PARAM_LIMIT} characters")
        out[p.name] = value
    extra = set(values) - {p.name for p in template.parameters}
    if extra:
        raise TemplateError(f"template {template.name} has no parameter {sorted(extra)[0]}")
    return out


def render(template: Template, values: Mapping[str, str]) -> str:
    """The text the shopper will read (the console's preview and the stored message)."""
    text = PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), template.body)
    if template.buttons:
        text += "\n" + " · ".join(f"[{b}]" for b in template.buttons)
    return text


def components(template: Template, values: Mapping[str, str],
               payloads: list[str] | None = None) -> list[dict[str, Any]]:
    """The ``template.components`` of a Cloud API send: the body parameters (positional, or
    with ``parameter_name`` for named templates) and a payload per quick-reply button."""
    out: list[dict[str, Any]] = []
    if template.parameters:
        params = []
        for p in template.parameters:
            item: dict[str, Any] = {"type": "text", "text": values[p.name]}
            if template.named:
                item["parameter_name"] = p.name
            params.append(item)
        out.append({"type": "body", "parameters": params})
    for i, payload in enumerate((payloads or [])[:len(template.buttons)]):
        out.append({"type": "button", "sub_type": "quick_reply", "index": str(i),
                    "parameters": [{"type": "payload", "payload": payload}]})
    return out


def pick(templates: Iterable[Template], use: str, language: str) -> Template | None:
    """The approved template for ``use`` in the shopper's language (``es`` matches ``es_MX``),
    else in Spanish, else any approved one."""
    usable = [t for t in templates if use in t.use and t.approved]
    for wanted in (language, "es"):
        for t in usable:
            if t.language == wanted or t.lang == wanted.split("_")[0]:
                return t
    return usable[0] if usable else None


def error_text(code: int | None, language: str = "es") -> str | None:
    texts = TEMPLATE_ERRORS.get(code or 0)
    return texts.get(language, texts["es"]) if texts else None
