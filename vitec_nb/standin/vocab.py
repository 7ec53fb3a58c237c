"""The words and shares the stand-in's synthetic CRM is made of (Swedish agency flavour)."""

from __future__ import annotations

# Lead score stars 0-5 (persons and companies; deceased estates have none): most are cold.
LEAD_SCORE_SHARES = (0.38, 0.27, 0.15, 0.10, 0.06, 0.04)
# How many active services (ContactScheduledOrderType 1-3) a contact holds: mostly none.
SERVICE_COUNT_SHARES = (0.70, 0.21, 0.07, 0.02)
# Which service, when a contact holds one: 1 EstateValue, 2 FinalPricesInArea, 3 Boneo.
SERVICE_SHARES = (0.45, 0.35, 0.20)
NON_PUBLIC_SHARE = 0.25  # users not listed by User/GetUser

FIRST_NAMES = (
    "Anna", "Erik", "Maria", "Lars", "Karin", "Anders", "Eva", "Johan", "Sara", "Per",
    "Emma", "Karl", "Lena", "Nils", "Ida", "Olof", "Elin", "Mikael", "Hanna", "Fredrik",
    "Sofia", "Henrik", "Maja", "Jonas", "Linnea", "Gustav", "Frida", "Oskar", "Klara", "Axel",
)  # fmt: skip
LAST_NAMES = (
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
    "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson",
    "Bengtsson", "Lindberg", "Lindqvist", "Berg", "Holm", "Sjöberg", "Åberg", "Öberg",
    "Hedlund", "Ekström", "Lundgren",
)  # fmt: skip
COMPANY_SUFFIXES = ("Fastigheter AB", "Bygg AB", "Förvaltning AB", "Invest AB", "& Söner HB")
TITLES = (
    "Fastighetsmäklare",
    "Registrerad fastighetsmäklare",
    "Mäklarassistent",
    "Kontorschef",
    "Säljkoordinator",
)
TITLE_SHARES = (0.45, 0.25, 0.15, 0.08, 0.07)
DEPARTMENTS = ("Försäljning", "Administration", "Ledning")
LANGUAGES = ("Svenska", "Engelska", "Finska", "Arabiska", "Spanska")
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
OFFICE_NAMES = (
    "Södermalm", "Vasastan", "Kungsholmen", "Östermalm", "Solna", "Nacka", "Täby",
    "Huddinge", "Lidingö", "Bromma", "Sundbyberg", "Järfälla",
)  # fmt: skip
CHAIN = ("KED0000000000000000000000000000001", "Exempelmäklarna")  # (id, name): one demo chain
STREETS = ("Exempelgatan", "Provvägen", "Testgränd", "Demoallén", "Påhittade torget")
CITIES = (("Stockholm", "11"), ("Solna", "17"), ("Nacka", "13"), ("Täby", "18"))
PERSON_CATEGORIES = ("Köpare", "Säljare", "Spekulant", "VIP")
COMPANY_CATEGORIES = ("Leverantör", "Samarbetspartner", "Byggherre")
NOTES = ("Syntetisk demokontakt.", "Påhittad kontakt för test.", "")

# Custom fields: (name, label, type, values, validFor). The last two are valid for estates
# only: they are offered by CustomField/Get but can never match a contact.
CUSTOM_FIELDS: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Kalla", "Källa", "string", ("Hemnet", "Booli", "Visning", "Rekommendation", "Webbformulär"), ("Person", "Company")),  # noqa: E501
    ("Boendeform", "Önskad boendeform", "string", ("Villa", "Bostadsrätt", "Radhus", "Tomt"), ("Person",)),  # noqa: E501
    ("Budget", "Budget (kr)", "number", ("1500000", "2500000", "3500000", "5000000", "8000000"), ("Person", "Company")),  # noqa: E501
    ("Omrade", "Intresseområde", "string", ("Centrum", "Söder", "Norr", "Väster", "Skärgården"), ("Person",)),  # noqa: E501
    ("Vardering", "Vill ha värdering", "bool", ("true", "false"), ("Person", "Company")),
    ("Sms", "Kontakt via sms", "bool", ("true", "false"), ("Person",)),
    ("Sprak", "Språk", "string", ("Svenska", "Engelska", "Finska", "Arabiska"), ("Person",)),
    ("SaljaInom", "Planerar att sälja inom", "string", ("3 mån", "6 mån", "1 år", "2 år"), ("Person", "Company")),  # noqa: E501
)  # fmt: skip
ESTATE_FIELDS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("Byggar", "Byggår", "number", ("House", "RowHouse", "Cottage")),
    ("Hiss", "Hiss i huset", "bool", ("HousingCooperative", "Condominium")),
)
