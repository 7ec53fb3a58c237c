"""Lookups: the names behind the ids the filters take (users, lists, fields, offices).

Every lookup is one row of `LOOKUPS` (path, parameters, columns, how one record of the
answer becomes rows), fetched through the client's one send path (`_get_parsed`: cache
with the credential tag, retries, stale answers, recent parsed answers). An answer is
checked as it is parsed there: a 200 of the wrong shape is dropped from the cache.
Empty lists sent as `[]`, `null` or left out are all empty.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from vitec_nb.answers import (
    check_flags,
    checked_records,
    field,
    flag,
    ids_of,
    items,
    provenance,
    run_concurrently,
    text,
)
from vitec_nb.errors import (
    ApiError,
    InvalidQueryError,
    MalformedResponseError,
    NotCachedError,
    TransportError,
)
from vitec_nb.provenance import combined, provenance_of, set_provenance
from vitec_nb.vocab import COMPANY, PERSON

__all__ = [
    "CONTACT_OBJECT_TYPES",
    "LOOKUPS",
    "REFUSED_STATUSES",
    "Lookup",
    "OfficeLookups",
    "contact_fields",
    "fetch_agents",
    "fetch_lookup",
    "fetch_office_groups",
    "fetch_office_lookups",
    "fetch_offices",
    "office_label",
]

CONTACT_OBJECT_TYPES = frozenset({PERSON, COMPANY})
"""`validFor` object types a contact can have (lower case): only such fields can match."""

REFUSED_STATUSES = frozenset({403, 404, 405, 501})
"""Answers of `User/GetAllUsers` that mean "not offered here": fall back to `GetUser`."""


@dataclasses.dataclass(frozen=True, eq=False)
class OfficeLookups:
    """Everything the planner needs to know about one office, fetched before planning.

    Args:
        office: the customer id.
        agents: users; columns user_id, name, title, archived (bool), public (bool),
            customer_id. None when not fetched.
        agents_complete: True when `agents` came from `User/GetAllUsers` (every user);
            False when only `User/GetUser` answered (public users only), so a contact in no
            listed agent's answer may belong to an unlisted user.
        newsletter_lists: columns id, name, customer_id (None: not fetched).
        custom_fields: columns name, label, type, valid_for (tuple of object types),
            customer_id (None: not fetched).
        office_name: the office's name from `Office/GetOffice` (None: unknown).
    """

    office: str
    agents: pd.DataFrame | None = None
    agents_complete: bool = False
    newsletter_lists: pd.DataFrame | None = None
    custom_fields: pd.DataFrame | None = None
    office_name: str | None = None


# --- the table ----------------------------------------------------------------------------

Rows = Callable[[Mapping[str, Any], str], Iterable[dict[str, Any]]]


@dataclasses.dataclass(frozen=True)
class Lookup:
    """One lookup endpoint as data.

    Args:
        name: the table key ("agents_all").
        path: the path, with ``{cid}`` where the customer id goes.
        params: query parameters, values with ``{cid}`` filled in.
        columns: the frame's columns, in order.
        rows: one record of the answer (a JSON object) -> its rows, for office `cid`.
        key: a field every record must carry (None: no check).
        what: the lookup in words, for messages.
    """

    name: str
    path: str
    params: tuple[tuple[str, str], ...]
    columns: tuple[str, ...]
    rows: Rows
    key: str | None
    what: str

    def request(self, cid: str) -> tuple[str, dict[str, str]]:
        """(path, params) for office `cid`."""
        return self.path.format(cid=cid), {k: v.format(cid=cid) for k, v in self.params}

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        """Matches the path of this lookup's answers (any office, any case, any prefix)."""
        body = re.escape(self.path).replace(re.escape("{cid}"), "[^/]+")
        return re.compile(rf"/{body}/?$", re.IGNORECASE)


def _user_rows(public_default: bool) -> Rows:
    def rows(u: Mapping[str, Any], cid: str) -> Iterator[dict[str, Any]]:
        offices = [o.upper() for o in ids_of(field(u, "customerId"))]
        if offices and cid.upper() not in offices:
            return  # a user belongs to the offices it lists; this one is another office's
        yield {
            "user_id": str(field(u, "userId")),
            "name": text(u, "userName", "name"),
            "title": text(u, "title"),
            "archived": flag(field(u, "archived")),
            "public": flag(field(u, "public"), public_default),
            "customer_id": cid,
        }

    return rows


