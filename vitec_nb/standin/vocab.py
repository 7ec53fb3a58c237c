"""The words and shares the stand-in's synthetic CRM is made of (Swedish agency flavour)."""

from __future__ import annotations

# Lead score stars 0-5: most contacts are cold, few are hot.
LEAD_SCORE_SHARES = (0.38, 0.27, 0.15, 0.10, 0.06, 0.04)
# ContactScheduledOrderType: Vitec does not publish the enum; 0 = no active service.
ORDER_TYPE_SHARES = (0.72, 0.11, 0.08, 0.05, 0.03, 0.01)

FIRST_NAMES = (
    "Anna",
    "Erik",
    "Maria",
    "Lars",
    "Karin",
    "Anders",
    "Eva",
    "Johan",
    "Sara",
    "Per",
    "Emma",
    "Karl",
    "Lena",
    "Nils",
    "Ida",
    "Olof",
    "Elin",
    "Mikael",
    "Hanna",
    "Fredrik",
    "Sofia",
    "Henrik",
    "Maja",
    "Jonas",
    "Linnea",
    "Gustav",
    "Frida",
    "Oskar",
    "Klara",
    "Axel",
)
LAST_NAMES = (
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Jansson",
    "Hansson",
    "Bengtsson",
    "Lindberg",
    "Lindqvist",
    "Berg",
    "Holm",
    "Sjöberg",
    "Åberg",
    "Öberg",
    "Hedlund",
    "Ekström",
    "Lundgren",
)
TITLES = (
    "Fastighetsmäklare",
    "Registrerad fastighetsmäklare",
    "Mäklarassistent",
    "Kontorschef",
    "Säljkoordinator",
)
TITLE_SHARES = (0.45, 0.25, 0.15, 0.08, 0.07)
LIST_NAMES = (
    "Nyhetsbrev",
    "Villaspekulanter",
    "Bostadsrättsspekulanter",
    "Vill ha värdering",
    "Fritidshus",
    "Nyproduktion",
    "Kommersiella lokaler",
    "Seniorboende",
    "Tidigare säljare",
    "Julhälsning",
)
# (name, label, type, possible values)
CUSTOM_FIELDS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("Kalla", "Källa", "string", ("Hemnet", "Booli", "Visning", "Rekommendation", "Webbformulär")),
    ("Boendeform", "Önskad boendeform", "string", ("Villa", "Bostadsrätt", "Radhus", "Tomt")),
    ("Budget", "Budget (kr)", "number", ("1500000", "2500000", "3500000", "5000000", "8000000")),
    ("Omrade", "Intresseområde", "string", ("Centrum", "Söder", "Norr", "Väster", "Skärgården")),
    ("Vardering", "Vill ha värdering", "bool", ("true", "false")),
    ("Sms", "Kontakt via sms", "bool", ("true", "false")),
    ("Sprak", "Språk", "string", ("Svenska", "Engelska", "Finska", "Arabiska")),
    ("SaljaInom", "Planerar att sälja inom", "string", ("3 mån", "6 mån", "1 år", "2 år")),
)
VALID_FOR = ["Person", "Company", "DeceasedEstate"]
