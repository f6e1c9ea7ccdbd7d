"""The demo store's catalogue: every product its orders contain, plus two best sellers shoppers ask
about before buying (the Urban Runner sneakers and the Chelsea boots).

Each product has its colours, sizes, stock per variant and a description in Spanish and English
with the facts shoppers ask ("¿son impermeables?", "what are they made of?"). Stock is fixed for
the two best sellers (the conversation tests rely on it: the Urban Runner 42 is sold out in black
but not in white) and seeded-random for the rest. The same data seeds the SQLite demo store and the
platform stand-ins used by the contract tests, so every backend answers the same questions the
same way. Prices are in EUR (the demo store's default market, ES).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from actions.store.demo_data import ALPHA_SIZES, CATALOGUE, WAIST_SIZES

SHOE_SIZES = ("36", "37", "38", "39", "40", "41", "42", "43", "44", "45")
STORE_URL = "https://tienda.atiende-demo.example"
CURRENCY = "EUR"


@dataclass(frozen=True)
class DemoVariant:
    sku: str
    size: str | None
    colour_es: str | None
    colour_en: str | None
    price_cents: int
    stock: int


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    handle: str
    name_es: str
    name_en: str
    category: str
    description_es: str
    description_en: str
    variants: tuple[DemoVariant, ...]

    @property
    def url(self) -> str:
        return f"{STORE_URL}/productos/{self.handle}"

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_es

    def description(self, lang: str) -> str:
        return self.description_en if lang == "en" else self.description_es


# sku -> (handle, colours [(es, en)], es description, en description)
_DETAILS: dict[str, tuple[str, tuple[tuple[str, str], ...], str, str]] = {
    "FW-LIG-01": (
        "zapatillas-running-ligero", (("Azul", "Blue"), ("Gris", "Grey")),
        "Zapatillas de running para asfalto. Pesan 240 g (talla 42). Malla técnica transpirable, "
        "no son impermeables. Mediasuela de espuma con amortiguación media y drop de 8 mm. "
        "Horma normal: pide tu talla habitual.",
        "Road running shoes. They weigh 240 g (EU size 42). Breathable technical mesh, not "
        "waterproof. Foam midsole with medium cushioning and an 8 mm drop. Regular fit: order "
        "your usual size."),
    "FW-SIE-02": (
        "botines-piel-sierra", (("Marrón", "Brown"), ("Negro", "Black")),
        "Botines de piel de ante con cordones. Forro textil cálido y suela de goma con buen "
        "agarre. El ante no es impermeable: recomendamos un spray protector. Horma algo "
        "estrecha: si tienes el pie ancho, pide media talla más.",
        "Lace-up suede leather ankle boots. Warm textile lining and a grippy rubber sole. Suede "
        "is not waterproof: we recommend a protective spray. Slightly narrow fit: if you have "
        "wide feet, go half a size up."),
    "AP-BRI-03": (
        "chaqueta-impermeable-brisa", (("Amarillo", "Yellow"), ("Azul marino", "Navy")),
        "Chaqueta impermeable con costuras termoselladas (columna de agua de 10.000 mm) y capucha "
        "ajustable. Tejido transpirable, se pliega en su propio bolsillo.",
        "Waterproof jacket with taped seams (10,000 mm water column) and an adjustable hood. "
        "Breathable fabric; it packs into its own pocket."),
    "AP-IND-04": (
        "vaqueros-slim-indigo", (("Índigo", "Indigo"),),
        "Vaqueros de corte slim en algodón con un 2 % de elastano. Tiro medio. Lavar del revés "
        "a 30 °C.",
        "Slim-fit jeans in cotton with 2% elastane. Mid rise. Wash inside out at 30 °C."),
    "AP-ORG-05": (
        "camiseta-algodon-organico", (("Blanco", "White"), ("Negro", "Black")),
        "Camiseta de algodón 100 % orgánico certificado GOTS, 180 g/m². Corte recto.",
        "T-shirt in 100% GOTS-certified organic cotton, 180 g/m². Straight fit."),
    "AP-MED-06": (
        "vestido-lino-mediterraneo", (("Blanco", "White"), ("Terracota", "Terracotta")),
        "Vestido midi de lino 100 %. Fresco y ligero, con bolsillos laterales. Lavar a mano o a "
        "30 °C.",
        "Midi dress in 100% linen. Cool and light, with side pockets. Hand wash or 30 °C."),
    "AP-NOR-07": (
        "sudadera-capucha-norte", (("Gris", "Grey"), ("Verde", "Green")),
        "Sudadera con capucha de felpa de algodón (80 %) y poliéster reciclado (20 %). Interior "
        "perchado, muy calentita.",
        "Hoodie in cotton (80%) and recycled polyester (20%) fleece. Brushed inside, very warm."),
    "AC-CUE-08": (
        "bolso-bandolera-cuero", (("Camel", "Tan"), ("Negro", "Black")),
        "Bolso bandolera de piel de vacuno curtida al vegetal. Correa ajustable y cierre de "
        "cremallera. Medidas: 24 × 17 × 7 cm.",
        "Crossbody bag in vegetable-tanned cowhide leather. Adjustable strap and zip fastening. "
        "Size: 24 × 17 × 7 cm."),
    "AC-POL-09": (
        "gafas-sol-polar", (("Negro", "Black"), ("Carey", "Tortoiseshell")),
        "Gafas de sol con lentes polarizadas categoría 3 y protección UV400. Montura de acetato.",
        "Sunglasses with category 3 polarised lenses and UV400 protection. Acetate frame."),
    "SW-MAR-10": (
        "banador-marea", (("Azul", "Blue"), ("Rojo", "Red")),
        "Bañador de tela reciclada con protección solar UPF 50+. Se devuelve solo con el "
        "precinto higiénico intacto.",
        "Swimsuit in recycled fabric with UPF 50+ sun protection. Returnable only with the "
        "hygiene seal intact."),
    "UW-PAC-11": (
        "pack-calcetines-ropa-interior", (("Surtido", "Assorted"),),
        "Pack de 3: calcetines y ropa interior de algodón peinado. Por higiene no admite "
        "devolución una vez abierto.",
        "3-pack: socks and underwear in combed cotton. For hygiene reasons it can't be returned "
        "once opened."),
    "GC-REG-12": (
        "tarjeta-regalo", (),
        "Tarjeta regalo digital de 50 €, válida un año en toda la tienda. Se envía por e-mail.",
        "€50 digital gift card, valid for a year on everything in the shop. Sent by e-mail."),
    "PS-PEN-13": (
        "pendientes-plata-grabados", (("Plata", "Silver"),),
        "Pendientes de plata de ley 925 grabados con tus iniciales. Al ser personalizados, no "
        "admiten devolución.",
        "Sterling silver (925) earrings engraved with your initials. Being personalised, they "
        "can't be returned."),
    "AP-INV-14": (
        "abrigo-lana-invierno", (("Camel", "Camel"), ("Gris", "Grey")),
        "Abrigo de lana (70 %) y cachemira (10 %). Forro interior, dos bolsillos. Limpieza en "
        "seco.",
        "Coat in wool (70%) and cashmere (10%). Lined, two pockets. Dry clean only."),
    "AC-MER-15": (
        "reloj-automatico-meridiano", (("Acero", "Steel"),),
        "Reloj automático con caja de acero de 40 mm y cristal de zafiro. Resistente al agua "
        "10 ATM: apto para nadar, no para bucear.",
        "Automatic watch with a 40 mm steel case and sapphire crystal. Water resistant to "
        "10 ATM: fine for swimming, not for diving."),
}

# The two products shoppers ask about before buying, with fixed stock per (colour, size).
_BEST_SELLERS = (
    DemoProduct(
        "FW-URB-16", "zapatillas-urban-runner", "Zapatillas Urban Runner", "Urban Runner sneakers",
        "footwear",
        "Zapatillas urbanas de piel sintética con suela de goma cosida. Plantilla extraíble "
        "acolchada. No son impermeables. Horma normal: pide tu talla habitual.",
        "City sneakers in synthetic leather with a stitched rubber sole. Removable padded "
        "insole. Not waterproof. Regular fit: order your usual size.",
        tuple(DemoVariant(f"FW-URB-16-{code}-{size}", size, es, en, 7990, stock)
              for code, es, en, stocks in (
                  ("BLA", "Blanco", "White", (2, 3, 5, 6, 4, 4, 4, 3, 1, 0)),
                  ("NEG", "Negro", "Black", (0, 1, 3, 2, 2, 3, 0, 2, 1, 0)))
              for size, stock in zip(SHOE_SIZES, stocks, strict=True))),
    DemoProduct(
        "FW-CHE-17", "botas-chelsea-piel", "Botas Chelsea de piel", "Leather Chelsea boots",
        "footwear",
        "Botas Chelsea de piel de vacuno engrasada con elásticos laterales. La piel lleva un "
        "tratamiento hidrófugo: aguanta la lluvia y los charcos del día a día, pero no es una "
        "bota impermeable para la montaña ni para sumergirla. Suela de goma antideslizante y "
        "forro de piel. Horma normal.",
        "Chelsea boots in waxed cowhide leather with elastic side panels. The leather has a "
        "water-repellent treatment: it copes with rain and everyday puddles, but it is not a "
        "fully waterproof boot for hiking or for standing in water. Non-slip rubber sole and "
        "leather lining. Regular fit.",
        tuple(DemoVariant(f"FW-CHE-17-{code}-{size}", size, es, en, 11900, stock)
              for code, es, en, stocks in (
                  ("NEG", "Negro", "Black", (1, 2, 3, 3, 0, 2, 2, 1, 1, 0)),
                  ("MAR", "Marrón", "Brown", (0, 1, 2, 2, 3, 3, 0, 1, 0, 0)))
              for size, stock in zip(SHOE_SIZES, stocks, strict=True))),
)


def _sizes(kind: str | None) -> tuple[str | None, ...]:
    if kind == "shoe":
        return SHOE_SIZES
    if kind == "alpha":
        return ALPHA_SIZES
    if kind == "waist":
        return WAIST_SIZES
    return (None,)


def _colour_code(colour: str) -> str:
    return "".join(c for c in colour.upper() if c.isalpha())


def build_catalogue() -> list[DemoProduct]:
    """Every demo product with its variants; the same list on every call."""
    rng = random.Random(20261201)
    products: list[DemoProduct] = []
    for sku, name_es, name_en, category, eur, sized in CATALOGUE:
        handle, colours, desc_es, desc_en = _DETAILS[sku]
        variants = []
        for es, en in colours or ((None, None),):
            for size in _sizes(sized):
                parts = [sku] + ([_colour_code(en)] if en else []) + ([size] if size else [])
                stock = rng.choice((0, 1, 2, 3, 5, 8, 12))
                if category == "gift_card":
                    stock = 999  # digital: never runs out
                variants.append(DemoVariant("-".join(parts), size, es, en,
                                            int(round(eur * 100)), stock))
        products.append(DemoProduct(sku, handle, name_es, name_en, category, desc_es, desc_en,
                                    tuple(variants)))
    return products + list(_BEST_SELLERS)
