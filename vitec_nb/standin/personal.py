"""Synthetic personal data of the stand-in's contacts, and the contact-details records.

Nothing here is real: names come from short Swedish lists; e-mail addresses are at the
reserved example.se / example.com domains; phone numbers are in the ranges Sweden's PTS
reserves for fiction (070-174 06 05..99, 08-465 004 00..99); social security numbers
carry "XX" where the real serial digits would be (`19850314-XX27`), so they can never
belong to anyone. Each value is a pure function of (seed, row), computed when asked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Any

import numpy as np

from vitec_nb.standin.render import STOCKHOLM as _STOCKHOLM
from vitec_nb.standin.vocab import (
    CITIES,
    COMPANY_CATEGORIES,
    COMPANY_SUFFIXES,
    FIRST_NAMES,
    LAST_NAMES,
    NOTES,
    PERSON_CATEGORIES,
    STREETS,
)
from vitec_nb.vocab import KIND_TYPES

if TYPE_CHECKING:
    from vitec_nb.standin.data import Dataset

TYPE_NAMES = tuple(KIND_TYPES.values())  # ContactType, as JSON writes enums
_ASCII = str.maketrans("åäöÅÄÖé", "aaoAAOe")


def mix(seed: int, rows: np.ndarray, salt: int) -> np.ndarray:
    """A well-spread 64-bit hash of (seed, row, salt) per row (splitmix64), vectorised."""
    x = rows.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    x += np.uint64((seed * 1_000_003 + salt * 7_919) % 2**64)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def hex_id(seed: int, prefix: str, *parts: object) -> str:
    """A stable `prefix` + 32 hex id for a named thing (categories, images)."""
    digest = hashlib.md5(f"{seed}:{prefix}:{parts}".encode(), usedforsecurity=False)
    return prefix + digest.hexdigest().upper()


def names(ds: Dataset, rows: np.ndarray) -> list[str]:
    """Display name of each contact: "Anna Berg", "Berg Bygg AB", "Dödsbo efter Anna Berg"."""
    rows = np.asarray(rows, dtype=np.int64)
    first = mix(ds.seed, rows, 1) % np.uint64(len(FIRST_NAMES))
    last = mix(ds.seed, rows, 2) % np.uint64(len(LAST_NAMES))
    suffix = mix(ds.seed, rows, 3) % np.uint64(len(COMPANY_SUFFIXES))
    out = []
    for r, f, la, s in zip(
        rows.tolist(), first.tolist(), last.tolist(), suffix.tolist(), strict=True
    ):
        kind = int(ds.kind[r])
        if kind == 1:
            out.append(f"{LAST_NAMES[la]} {COMPANY_SUFFIXES[s]}")
        else:
            person = f"{FIRST_NAMES[f]} {LAST_NAMES[la]}"
            out.append(f"Dödsbo efter {person}" if kind == 2 else person)
    return out


def email(name: str, row: int) -> str:
    """A reserved-domain address for a display name."""
    local = ".".join(name.translate(_ASCII).lower().replace("&", "").split()[:2])
    return f"{local}.{row % 1000}@example.se"


def categories(ds: Dataset, kind: int) -> list[dict[str, Any]]:
    """The categories of persons (kind 0 and 2) or of companies (kind 1), as Vitec sends them."""
    words = COMPANY_CATEGORIES if kind == 1 else PERSON_CATEGORIES
    group = "company" if kind == 1 else "person"
    return [
        {"id": hex_id(ds.seed, "KAT", group, i), "name": w, "readOnly": i == 0}
        for i, w in enumerate(words)
    ]


def _h(ds: Dataset, row: int, salt: int, modulo: int) -> int:
    return int(mix(ds.seed, np.array([row]), salt)[0] % np.uint64(modulo))


def _base(ds: Dataset, row: int, name: str, stamp: Any) -> dict[str, Any]:
    kind = int(ds.kind[row])
    agent = int(ds.agent[row])
    city, zip_head = CITIES[_h(ds, row, 10, len(CITIES))]
    zip_code = f"{zip_head}{_h(ds, row, 11, 10)} {_h(ds, row, 12, 100):02d}"
    cats = categories(ds, kind)
    held = _h(ds, row, 13, 1 << len(cats)) if _h(ds, row, 14, 2) else 0
    return {
        "id": ds.ids[row].decode(),
        "customerId": ds.customer_ids[int(ds.office[row])],
        "agentId": str(ds.agent_ids[agent]) if agent >= 0 else None,
        "address": {
            "streetAddress": f"{STREETS[_h(ds, row, 15, len(STREETS))]} {_h(ds, row, 16, 80) + 1}",
            "zipCode": zip_code,
            "city": city,
            "countryCode": "SE",
            "wgs84Coordinate": {
                "longitude": round(17.8 + _h(ds, row, 17, 5000) / 10_000, 6),
                "latitude": round(59.2 + _h(ds, row, 18, 3000) / 10_000, 6),
            },
        },
        "email": {"emailAddress": email(name, row), "emailAddress2": ""},
        "advertisingEnabled": bool(_h(ds, row, 19, 3)),
        "note": NOTES[_h(ds, row, 20, len(NOTES))],
        "categories": [c for i, c in enumerate(cats) if held >> i & 1],
        "createdAt": stamp(int(ds.created_ns[row])),
        "changedAt": stamp(int(ds.changed_ns[row])),
    }


def _phones(ds: Dataset, row: int) -> dict[str, str]:
    return {
        "home": f"08-465 004 {_h(ds, row, 21, 100):02d}",
        "work": "",
        "cell": f"070-174 06 {5 + _h(ds, row, 22, 95):02d}",
        "other": "",
    }


def _ssn(ds: Dataset, row: int, stamp: Any) -> tuple[str, str]:
    """(fake social security number, date of birth as sent) of a person or estate."""
    day = dt.date.fromtimestamp(int(ds.created_ns[row]) // 10**9) - dt.timedelta(
        days=(20 + _h(ds, row, 23, 60)) * 365 + _h(ds, row, 29, 365)
    )
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=_STOCKHOLM)  # local midnight
    born = int(midnight.timestamp()) * 10**9
    return f"{day:%Y%m%d}-XX{_h(ds, row, 24, 100):02d}", stamp(born)


def detail(ds: Dataset, row: int, stamp: Any) -> dict[str, Any]:
    """The full record of one contact as the typed details routes send it."""
    kind = int(ds.kind[row])
    name = names(ds, np.array([row]))[0]
    base = _base(ds, row, name, stamp)
    lead = int(ds.lead_score[row])
    if kind == 1:
        slug = name.split()[0].translate(_ASCII).lower()
        own = {
            "type": "Company",
            "name": name,
            "corporateNumber": f"55{_h(ds, row, 25, 10_000):04d}-XX{_h(ds, row, 26, 100):02d}",
            "isForeignCorporateNumber": False,
            "homePage": f"https://www.example.com/{slug}",
            "telephone": {"switch": f"08-465 004 {_h(ds, row, 27, 100):02d}", "other": ""},
            "leadScore": lead,
        }
    elif kind == 2:
        ssn, _born = _ssn(ds, row, stamp)
        own = {
            "type": "DeceasedEstate",
            "name": name,
            "socialSecurityNumber": ssn,
            "isForeignIdSocialSecurityNumber": False,
            "telephone": _phones(ds, row),
        }
    else:
        ssn, born = _ssn(ds, row, stamp)
        first, last = name.split(" ", 1)
        own = {
            "type": "Person",
            "firstName": first,
            "lastName": last,
            "socialSecurityNumber": ssn,
            "isForeignSocialSecurityNumber": False,
            "dateOfBirth": born,
            "telephone": _phones(ds, row),
            "leadScore": lead,
            "wantsToBeMatched": ("Yes", "No", "NotAsked")[_h(ds, row, 28, 3)],
            "matchingChangedAt": base["changedAt"],
            "isDeceased": False,
            "isCompanyPerson": False,
            "gdprApprovalDate": base["createdAt"],
        }
    return {**own, **base}


def list_members(ds: Dataset, rows: np.ndarray) -> list[dict[str, str]]:
    """`NewsletterlistContacts` items: id, name and a plain e-mail string per contact."""
    return [
        {"id": ds.ids[r].decode(), "name": n, "email": email(n, r)}
        for r, n in zip(rows.tolist(), names(ds, rows), strict=True)
    ]
