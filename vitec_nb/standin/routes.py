"""Which endpoint a request is for, its validation, and the answer it gets (no HTTP here).

Paths, parameter names and field names are Vitec's published ones (docs/standin.md lists
them with their help pages); routing and parameter names are case-insensitive, as in
ASP.NET. The server calls `route_of`, `customer_id_of`, `validate` and `respond` in that
order, around authentication (401) and the office access check (403).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from vitec_nb.standin import answers
from vitec_nb.standin.data import Dataset
from vitec_nb.standin.dialect import Dialect
from vitec_nb.standin.errors import INVALID, Answer, error
from vitec_nb.standin.filtering import cap, select
from vitec_nb.standin.params import InvalidParameters, lookup, parse_contact_filters
from vitec_nb.standin.personal import TYPE_NAMES, detail, list_members
from vitec_nb.standin.render import format_local, json_body, xml_body
from vitec_nb.standin.wire import wants_xml
from vitec_nb.standin.xmlout import to_xml

MAX_IDS = 20
DATA_ROUTES = ("contacts", "details", "typed")  # the routes fault switches apply to
_TYPED = {name.lower(): j for j, name in enumerate(TYPE_NAMES)}
_QUERY_CID = {"users": "CustomerId", "all_users": "CustomerId", "fields": "customerId",
              "offices": "CustomerId", "categories": "customerId"}  # fmt: skip
_XML_TYPES = {  # route -> (DataContract type name, namespace area)
    "users": ("User", "User"), "all_users": ("User", "User"),
    "lists": ("NewsletterList", "Contact.Crm"),
    "list_contacts": ("NewsletterListContact", "Contact.Crm"),
    "fields": ("CustomFieldCustomer", "CustomField"), "offices": ("Office", "Office"),
    "groups": ("OfficeGroup", "Contact.Crm"), "categories": ("Categories", "Category"),
    "user_groups": ("UserGroup", "Contact.Crm"),
    "search": ("CrmContactSearchResult", "Contact.Crm"),
    "details": ("CrmContact", "Contact.Crm"), "typed": ("CrmContact", "Contact.Crm"),
}  # fmt: skip


@dataclass(frozen=True)
class Parsed:
    """A validated request: its route, customer id and route-specific values."""

    route: str
    customer_id: str
    values: Any = None


def route_of(segments: list[str], dialect: Dialect) -> str | None:
    """The endpoint a path is for; None for an unknown path (a 404)."""
    low = [s.lower() for s in segments]
    n = len(low)
    if n >= 3 and low[:2] == ["crm", "contact"]:
        if n == 3:
            return "contacts"
        if low[3] in _TYPED and n in (4, 5):
            return "typed"
        if n == 4 and low[3] == "search":
            return "search"
        return "details" if n == 4 else None
    if n == 4 and low[:2] == ["crm", "newsletter"] and low[3] == "newsletterlists":
        return "lists"
    if n == 5 and low[:2] == ["crm", "newsletter"] and low[3] == "newsletterlistcontacts":
        return "list_contacts"
    if n == 3 and low[:2] == ["crm", "officegroups"]:
        return "groups"
    if n == 3 and low[:2] == ["crm", "usergroups"]:
        return "user_groups"
    simple = {
        ("user", "getuser"): "users",
        ("user", "getallusers"): "all_users" if dialect.all_users else None,
        ("customfield", "get"): "fields",
        ("office", "getoffice"): "offices",
        ("category", "getcategories"): "categories",
    }
    return simple.get(tuple(low)) if n == 2 else None


def customer_id_of(route: str, segments: list[str], params: dict[str, str]) -> str | None:
    """The customer id a request is for (path segment or query parameter)."""
    if route in _QUERY_CID:
        return lookup(params, _QUERY_CID[route])
    return segments[2]


def customer_id_param(route: str) -> str:
    """The name of the parameter that carries a route's customer id."""
    return _QUERY_CID.get(route, "customerId")


def _ids(route: str, segments: list[str], params: dict[str, str]) -> list[str]:
    """The contact ids of a details request, as given (empty parts dropped)."""
    if route == "typed" and len(segments) == 4:
        text = lookup(params, "contactIds") or ""
    else:
        text = segments[-1]
    return [part.strip().upper() for part in text.split(",") if part.strip()]