def _list_rows(item: Mapping[str, Any], cid: str) -> Iterator[dict[str, Any]]:
    yield {"id": str(field(item, "id")), "name": text(item, "name"), "customer_id": cid}


def _field_rows(group: Mapping[str, Any], cid: str) -> Iterator[dict[str, Any]]:
    owner = text(group, "customerId") or cid
    for f in items(field(group, "fields")):
        if not isinstance(f, Mapping) or field(f, "name") in (None, ""):
            continue
        yield {
            "name": str(field(f, "name")),
            "label": text(f, "label", "name"),
            "type": text(f, "type"),
            "valid_for": tuple(str(v) for v in items(field(f, "validFor"))),
            "customer_id": owner,
        }


def _office_rows(o: Mapping[str, Any], cid: str) -> Iterator[dict[str, Any]]:
    chain = field(o, "chain", {})
    chain = chain if isinstance(chain, Mapping) else {}
    yield {
        "customer_id": text(o, "customerId") or cid,
        "office_id": text(o, "officeId"),
        "name": text(o, "name", "officeName", "customerName"),
        "archived": flag(field(o, "archived")),
        "chain_id": text(chain, "id"),
        "chain_name": text(chain, "name"),
        "groups": ids_of(field(o, "groups")),
    }


def _group_rows(g: Mapping[str, Any], cid: str) -> Iterator[dict[str, Any]]:
    yield {
        "id": str(field(g, "id")),
        "name": text(g, "name"),
        "offices": ids_of(field(g, "offices")),
    }


_USER_COLUMNS = ("user_id", "name", "title", "archived", "public", "customer_id")
_CID = (("CustomerId", "{cid}"),)

LOOKUPS: dict[str, Lookup] = {
    lk.name: lk
    for lk in (
        Lookup("agents_all", "User/GetAllUsers", _CID, _USER_COLUMNS, _user_rows(False),
               "userId", "users (all)"),
        Lookup("agents_public", "User/GetUser", _CID, _USER_COLUMNS, _user_rows(True),
               "userId", "users (public)"),
        Lookup("newsletter_lists", "CRM/Newsletter/{cid}/NewsletterLists", (),
               ("id", "name", "customer_id"), _list_rows, "id", "newsletter lists"),
        Lookup("custom_fields", "CustomField/Get", (("customerId", "{cid}"),),
               ("name", "label", "type", "valid_for", "customer_id"), _field_rows, None,
               "custom fields"),
        Lookup("offices", "Office/GetOffice", _CID,
               ("customer_id", "office_id", "name", "archived", "chain_id", "chain_name",
                "groups"), _office_rows, "customerId", "offices"),
        Lookup("office_groups", "CRM/Officegroups/{cid}", (), ("id", "name", "offices"),
               _group_rows, "id", "office groups"),
    )
}  # fmt: skip
"""Every lookup the toolkit uses, by name (vitec-connect.md, "Lookups")."""

_STRING = pd.StringDtype("pyarrow")
_BOOL_COLUMNS = frozenset({"archived", "public"})
_TUPLE_COLUMNS = frozenset({"valid_for", "groups", "offices"})


# --- fetching -------------------------------------------------------------------------------


def _build(lookup: Lookup, recs: Sequence[Mapping[str, Any]], cid: str) -> pd.DataFrame:
    rows = [row for rec in recs for row in lookup.rows(rec, cid)]
    frame = pd.DataFrame(rows, columns=list(lookup.columns))
    dtypes: dict[str, Any] = {
        c: "bool" if c in _BOOL_COLUMNS else object if c in _TUPLE_COLUMNS else _STRING
        for c in lookup.columns
    }
    frame = frame.astype(dtypes)
    first = lookup.columns[0]
    if first in ("user_id", "id"):  # one row per user / list / group
        frame = frame.drop_duplicates(first, ignore_index=True)
    return frame


def fetch_lookup(
    client: Any,
    lookup: Lookup,
    cid: str,
    *,
    refresh: bool = False,
    offline: bool = False,
    format: str = "json",
) -> pd.DataFrame:
    """One lookup of one office as a frame, through the client's cached send path."""
    check_flags(refresh, offline)
    format = client._format(format)
    path, params = lookup.request(cid)
    recs, info = client._get_parsed(
        path, params, cid, format, refresh=refresh, offline=offline,
        what=f"{lookup.what} of office {cid}",
        parse=lambda response: checked_records(response, lookup.what, lookup.key),
    )  # fmt: skip
    slot = (lookup.name, cid, format)
    built = client._lookup_frames.get(slot)
    if built is not None and built[0] is recs:  # the memo's same answer: the same frame
        frame = built[1].copy(deep=False)
    else:
        frame = _build(lookup, recs, cid)
        client._lookup_frames[slot] = (recs, frame.copy(deep=False))
    set_provenance(
        frame, provenance(client, info, customer_id=cid, endpoint=lookup.path, format=format)
    )
    return frame


