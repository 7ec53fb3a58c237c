"""The one vocabulary: contact kinds, services, id shapes, time zone and labels, in one place.

Every layer (query, parse, planner, charts, form, CLI and the stand-in, which plays the
server) takes these words from here, so they cannot drift apart. Where a value is Vitec's,
the help page it comes from is named; where it is ours, it says so.
"""

from __future__ import annotations

import dataclasses
import re

__all__ = [
    "CONTACT_ID_MAX_LENGTH",
    "CONTACT_ID_PATTERN",
    "CUSTOMER_ID_ALLOWED",
    "CUSTOMER_ID_MAX_LENGTH",
    "CUSTOMER_ID_PATTERN",
    "DEMO_BANNER",
    "KINDS",
    "KIND_API_LISTS",
    "KIND_LABELS",
    "SCHEDULED_ORDER_TYPES",
    "TIMEZONE",
    "USER_ID_PATTERN",
    "Service",
    "normalize_customer_id",
    "service_label",
]

TIMEZONE = "Europe/Stockholm"
"""Vitec's date-times are Swedish local time (vitec-connect: "not documented" 1 and 5)."""

DEMO_BANNER = "DEMO DATA"
"""Shown on every output made from the stand-in's synthetic data."""

# --- contact kinds (CrmContactList: persons, companies, deceasedEstates) -------------------

KINDS: tuple[str, ...] = ("person", "company", "deceased_estate")
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


CONTACT_ID_PATTERN = re.compile(r"ADR[0-9A-F]{32}")
"""A contact id as the published samples show it (ADR + 32 hex digits)."""

CONTACT_ID_MAX_LENGTH = 40
"""The models' limit on a contact id; the toolkit never assumes the exact shape."""

USER_ID_PATTERN = re.compile(r"HAN[0-9A-F]{32}")
"""A user (agent) id as the published samples show it (HAN + 32 hex digits)."""
