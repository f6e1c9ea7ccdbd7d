"""Policy facts in one place: the policy files, their rendering into articles, and the scan that
finds article figures disagreeing with them (the Baleares 5,95 € / 3,95 € contradiction)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb_index.documents import load_sources
from kb_index.facts import (
    FactsError,
    format_money,
    load_facts,
    placeholders,
    render,
    scan,
)
from kb_index.settings import DEFAULT_POLICY_DIR

ROOT = Path(__file__).resolve().parents[2]
FACTS = load_facts(DEFAULT_POLICY_DIR)
# The demo's shipping-costs introduction before policy facts: the zone-blind "below that" price.
CONTRADICTION_ES = ("El envío es gratis a partir de 50 € en la península y Baleares; por debajo "
                    "cuesta 3,95 € (estándar) o 6,95 € (urgente 24 h).\n\n"
                    "| Baleares | 5,95 € | — | 50 € |")
CONTRADICTION_EN = ("Shipping is free on orders over €50 to mainland Spain and the Balearics; "
                    "below that it costs €3.95 (standard) or €6.95 (next-day express).")


def test_every_market_the_kb_serves_has_a_policy_file() -> None:
    assert set(FACTS.markets) >= {"ES", "MX", "AR", "CO", "US", "GB"}
    for code, market in FACTS.markets.items():
        assert market["currency"], code
        assert market["return_window_days"] >= market["statutory_withdrawal_days"], code


@pytest.mark.parametrize("cents, currency, lang, expected", [
    (595, "EUR", "es", "5,95 €"), (595, "EUR", "en", "€5.95"), (5000, "EUR", "es", "50 €"),
    (50000, "EUR", "en", "€500"), (1000000, "MXN", "es", "10.000 MXN"),
    (1000000, "MXN", "en", "MXN 10,000"), (225000000, "COP", "es", "2.250.000 COP"),
    (695, "GBP", "en", "GBP 6.95"), (110, "USD", "es", "1,10 USD"),
])
def test_money_is_written_the_way_each_language_writes_it(cents, currency, lang, expected) -> None:
    assert format_money(cents, currency, lang) == expected


def test_placeholders_render_per_language_and_unknown_keys_fail_loudly() -> None:
    text = ("Baleares: {{ES.shipping.baleares.standard_cents}}; "
            "tarjeta {{refund_business_days.card}}")
    assert render(text, "es", FACTS) == "Baleares: 5,95 €; tarjeta 3–5"
    assert render(text, "en", FACTS) == "Baleares: €5.95; tarjeta 3–5"
    with pytest.raises(FactsError, match="baleares.express_cents"):
        render("{{ES.shipping.baleares.express_cents}}", "es", FACTS)
    with pytest.raises(FactsError, match="market"):
        render("{{return_label_fee_cents}}", "es", FACTS)  # an amount needs its market
    with pytest.raises(FactsError, match="unknown market 'FR'"):
        render("{{FR.return_window_days}}", "es", FACTS)


def test_the_scan_finds_the_demo_contradiction_in_both_languages() -> None:
    problems = scan(CONTRADICTION_ES, "es", FACTS, "shipping-costs.md")
    assert [p.problem.split(" ")[0] for p in problems] == ["3,95", "6,95"]
    assert all("baleares" in p.problem for p in problems)
    assert scan(CONTRADICTION_EN, "en", FACTS)  # €3.95 next to "the Balearics"


@pytest.mark.parametrize("text, lang, fragment", [
    ("Gratis a partir de 45 €.", "es", "not an amount"),  # no market has a 45 € figure
    ("| PayPal | 3–5 días hábiles |", "es", "paypal"),  # PayPal refunds take 1–2
    ("Card refunds take 5–7 business days.", "en", "card"),
    ("Tienes 60 días desde la entrega para devolverlo.", "es", "return window"),
    ("You have 45 days from delivery to send it back.", "en", "return window"),
    ("9,95 € a Baleares", "es", "baleares"),  # the figure before the name is the name's
])
def test_the_scan_reports_figures_no_policy_backs(text, lang, fragment) -> None:
    problems = scan(text, lang, FACTS)
    assert problems and fragment in problems[0].problem


@pytest.mark.parametrize("text, lang", [
    ("| Baleares | 5,95 € | — | 50 € |", "es"),
    ("El estándar cuesta 3,95 € a la península y 5,95 € a Baleares.", "es"),
    ("A tarjeta tarda 3–5 días hábiles, a PayPal 1–2 días y por transferencia 5–7 días.", "es"),
    ("€9.95 to the Canary Islands, Ceuta and Melilla", "en"),
    ("Tienes 30 días desde la entrega.", "es"),
])
def test_the_scan_accepts_figures_the_policy_backs(text, lang) -> None:
    assert scan(text, lang, FACTS) == []


def test_every_article_agrees_with_the_policy_files() -> None:
    """The whole KB, rendered as the index sees it: no figure disagrees with data/policies."""
    articles = load_sources([ROOT / "data" / "kb"])
    assert len(articles) >= 50
    problems = [str(p) for a in articles for p in scan(a.body, a.lang, FACTS, a.source)]
    assert problems == []
    leftovers = [a.source for a in articles if placeholders(a.body) or "{{" in a.body]
    assert leftovers == []


def test_articles_quote_the_policy_instead_of_copying_it() -> None:
    """Shared figures come from placeholders in the sources, so editing a policy file changes
    every article that states it (and the actions read the same file)."""
    sources = {p: p.read_text(encoding="utf-8") for p in (ROOT / "data" / "kb").glob("*/*.md")}
    for name in ("shipping-costs", "refund-times", "return-policy", "cash-on-delivery"):
        for lang in ("es", "en"):
            assert "{{" in sources[ROOT / "data" / "kb" / lang / f"{name}.md"], (lang, name)


def test_changing_a_policy_file_changes_the_articles(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    for file in DEFAULT_POLICY_DIR.glob("*.yml"):
        text = file.read_text(encoding="utf-8")
        if file.name == "es.yml":
            text = text.replace("standard_cents: 595", "standard_cents: 495")
        (folder / file.name).write_text(text, encoding="utf-8")
    articles = load_sources([ROOT / "data" / "kb" / "es" / "shipping-costs.md"], folder)
    assert "4,95 € a Baleares" in articles[0].body
    assert "| Baleares | 4,95 € |" in articles[0].body


def test_a_placeholder_without_policy_files_stops_the_build(tmp_path: Path) -> None:
    article = tmp_path / "es" / "x.md"
    article.parent.mkdir()
    article.write_text("---\nid: x\nlang: es\ntitle: X\n---\nCuesta {{ES.shipping.baleares."
                       "standard_cents}}.\n", encoding="utf-8")
    with pytest.raises(FactsError, match="no policy folder"):
        load_sources([tmp_path], policies=None)


def test_a_market_file_must_name_its_currency(tmp_path: Path) -> None:
    (tmp_path / "fr.yml").write_text("market: FR\nreturn_window_days: 30\n", encoding="utf-8")
    with pytest.raises(FactsError, match="currency"):
        load_facts(tmp_path)
