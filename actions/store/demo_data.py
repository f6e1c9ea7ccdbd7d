"""Static material for the demo store: markets, customers, carriers and the product catalogue.

Kept apart from the generator (``seed.py``) so the realistic details (names, cities, carriers with
their real tracking-link formats, local payment methods) can be read and edited at a glance.
Emails use the reserved ``.example`` domains, phone numbers the fictional ranges where they exist.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Market:
    code: str
    currency: str
    rate: float  # units of currency per EUR for catalogue prices
    rounding: int  # prices end on a whole multiple of this many minor units
    carriers: tuple[str, ...]
    payments: tuple[str, ...]
    addresses: tuple[str, ...]
    sizes_footwear: tuple[str, ...]


MARKETS: dict[str, Market] = {
    "ES": Market(
        "ES", "EUR", 1.0, 10, ("SEUR", "Correos Express", "MRW"),
        ("card", "paypal", "bizum", "bank_transfer"),
        ("Calle de Atocha 27, 3º B, 28012 Madrid", "Carrer de Mallorca 214, 08008 Barcelona",
         "Avenida del Puerto 90, 46023 Valencia", "Calle Sierpes 12, 41004 Sevilla",
         "Gran Vía de Don Diego López de Haro 40, 48009 Bilbao"),
        ("38", "39", "40", "41", "42", "43", "44"),
    ),
    "MX": Market(
        "MX", "MXN", 20.0, 100, ("Estafeta", "DHL Express", "FedEx"),
        ("card", "oxxo", "mercadopago", "paypal"),
        ("Av. Álvaro Obregón 130, Roma Nte., 06700 Ciudad de México",
         "Av. Chapultepec 480, Americana, 44160 Guadalajara, Jal.",
         "Calz. del Valle 400, Del Valle, 66220 San Pedro Garza García, N.L.",
         "Blvd. 5 de Mayo 2910, Ladrillera, 72530 Puebla, Pue."),
        ("24", "25", "26", "27", "28", "29"),
    ),
    "AR": Market(
        "AR", "ARS", 1000.0, 10000, ("Andreani", "OCA", "Correo Argentino"),
        ("mercadopago", "card", "bank_transfer"),
        ("Av. Corrientes 1847, piso 4 B, C1045 CABA", "Bv. San Juan 651, X5000 Córdoba",
         "Bv. Oroño 1240, S2000 Rosario, Santa Fe", "Av. San Martín 1102, M5500 Mendoza"),
        ("37", "38", "39", "40", "41", "42", "43"),
    ),
    "CO": Market(
        "CO", "COP", 4500.0, 90000, ("Servientrega", "Coordinadora", "Interrapidísimo"),
        ("pse", "card", "nequi", "cash_on_delivery"),
        ("Carrera 7 # 71-21, apto 502, Bogotá", "Calle 10 # 43E-31, El Poblado, Medellín",
         "Avenida 6N # 23-45, Granada, Cali", "Carrera 53 # 76-115, Barranquilla"),
        ("36", "37", "38", "39", "40", "41", "42"),
    ),
    "US": Market(
        "US", "USD", 1.1, 100, ("UPS", "USPS", "FedEx"),
        ("card", "paypal", "apple_pay"),
        ("245 W 17th St, Apt 4C, New York, NY 10011", "1100 S Congress Ave, Austin, TX 78704",
         "1500 N Milwaukee Ave, Chicago, IL 60622", "401 Pine St, Seattle, WA 98101"),
        ("7", "8", "9", "10", "11", "12"),
    ),
}

TRACKING_URLS: dict[str, str] = {
    "SEUR": "https://www.seur.com/livetracking/?segOnlineIdentificador={n}",
    "Correos Express": "https://s.correosexpress.com/SeguimientoSinCP/search?n={n}",
    "MRW": "https://www.mrw.es/seguimiento_envios/MRW_resultados_consultas.asp?modo=nacional&envio={n}",
    "Estafeta": "https://www.estafeta.com/Herramientas/Rastreo?guias={n}",
    "DHL Express": "https://www.dhl.com/mx-es/home/tracking.html?tracking-id={n}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={n}",
    "Andreani": "https://www.andreani.com/#!/informacionEnvio/{n}",
    "OCA": "https://www.oca.com.ar/Busquedas/Envios?numero={n}",
    "Correo Argentino": "https://www.correoargentino.com.ar/formularios/e-commerce?id={n}",
    "Servientrega": "https://www.servientrega.com/wps/portal/rastreo-envio?guia={n}",
    "Coordinadora": "https://coordinadora.com/rastreo/rastreo-de-guia/detalle-de-rastreo-de-guia/?guia={n}",
    "Interrapidísimo": "https://www.interrapidisimo.com/sigue-tu-envio/?guia={n}",
    "UPS": "https://www.ups.com/track?tracknum={n}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={n}",
}

# (name, email, phone, language, market, vip)
CUSTOMERS: tuple[tuple[str, str, str, str, str, bool], ...] = (
    ("Lucía Martín Gómez", "lucia.martin@example.com", "+34 612 345 678", "es", "ES", False),
    ("Javier Ruiz Ortega", "javier.ruiz@example.es", "+34 699 112 233", "es", "ES", True),
    ("Carmen Navarro Gil", "carmen.navarro@example.com", "+34 655 908 172", "es", "ES", False),
    ("Sofía Hernández López", "sofia.hernandez@example.mx", "+52 55 5123 4567", "es", "MX", False),
    ("Diego Ramírez Castro", "diego.ramirez@example.com", "+52 33 3616 2890", "es", "MX", True),
    ("Valentina Torres", "valentina.torres@example.mx", "+52 81 8340 1122", "es", "MX", False),
    ("Martina González", "martina.gonzalez@example.com.ar", "+54 9 11 4321 5678", "es", "AR",
     False),
    ("Tomás Fernández", "tomas.fernandez@example.com", "+54 9 351 455 1020", "es", "AR", True),
    ("Camila Rodríguez", "camila.rodriguez@example.com.ar", "+54 9 341 612 7788", "es", "AR",
     False),
    ("Santiago Gómez Restrepo", "santiago.gomez@example.co", "+57 310 555 0123", "es", "CO", False),
    ("Isabella Vargas", "isabella.vargas@example.com", "+57 300 412 9087", "es", "CO", True),
    ("Andrés Moreno Pardo", "andres.moreno@example.co", "+57 315 234 6611", "es", "CO", False),
    ("Emily Johnson", "emily.johnson@example.com", "+1 512 555 0142", "en", "US", False),
    ("Michael Brown", "michael.brown@example.net", "+1 212 555 0187", "en", "US", True),
    ("Olivia Smith", "olivia.smith@example.org", "+1 206 555 0119", "en", "US", False),
    ("James Wilson", "james.wilson@example.co.uk", "+34 634 771 902", "en", "ES", False),
    ("Sarah Taylor", "sarah.taylor@example.com", "+34 688 240 315", "en", "ES", True),
)

# (sku, es name, en name, category, base EUR price, sized)
CATALOGUE: tuple[tuple[str, str, str, str, float, str | None], ...] = (
    ("FW-LIG-01", "Zapatillas running Ligero", "Ligero running shoes", "footwear", 89.90, "shoe"),
    ("FW-SIE-02", "Botines de piel Sierra", "Sierra leather ankle boots", "footwear", 129.0,
     "shoe"),
    ("AP-BRI-03", "Chaqueta impermeable Brisa", "Brisa rain jacket", "apparel", 119.0, "alpha"),
    ("AP-IND-04", "Vaqueros slim Índigo", "Indigo slim jeans", "apparel", 59.90, "waist"),
    ("AP-ORG-05", "Camiseta de algodón orgánico", "Organic cotton T-shirt", "apparel", 19.90,
     "alpha"),
    ("AP-MED-06", "Vestido de lino Mediterráneo", "Mediterranean linen dress", "apparel", 69.0,
     "alpha"),
    ("AP-NOR-07", "Sudadera con capucha Norte", "Norte hoodie", "apparel", 49.90, "alpha"),
    ("AC-CUE-08", "Bolso bandolera de cuero", "Leather crossbody bag", "accessories", 149.0, None),
    ("AC-POL-09", "Gafas de sol Polar", "Polar sunglasses", "accessories", 79.0, None),
    ("SW-MAR-10", "Bañador Marea", "Marea swimsuit", "swimwear", 39.90, "alpha"),
    ("UW-PAC-11", "Pack de 3 calcetines y ropa interior", "Underwear and socks 3-pack", "underwear",
     24.90, "alpha"),
    ("GC-REG-12", "Tarjeta regalo", "Gift card", "gift_card", 50.0, None),
    ("PS-PEN-13", "Pendientes de plata grabados", "Engraved silver earrings", "personalised", 45.0,
     None),
    ("AP-INV-14", "Abrigo de lana Invierno", "Invierno wool coat", "apparel", 289.0, "alpha"),
    # Above every market's agent-review threshold on its own (500 EUR, 10.000 MXN, 500.000 ARS,
    # 2.250.000 COP, 550 USD), so the "high_return" scenario needs an agent for a single item.
    ("AC-MER-15", "Reloj automático Meridiano", "Meridiano automatic watch", "accessories", 590.0,
     None),
)

# cash-on-delivery article: maximum order paid to the courier, per market (minor units).
COD_MAX_CENTS: dict[str, int] = {"ES": 300_00, "CO": 1_000_000_00}

ALPHA_SIZES = ("XS", "S", "M", "L", "XL")
WAIST_SIZES = ("28", "30", "32", "34", "36")