class _Refusals:
    """Per client: the optional lookups refused, so they are not asked again.

    404/405/501 mean the server does not offer the endpoint (remembered for every
    office); 403 means not for this office.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refused: set[tuple[str, str | None]] = set()  # (lookup, office or None)

    def refused(self, name: str, cid: str) -> bool:
        with self._lock:
            return (name, None) in self._refused or (name, cid) in self._refused

    def note(self, name: str, cid: str, status: int | None) -> None:
        with self._lock:
            self._refused.add((name, cid if status == 403 else None))


_REFUSALS: weakref.WeakKeyDictionary[Any, _Refusals] = weakref.WeakKeyDictionary()
_REFUSALS_LOCK = threading.Lock()


def _refusals(client: Any) -> _Refusals:
    with _REFUSALS_LOCK:
        found = _REFUSALS.get(client)
        if found is None:
            found = _REFUSALS[client] = _Refusals()
        return found


def _optional(
    client: Any, name: str, cid: str, refresh: bool, offline: bool
) -> pd.DataFrame | None:
    """An optional lookup; None when it is refused (now or before) or, offline, not cached."""
    refusals = _refusals(client)
    if refusals.refused(name, cid):
        return None
    if (
        name == "agents_all"
        and getattr(getattr(client, "profile", None), "all_users", None) is False
    ):
        return None  # `vitec-nb doctor` found GetAllUsers refused on this server
    try:
        return fetch_lookup(client, LOOKUPS[name], cid, refresh=refresh, offline=offline)
    except ApiError as exc:
        if exc.status not in REFUSED_STATUSES:
            raise
        refusals.note(name, cid, exc.status)
    except NotCachedError:
        pass
    return None


def fetch_agents(
    client: Any, cid: str, *, refresh: bool = False, offline: bool = False
) -> pd.DataFrame:
    """The office's users: every user from `GetAllUsers` when it answers, else the public
    ones from `GetUser`. `attrs["agents_complete"]` says which."""
    check_flags(refresh, offline)
    frame = _optional(client, "agents_all", cid, refresh, offline)
    complete = frame is not None
    if frame is None:
        frame = fetch_lookup(client, LOOKUPS["agents_public"], cid, refresh=refresh,
                             offline=offline)  # fmt: skip
    return set_provenance(frame, provenance_of(frame).noted(agents_complete=complete))


def _combined(client: Any, frames: Sequence[pd.DataFrame], cids: Sequence[str]) -> pd.DataFrame:
    parts = [f.copy(deep=False) for f in frames]
    each = {cid: provenance_of(f) for cid, f in zip(cids, frames, strict=True)}
    for part in parts:
        set_provenance(part, None)
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    came = dataclasses.replace(
        combined(each.values()), demo=client.is_demo, source=client.base_url
    ).noted(offices={cid: p.attrs() for cid, p in each.items()})
    return set_provenance(frame, came)


def _offices_arg(client: Any, customer_id: str | Sequence[str] | None) -> list[str]:
    if customer_id is None:
        if not client.customer_ids:
            raise InvalidQueryError(
                "customer_id", "is needed: no office is configured",
                "an office id like M30011, a list of them, or offices set with "
                "connect(customer_ids=...) or VITEC_CUSTOMER_IDS",
            )  # fmt: skip
        return list(client.customer_ids)
    many = [customer_id] if isinstance(customer_id, str) else list(customer_id)
    return list(dict.fromkeys(client._office(c) for c in many))


def _each_office(
    client: Any,
    name: str,
    customer_id: str | Sequence[str] | None,
    refresh: bool,
    offline: bool,
    combine: Callable[[list[pd.DataFrame], list[str]], pd.DataFrame],
) -> pd.DataFrame:
    """Lookup `name` of each given (or configured) office, fetched concurrently, then
    `combine(frames, offices)` into one frame (no office: the lookup's empty frame)."""
    check_flags(refresh, offline)
    cids = _offices_arg(client, customer_id)
    lookup = LOOKUPS[name]
    frames = run_concurrently(client, [
        (lambda c=c: fetch_lookup(client, lookup, c, refresh=refresh, offline=offline))
        for c in cids
    ])  # fmt: skip
    return combine(frames, cids) if frames else _build(lookup, [], "")


def fetch_offices(
    client: Any,
    customer_id: str | Sequence[str] | None = None,
    *,
    refresh: bool = False,
    offline: bool = False,
) -> pd.DataFrame:
    """Offices (`Office/GetOffice`) of the given or every configured office, one frame."""

    def combine(frames: list[pd.DataFrame], cids: list[str]) -> pd.DataFrame:
        frame = _combined(client, frames, cids)
        came = provenance_of(frame)
        frame = frame.drop_duplicates(["customer_id", "office_id"], ignore_index=True)
        return set_provenance(frame, came)

    return _each_office(client, "offices", customer_id, refresh, offline, combine)


def fetch_office_groups(
    client: Any,
    customer_id: str | Sequence[str] | None = None,
    *,
    refresh: bool = False,
    offline: bool = False,
) -> pd.DataFrame:
    """Office groups (`CRM/Officegroups/{cid}`): id, name, offices (tuple of customer ids).

    With no office, those of every configured office, each group once (its offices as
    every answer lists them together).
    """

    def combine(frames: list[pd.DataFrame], cids: list[str]) -> pd.DataFrame:
        names: dict[str, str] = {}
        members: dict[str, dict[str, None]] = {}
        for f in frames:
            for gid, name, offices in zip(f["id"], f["name"], f["offices"], strict=True):
                names.setdefault(str(gid), str(name))
                members.setdefault(str(gid), {}).update(dict.fromkeys(offices))
        recs = [{"id": g, "name": n, "offices": [{"id": o} for o in members[g]]}
                for g, n in names.items()]  # fmt: skip
        frame = _build(LOOKUPS["office_groups"], recs, "")
        return set_provenance(frame, provenance_of(_combined(client, frames, cids)))

    return _each_office(client, "office_groups", customer_id, refresh, offline, combine)


def office_label(customer_id: str, name: str | None = None) -> str:
    """An office for display: "Södermalm (M30011)", or the id alone when no name is known."""
    name = (name or "").strip()
    return f"{name} ({customer_id})" if name and name != customer_id else customer_id


def office_name(offices: pd.DataFrame, customer_id: str) -> str | None:
    """The name of office `customer_id` in an offices frame (None if it is not there)."""
    match = offices[offices["customer_id"].str.upper() == customer_id.upper()]
    names = [str(n) for n in match["name"] if isinstance(n, str) and n]
    return names[0] if names else None


def fetch_office_name(
    client: Any, cid: str, *, refresh: bool = False, offline: bool = False
) -> str | None:
    """The office's name; None when `Office/GetOffice` is refused (then not asked again by
    this client), not cached in offline mode, or does not list the office."""
    try:
        frame = _optional(client, "offices", cid, refresh, offline)
    except (ApiError, TransportError, MalformedResponseError):  # a name is never worth failing
        return None
    return None if frame is None else office_name(frame, cid)


def contact_fields(fields: pd.DataFrame) -> pd.DataFrame:
    """The custom fields valid for a person or a company: the only ones a contact can match.

    The form's drop-down and the planner's custom-field dimension offer only these.
    """
    keep = [
        any(str(v).lower() in CONTACT_OBJECT_TYPES for v in valid) for valid in fields["valid_for"]
    ]
    out = fields[keep].reset_index(drop=True)
    return set_provenance(out, provenance_of(fields))


def fetch_office_lookups(
    client: Any, office: str, *, refresh: bool = False, offline: bool = False
) -> OfficeLookups:
    """Agents, newsletter lists, custom fields and the office name, fetched concurrently."""
    check_flags(refresh, offline)
    cid = client._office(office)
    kw = {"refresh": refresh, "offline": offline}
    agents, lists, fields, name = run_concurrently(client, [
        lambda: fetch_agents(client, cid, **kw),
        lambda: fetch_lookup(client, LOOKUPS["newsletter_lists"], cid, **kw),
        lambda: fetch_lookup(client, LOOKUPS["custom_fields"], cid, **kw),
        lambda: fetch_office_name(client, cid, **kw),
    ])  # fmt: skip
    return OfficeLookups(
        office=cid,
        agents=agents,
        agents_complete=provenance_of(agents).agents_complete,
        newsletter_lists=lists,
        custom_fields=fields,
        office_name=name,
    )
