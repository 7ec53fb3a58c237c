"""The lookup answers (users, lists, fields, offices, groups, categories) as Vitec shapes them.

Every builder returns plain JSON-ready Python data with the published field names and
casing (see tests/fixtures/vitec-samples/); `stamp` writes a date-time in the dialect's
form. The server serialises it to JSON or to DataContract XML (xmlout.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from vitec_nb.standin.frames import field_defs
from vitec_nb.standin.personal import TYPE_NAMES, categories, email, hex_id, names
from vitec_nb.standin.vocab import CHAIN, DEPARTMENTS, LANGUAGES

if TYPE_CHECKING:
    from vitec_nb.standin.data import Dataset

Stamp = Callable[[int], str]


def _changed(ds: Dataset, code: int) -> int:
    """A stable "dateChanged" for lookup records: some days before the data's end."""
    end = int(ds.changed_ns.max()) if ds.size else 1_790_000_000 * 10**9
    return end - (code * 7_919 % 400) * 86_400 * 10**9 - code * 1_000_123


def user(ds: Dataset, code: int, stamp: Stamp) -> dict[str, Any]:
    """One user as `User/GetUser` and `User/GetAllUsers` send it."""
    office = int(ds.agent_office[code])
    cid = ds.customer_ids[office]
    uid = str(ds.agent_ids[code])
    name = ds.agent_names[code]
    phone = f"070-174 06 {5 + code % 95:02d}"
    changed = stamp(_changed(ds, code))
    return {
        "archived": bool(ds.agent_archived[code]),
        "public": bool(ds.agent_public[code]),
        "userId": uid,
        "customerId": [cid],
        "orderNumber": int(code - ds.offices[office].agent_codes[0]) + 1,
        "userName": name,
        "department": DEPARTMENTS[code % len(DEPARTMENTS)],
        "category": "Mäklare",
        "title": ds.agent_titles[code],
        "extraTitle": "",
        "allowLogOn": not bool(ds.agent_archived[code]),
        "emailAddress": email(name, code).replace("@example.se", "@example.com"),
        "telePhone": f"08-465 004 {code % 100:02d}",
        "cellPhone": phone,
        "directPhonenumbers": [{"customerId": cid, "phonenumber": phone}],
        "publicPhonenumber": phone,
        "spokenLanguages": list(LANGUAGES[: 1 + code % 3]),
        "bank": "Exempelbanken",
        "cleringNumber": "9999",
        "account": f"{code:07d}",
        "accountType": "BankAccount",
        "iban": f"SE00 9999 0000 0000 {code:04d}",
        "swift": "EXMPSESS",
        "comment": "",
        "image": {
            "imageId": hex_id(ds.seed, "IMG", code),
            "dateChanged": changed,
            "dateChangedImageData": changed,
            "url": f"https://images.example.com/users/{uid}.jpg",
            "showImageOnInternet": bool(ds.agent_public[code]),
            "extension": ".jpg",
            "cdnReferences": [
                {"name": size, "url": f"https://cdn.example.com/{size}/{uid}.jpg"}
                for size in ("small", "large")
            ],
        },
        "publishedOnOffice": [cid] if ds.agent_public[code] else [],
        "internalEmployeeNumber": 1000 + int(code),
        "externalUserId": "",
        "customerIdsWithSortOrder": [
            {"customerId": cid, "orderNumber": 1, "mainBusiness": True, "officeId": cid}
        ],
        "dateChanged": changed,
        "subOffices": [{"id": cid}],
        "reviews": (
            [{"review": "Mycket nöjd med försäljningen.", "madeBy": "En säljare"}]
            if code % 3 == 0
            else []
        ),
    }


def users(ds: Dataset, office: int, stamp: Stamp, *, public_only: bool) -> list[dict[str, Any]]:
    """The users of one office: public ones only (`GetUser`) or all (`GetAllUsers`)."""
    codes = ds.offices[office].agent_codes
    return [user(ds, int(c), stamp) for c in codes if ds.agent_public[c] or not public_only]


def newsletter_lists(ds: Dataset, office: int) -> list[dict[str, str]]:
    return [
        {"id": ds.list_ids[c], "name": ds.list_names[c]}
        for c in np.flatnonzero(ds.list_office == office)
    ]


def custom_fields(ds: Dataset, office: int) -> list[dict[str, Any]]:
    """`CustomField/Get`: one entry for the office, its fields with `validFor`."""
    fields = [
        {"label": label, "name": name, "type": kind, "validFor": list(valid)}
        for name, label, kind, valid in field_defs(ds, office)
    ]
    return [{"customerId": ds.customer_ids[office], "fields": fields}]


