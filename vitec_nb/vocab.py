"""The one vocabulary: kinds, services, dimensions, periods, ids, time zone, banner, in one place.

Every layer (query, parse, planner, charts, form, CLI and the stand-in, which plays the
server) takes these words from here, so they cannot drift apart. Where a value is Vitec's,
the help page it comes from is named; where it is ours, it says so.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

__all__ = [
    "COMPANY",
    "CONTACT_ID_MAX_LENGTH",
    "CONTACT_ID_PATTERN",
    "CUSTOMER_ID_ALLOWED",
    "CUSTOMER_ID_MAX_LENGTH",
    "CUSTOMER_ID_PATTERN",
    "DECEASED_ESTATE",
    "DEMO_BANNER",
    "DEMO_NOTE",
    "DEMO_SOURCE",
    "DIMENSIONS",
    "KINDS",
    "KIND_API_LISTS",
    "KIND_LABELS",
    "KIND_PLURALS",
    "KIND_TYPES",
    "PERIODS",
    "PERIODS_ALLOWED",
    "PERIOD_ALIASES",
    "PERIOD_PLURALS",
    "PERSON",
    "SCHEDULED_ORDER_TYPES",
    "TIMEZONE",
    "USER_ID_PATTERN",
    "Service",
    "control_character",
    "dimension_label",
    "is_customer_id",
    "normalize_customer_id",
    "service_label",
]

TIMEZONE = "Europe/Stockholm"
"""Vitec's date-times are Swedish local time (vitec-connect: "not documented" 1 and 5)."""

DEMO_BANNER = "DEMO DATA"
"""Shown on every output made from the stand-in's synthetic data."""

DEMO_SOURCE = f"{DEMO_BANNER} from the built-in stand-in"
"""The banner with where the data comes from (the client's repr, summaries, the CLI)."""

DEMO_NOTE = f"{DEMO_BANNER} — built-in stand-in, not a real CRM"
"""The banner as a chart's footnote."""

# --- contact kinds (CrmContactList: persons, companies, deceasedEstates) -------------------

PERSON = "person"
COMPANY = "company"
DECEASED_ESTATE = "deceased_estate"

KINDS: tuple[str, ...] = (PERSON, COMPANY, DECEASED_ESTATE)
"""The contacts frame's `kind` categories, in this order."""

KIND_API_LISTS: dict[str, str] = {
    "person": "persons",
    "company": "companies",
    "deceased_estate": "deceasedEstates",
}
"""The list of `CrmContactList` each kind comes in (JSON key; XML element, any case)."""

KIND_LABELS: dict[str, dict[str, str]] = {
    "en": {"person": "person", "company": "company", "deceased_estate": "deceased estate"},
    "sv": {"person": "person", "company": "företag", "deceased_estate": "dödsbo"},
}
"""Kinds in words, per language (Swedish: Vitec's own words)."""

KIND_PLURALS: dict[str, str] = {
    PERSON: "persons",
    COMPANY: "companies",
    DECEASED_ESTATE: "deceased estates",
}
"""Kinds counted in English summaries ("12 persons, 3 companies, 0 deceased estates")."""

KIND_TYPES: dict[str, str] = {
    PERSON: "Person",
    COMPANY: "Company",
    DECEASED_ESTATE: "DeceasedEstate",
}
"""Each kind's `ContactType` name (as JSON writes the enum), also its typed details route."""

# --- dimensions of a breakdown (ours) ----------------------------------------------------

DIMENSIONS: dict[str, tuple[str, str]] = {
    "agent": ("agent", "agents"),
    "lead_score": ("lead score", "lead scores"),
    "newsletter_list": ("newsletter list", "newsletter lists"),
    "scheduled_order_type": ("scheduled order type", "scheduled order types"),
    "custom_field": ("custom field value", "custom field values"),
    "office": ("office", "offices"),
}
"""Every dimension a breakdown splits by, in this order, as a noun (singular, plural)."""


def dimension_label(name: str, plural: bool = False) -> str:
    """A dimension in words ("lead score"); an unknown name with its underscores as spaces."""
    nouns = DIMENSIONS.get(name)
    if nouns is None:
        return name.replace("_", " ")
    return nouns[1] if plural else nouns[0]


# --- periods (ours; calendar periods in Swedish local time) ------------------------------

