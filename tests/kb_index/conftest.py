"""A tiny two-language corpus and a fast deterministic encoder for the kb_index tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb_index.encoders import HashingEncoder

RETURN_ES = """---
id: return-policy
lang: es
title: Política de devoluciones
url: https://tienda.example/ayuda/devoluciones
tags: [devoluciones, plazo]
market: all
---
# Política de devoluciones

Tienes 30 días desde la entrega para devolver cualquier artículo sin usar.

## Qué no se puede devolver
Ropa interior, bañadores sin precinto y tarjetas regalo.
"""

RETURN_EN = """---
id: return-policy
lang: en
title: Return policy
url: https://shop.example/help/returns
tags: [returns]
---
# Return policy

You have 30 days from delivery to return any unused item.

## What cannot be returned
Underwear, swimwear without the hygiene seal and gift cards.
"""

SHIPPING_ES = """---
id: shipping-times
lang: es
title: Plazos de envío
url: https://tienda.example/ayuda/envios
tags: [envío, entrega]
---
# Plazos de envío

Los pedidos llegan en 2 a 4 días laborables a la península.
"""

PAYMENT_ES = """---
id: payment-methods
lang: es
title: Formas de pago
url: https://tienda.example/ayuda/pago
---
Aceptamos tarjeta, PayPal, Bizum y pago contra reembolso.
"""


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """``kb/es`` + ``kb/en`` Markdown folders like data/kb."""
    root = tmp_path / "kb"
    (root / "es").mkdir(parents=True)
    (root / "en").mkdir()
    (root / "es" / "return-policy.md").write_text(RETURN_ES, encoding="utf-8")
    (root / "en" / "return-policy.md").write_text(RETURN_EN, encoding="utf-8")
    (root / "es" / "shipping-times.md").write_text(SHIPPING_ES, encoding="utf-8")
    (root / "es" / "payment-methods.md").write_text(PAYMENT_ES, encoding="utf-8")
    return root


@pytest.fixture
def faq_csv(tmp_path: Path) -> Path:
    path = tmp_path / "faq.csv"
    path.write_text(
        "question,answer,lang,id,url\n"
        "¿Hacéis envíos a Canarias?,\"Sí, en 5 a 7 días; el IVA no se cobra.\",es,canarias,"
        "https://tienda.example/canarias\n"
        "Do you sell gift cards?,\"Yes, from 10 to 200 euros.\",en,,\n",
        encoding="utf-8")
    return path


@pytest.fixture
def encoder() -> HashingEncoder:
    return HashingEncoder(128)


SHIPPING_EN = """---
id: shipping-times
lang: en
title: Delivery times
url: https://shop.example/help/delivery
---
# Delivery times

Orders arrive in 2 to 4 working days on the mainland.
"""


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``kb_index build`` with USE and the second encoder (MiniLM, ONNX int8) on a small corpus,
    once per session (the export and quantisation take ~15 s)."""
    from kb_index.cli import main

    root = tmp_path_factory.mktemp("kb2")
    for lang, name, text in (("es", "return-policy", RETURN_ES), ("en", "return-policy", RETURN_EN),
                             ("es", "shipping-times", SHIPPING_ES),
                             ("en", "shipping-times", SHIPPING_EN),
                             ("es", "payment-methods", PAYMENT_ES)):
        (root / "kb" / lang).mkdir(parents=True, exist_ok=True)
        (root / "kb" / lang / f"{name}.md").write_text(text, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("KB_SECOND_ENCODER", raising=False)
        assert main(["build", "--input", str(root / "kb"), "--out", str(root / "idx"),
                     "--quiet"]) == 0
    return root