def office(ds: Dataset, k: int, stamp: Stamp) -> dict[str, Any]:
    """One office as `Office/GetOffice` sends it."""
    o = ds.offices[k]
    groups = {g.id: g.name for g in ds.groups}
    return {
        "archived": False,
        "customerId": o.customer_id,
        "officeId": o.customer_id,
        "name": o.name,
        "customerName": f"{CHAIN[1]} {o.name}",
        "legalCustomerName": f"{CHAIN[1]} {o.name} AB",
        "address": f"Exempelgatan {k + 1}",
        "postalAddress": "Box 0000",
        "zipCode": f"11{k % 10} 00",
        "city": "Stockholm",
        "telephone": f"08-465 004 {k % 100:02d}",
        "companyPlace": "Stockholm",
        "emailAddress": f"kontor{k + 1}@example.com",
        "homePage": "https://www.example.com",
        "description": "Påhittat demokontor.",
        "corporateNumber": f"55{k:04d}-XX00",
        "bankgiro": "0000-0000",
        "postalgiro": "00 00 00-0",
        "vat": f"SE55{k:04d}XX0001",
        "taxCertificate": "F-skatt",
        "coordinate": {"longitud": round(18.0 + k / 100, 6), "latitud": round(59.3 + k / 100, 6)},
        "region": 1,
        "officeNumber": k + 1,
        "officeName": o.name,
        "chain": {"id": CHAIN[0], "name": CHAIN[1]},
        "dateChanged": stamp(_changed(ds, k)),
        "primaryLeadReceiverId": str(ds.agent_ids[o.agent_codes[0]]) if len(o.agent_codes) else "",
        "subOffice": False,
        "groups": [{"id": g, "name": groups[g]} for g in o.groups],
    }


def office_groups(ds: Dataset) -> list[dict[str, Any]]:
    """`CRM/Officegroups/{customerId}`: the chain's groups with their offices' ids."""
    return [
        {"id": g.id, "name": g.name, "offices": [{"id": cid} for cid in g.offices]}
        for g in ds.groups
    ]


def user_groups(ds: Dataset, office: int) -> list[dict[str, Any]]:
    """`CRM/Usergroups/{customerId}`: the office's user groups (all users; the brokers)."""
    codes = [int(c) for c in ds.offices[office].agent_codes]
    brokers = [c for c in codes if "mäklare" in ds.agent_titles[c].lower()]
    cid = ds.customer_ids[office]
    return [
        {
            "userGroupId": hex_id(ds.seed, "UGR", office, i),
            "customerIds": [cid],
            "name": name,
            "users": [{"userId": str(ds.agent_ids[c])} for c in members],
        }
        for i, (name, members) in enumerate((("Alla på kontoret", codes), ("Mäklare", brokers)))
    ]


def search(ds: Dataset, office: int, term: str, max_size: int, stamp: Stamp) -> dict[str, Any]:
    """`CRM/Contact/{customerId}/Search`: contacts whose name or e-mail holds `term`."""
    lo, hi = int(ds.office_bounds[office]), int(ds.office_bounds[office + 1])
    rows = np.arange(lo, hi)
    wanted = term.casefold()
    found = []
    for row, name in zip(rows.tolist(), names(ds, rows), strict=True):
        text = name.casefold()
        if wanted in text or wanted in email(name, row):
            score = round(1.0 + len(wanted) / max(len(text), 1), 4) if wanted in text else 1.0
            found.append((-score, row))
    found.sort()
    return {
        "matches": [
            {
                "id": ds.ids[row].decode(),
                "changedAt": stamp(int(ds.changed_ns[row])),
                "customerId": ds.customer_ids[office],
                "type": TYPE_NAMES[int(ds.kind[row])],
                "score": -neg,
            }
            for neg, row in found[:max_size]
        ]
    }


def category_lists(ds: Dataset) -> dict[str, Any]:
    """`Category/GetCategories`: person and company categories."""
    return {"companyCategories": categories(ds, 1), "personCategories": categories(ds, 0)}


def apply_empty_lists(value: Any, mode: str) -> Any:
    """Empty lists inside `value` sent as `[]`, `null` or left out (the dialect)."""
    if mode == "[]":
        return value
    if isinstance(value, list):
        return [apply_empty_lists(v, mode) for v in value]
    if isinstance(value, dict):
        out = {}
        for key, v in value.items():
            if isinstance(v, list) and not v:
                if mode == "null":
                    out[key] = None
                continue
            out[key] = apply_empty_lists(v, mode)
        return out
    return value