PERIODS: dict[str, tuple[str, str]] = {
    "D": ("D", "day"),
    "W": ("W-SUN", "week"),  # weeks ending Sunday = weeks starting Monday
    "M": ("M", "month"),
    "Q": ("Q-DEC", "quarter"),
    "Y": ("Y-DEC", "year"),
}
"""Period code -> (pandas Period frequency on local wall-clock time, noun used in titles)."""

PERIOD_PLURALS: dict[str, str] = {
    "day": "days",
    "week": "weeks",
    "month": "months",
    "quarter": "quarters",
    "year": "years",
}
"""A period's noun -> its plural ("3 months")."""

PERIOD_ALIASES: dict[str, str] = {
    **{code.lower(): code for code in PERIODS},
    **{noun: code for code, (_, noun) in PERIODS.items()},
    "daily": "D",
    "weekly": "W",
    "monthly": "M",
    "quarterly": "Q",
    "yearly": "Y",
    "a": "Y",
}
"""Every way a period may be written (lower case) -> its code."""

PERIODS_ALLOWED = "D, W, M, Q, Y (or day, week, month, quarter, year)"

# --- ContactScheduledOrderType (resource model ContactScheduledOrder_ContactScheduledOrderType)


@dataclasses.dataclass(frozen=True)
class Service:
    """One published value of `ContactScheduledOrderType`: an active service on a contact."""

    number: int
    name: str  # Vitec's enum name, sent or accepted by name or number
    en: str
    sv: str  # Vitec's own Swedish name of the service


SCHEDULED_ORDER_TYPES: dict[int, Service] = {
    s.number: s
    for s in (
        Service(1, "EstateValue", "Home valuation", "Ditt bostadsvärde"),
        Service(2, "FinalPricesInArea", "Final prices in the area", "Slutpriser i området"),
        Service(3, "BoneoSearchProfile", "Boneo search profile", "Boneo bevakning"),
    )
}
"""The published services. A contact can hold several at once (the dimension is
multi-valued); there is no 0 and no 4; an unknown number is accepted and shown by number."""


def service_label(number: int, language: str = "en") -> str:
    """A service in words ("Slutpriser i området"); an unpublished number as "service 7"."""
    service = SCHEDULED_ORDER_TYPES.get(number)
    if service is None:
        return f"tjänst {number}" if language == "sv" else f"service {number}"
    return service.sv if language == "sv" else service.en


# --- ids ---------------------------------------------------------------------------------

CUSTOMER_ID_PATTERN = re.compile(r"[MSOGT][0-9]+")
"""M (broker system), S (sales support), O (finance), G (group), T (customer environment)."""

CUSTOMER_ID_ALLOWED = "a prefix M, S, O, G or T followed by digits, e.g. M30011"

CUSTOMER_ID_MAX_LENGTH = 40
"""The models' limit on a customer id (as on a contact id): a longer one is refused."""


def normalize_customer_id(value: str) -> str:
    """The one customer-id rule: stripped and upper-cased (" m30011" -> "M30011")."""
    return value.strip().upper()


def is_customer_id(value: str) -> bool:
    """Whether a normalised id is one: the pattern and at most CUSTOMER_ID_MAX_LENGTH long."""
    return len(value) <= CUSTOMER_ID_MAX_LENGTH and CUSTOMER_ID_PATTERN.fullmatch(value) is not None


CONTACT_ID_PATTERN = re.compile(r"ADR[0-9A-F]{32}")
"""A contact id as the published samples show it (ADR + 32 hex digits)."""

CONTACT_ID_MAX_LENGTH = 40
"""The models' limit on a contact id; the toolkit never assumes the exact shape."""

USER_ID_PATTERN = re.compile(r"HAN[0-9A-F]{32}")
"""A user (agent) id as the published samples show it (HAN + 32 hex digits)."""


_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def control_character(text: str) -> str | None:
    """The first control or invisible format character in `text` (None: there is none).

    Control characters (newlines, NUL), format characters (a right-to-left override, a
    zero-width space) and line/paragraph separators never belong in a filter or an id:
    they break URLs or make what the analyst reads differ from what is sent.
    """
    if text.isprintable():  # the common case, in C: no Other (Cc, Cf, ...) nor Zl, Zp at all
        return None
    return next((c for c in text if unicodedata.category(c) in _CONTROL_CATEGORIES), None)