def validate(route: str, segments: list[str], params: dict[str, str]) -> Any:
    """The route's values, or raise InvalidParameters with Web API's ModelState keys."""
    if route == "contacts":
        try:
            return parse_contact_filters(params)
        except InvalidParameters as exc:
            raise InvalidParameters({f"criteria.{k}": v for k, v in exc.errors.items()}) from None
    if route in ("details", "typed"):
        ids = _ids(route, segments, params)
        if not ids:
            raise InvalidParameters({"contactIds": ["The contactIds field is required."]})
        if len(ids) > MAX_IDS:
            raise InvalidParameters(
                {"contactIds": [f"At most {MAX_IDS} contact ids per request; {len(ids)} given."]}
            )
        kind = _TYPED[segments[3].lower()] if route == "typed" else None
        return kind, list(dict.fromkeys(ids))  # a repeated id is answered once
    if route == "list_contacts":
        return segments[4]
    if route == "search":
        return _search_values(params)
    if route == "users" or route == "all_users":
        return lookup(params, "UserId"), lookup(params, "SearchText")
    if route == "offices":
        return lookup(params, "OfficeId"), lookup(params, "GroupId")
    return None


def _search_values(params: dict[str, str]) -> tuple[str, int]:
    """Term (at least 5 characters) and MaxSize (default 50, at most 1000) of a search."""
    term = lookup(params, "Term") or ""
    size_text = lookup(params, "MaxSize") or "50"
    errors: dict[str, list[str]] = {}
    if len(term) < 5:
        errors["Term"] = ["The field Term must be a string with a minimum length of 5."]
    size = int(size_text) if size_text.isdigit() else -1
    if not 1 <= size <= 1000:
        errors["MaxSize"] = ["The field MaxSize must be between 1 and 1000."]
    if errors:
        raise InvalidParameters(errors)
    return term, size


def _stamp(dialect: Dialect) -> Callable[[int], str]:
    return lambda ns: format_local(ns, dialect.changed_at_offset)


def _data(  # noqa: C901 (one branch per lookup route; known debt)
    ds: Dataset, office: int, route: str, values: Any, dialect: Dialect
) -> Any:
    """The JSON-ready answer of a lookup or details route."""
    stamp = _stamp(dialect)
    if route in ("users", "all_users"):
        user_id, search = values
        found = answers.users(ds, office, stamp, public_only=route == "users")
        if user_id:
            found = [u for u in found if u["userId"].casefold() == user_id.casefold()]
        if search:
            s = search.casefold()
            found = [
                u for u in found if s in u["userName"].casefold() or s in u["title"].casefold()
            ]
        return found
    if route == "lists":
        return answers.newsletter_lists(ds, office)
    if route == "list_contacts":
        ids = ds.offices[office].list_ids
        if values.upper() not in ids:
            return []
        lo, hi = int(ds.office_bounds[office]), int(ds.office_bounds[office + 1])
        bit = np.uint16(1 << ids.index(values.upper()))
        return list_members(ds, lo + np.flatnonzero(ds.lists[lo:hi] & bit))
    if route == "fields":
        return answers.custom_fields(ds, office)
    if route == "offices":
        office_id, group_id = values
        chosen = [office]
        if group_id:
            chosen = [k for k, o in enumerate(ds.offices) if group_id.upper() in o.groups]
        if office_id:
            chosen = [k for k in chosen if ds.customer_ids[k].casefold() == office_id.casefold()]
        return [answers.office(ds, k, stamp) for k in chosen]
    if route == "groups":
        return answers.office_groups(ds)
    if route == "categories":
        return answers.category_lists(ds)
    if route == "user_groups":
        return answers.user_groups(ds, office)
    if route == "search":
        return answers.search(ds, office, values[0], values[1], stamp)
    kind, ids = values
    rows = [r for r in ds.rows_of(ids) if r is not None and int(ds.office[r]) == office]
    return [detail(ds, r, stamp) for r in rows if kind is None or int(ds.kind[r]) == kind]


def respond(
    ds: Dataset, office: int, parsed: Parsed, accept: str | None, dialect: Dialect
) -> Answer:
    """The 200 answer of a validated request for an office the account may see."""
    xml = wants_xml(accept)
    if parsed.route == "contacts":
        parts = cap(select(ds, office, parsed.values, dialect), dialect.answer_cap)
        opts = {"offset": dialect.changed_at_offset, "empty": dialect.empty_lists}
        if xml:
            return Answer(200, xml_body(ds, parts, **opts), f"{xml}; charset=utf-8")
        return Answer(200, json_body(ds, parts, **opts))
    value = answers.apply_empty_lists(
        _data(ds, office, parsed.route, parsed.values, dialect), dialect.empty_lists
    )
    if xml:
        name, area = _XML_TYPES[parsed.route]
        return Answer(200, to_xml(value, name, area), f"{xml}; charset=utf-8")
    return Answer(200, orjson.dumps(value))


def invalid(model_state: dict[str, list[str]], dialect: Dialect) -> Answer:
    """A 400 with the validation errors in the dialect's shape."""
    return error(400, INVALID, dialect.error_shape, model_state)
