"""Lookups: the names behind the ids the filters take (users, lists, fields, offices).

Every lookup is one row of `LOOKUPS` (path, parameters, columns, how one record of the
answer becomes rows), fetched through the client's one send path (`_get_parsed`: cache
with the credential tag, retries, stale answers, the parsed-answer memo). An answer is
checked before it is cached (`validate_answer`): a 200 of the wrong shape is never stored.
Empty lists sent as `[]`, `null` or left out are all empty.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
import pandas as pd

from vitec_nb.errors import (
    ApiError,
    InvalidQueryError,
    MalformedResponseError,
    NotCachedError,
    VitecError,
)

if TYPE_CHECKING:
    import requests

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
    "validate_answer",
]

CONTACT_OBJECT_TYPES = frozenset({"person", "company"})
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


# --- reading records ------------------------------------------------------------------------


def _get(record: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """A field by its camelCase name, PascalCase accepted too (JSON vs the help tables)."""
    value = record[name] if name in record else record.get(name[:1].upper() + name[1:])
    return default if value is None else value


def _text(record: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = _get(record, name)
        if value not in (None, ""):
            return str(value)
    return ""


def _items(value: Any) -> list[Any]:
    """A list field: [], null and absent are all empty; a lone value is a list of one."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _ids(value: Any, key: str = "id") -> tuple[str, ...]:
    """Ids of a list of `{id}` objects (or of plain strings)."""
    out = []
    for item in _items(value):
        raw = _get(item, key) if isinstance(item, Mapping) else item
        if raw not in (None, ""):
            out.append(str(raw))
    return tuple(out)


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

    @property
    def pattern(self) -> re.Pattern[str]:
        """Matches the path of this lookup's answers (any office, any case, any prefix)."""
        return _pattern(self.path)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _pattern(path: str) -> re.Pattern[str]:
    found = _PATTERNS.get(path)
    if found is None:
        body = re.escape(path).replace(re.escape("{cid}"), "[^/]+")
        found = _PATTERNS[path] = re.compile(rf"/{body}/?$", re.IGNORECASE)
    return found


def _user_rows(public_default: bool) -> Rows:
    def rows(u: Mapping[str, Any], cid: str) -> Iterator[dict[str, Any]]:
        offices = [o.upper() for o in _ids(_get(u, "customerId"))]
        if offices and cid.upper() not in offices:
            return  # a user belongs to the offices it lists; this one is another office's
        yield {
            "user_id": str(_get(u, "userId")),
            "name": _text(u, "userName", "name"),
            "title": _text(u, "title"),
            "archived": bool(_get(u, "archived", False)),
            "public": bool(_get(u, "public", public_default)),
            "customer_id": cid,
        }

    return rows


def _list_rows(item: Mapping[str, Any], cid: str) -> Iterator[dict[str, Any]]:
    yield {"id": str(_get(item, "id")), "name": _text(item, "name"), "customer_id": cid}


def _field_rows(group: Mapping[str, Any], cid: str) -> Iterator[dict[str, Any]]:
    owner = _text(group, "customerId") or cid
    for f in _items(_get(group, "fields")):
        if not isinstance(f, Mapping) or _get(f, "name") in (None, ""):
            continue
        yield {
            "name": str(_get(f, "name")),
            "label": _text(f, "label", "name"),
            "type": _text(f, "type"),
            "valid_for": tuple(str(v) for v in _items(_get(f, "validFor"))),
            "customer_id": owner,
        }


def _office_rows(o: Mapping[str, Any], cid: str) -> Iterator[dict[str, Any]]:
    chain = _get(o, "chain", {})
    chain = chain if isinstance(chain, Mapping) else {}
    yield {
        "customer_id": _text(o, "customerId") or cid,
        "office_id": _text(o, "officeId"),
        "name": _text(o, "name", "officeName", "customerName"),
        "archived": bool(_get(o, "archived", False)),
        "chain_id": _text(chain, "id"),
        "chain_name": _text(chain, "name"),
        "groups": _ids(_get(o, "groups")),
    }


def _group_rows(g: Mapping[str, Any], cid: str) -> Iterator[dict[str, Any]]:
    yield {"id": str(_get(g, "id")), "name": _text(g, "name"), "offices": _ids(_get(g, "offices"))}


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

_BOOL_COLUMNS = frozenset({"archived", "public"})
_TUPLE_COLUMNS = frozenset({"valid_for", "groups", "offices"})


# --- answers: decoded, checked before caching ---------------------------------------------


def _xml_value(elem: Any) -> Any:
    """A DataContract XML element as JSON would have it (lists by their repeated items)."""
    if any(k.endswith("}nil") and v == "true" for k, v in elem.attrib.items()):
        return None
    children = list(elem)
    if not children:
        return elem.text or ""
    tags = {_local(c.tag) for c in children}
    if len(tags) == 1 and (
        len(children) > 1
        or len(children[0])
        or _local(elem.tag) == "root"
        or next(iter(tags)) in ("string", "int", "guid", "ObjectType")
    ):
        return [_xml_value(c) for c in children]
    return {_camel(_local(c.tag)): _xml_value(c) for c in children}  # fmt: skip


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def decode(content: bytes, content_type: str = "") -> Any:
    """The body as JSON values (XML answers turned into the same lists and objects)."""
    text = content.lstrip()
    if "xml" in content_type.lower() or text.startswith(b"<"):
        from defusedxml import ElementTree as SafeET

        try:
            root = SafeET.fromstring(content)
        except Exception as exc:  # defusedxml raises ParseError or its own refusals
            raise MalformedResponseError(f"not valid XML ({type(exc).__name__})") from None
        return (
            [_xml_value(c) for c in root]
            if _local(root.tag).startswith("ArrayOf")
            else (_xml_value(root))
        )
    if not text:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise MalformedResponseError(f"not valid JSON ({exc})") from None


def records(body: Any, what: str, key: str | None) -> list[Mapping[str, Any]]:
    """The records of a list answer (null or empty: none); MalformedResponseError else."""
    if body is None:
        return []
    ok = isinstance(body, list) and all(
        isinstance(i, Mapping) and (key is None or _get(i, key) is not None) for i in body
    )
    if not ok:
        needs = f" each with {key!r}" if key else ""
        raise MalformedResponseError(
            f"The {what} answer is not a list of records{needs}; it was not cached."
        )
    return body


def _answer_records(response: requests.Response, lookup: Lookup) -> list[Mapping[str, Any]]:
    try:
        body = decode(response.content, response.headers.get("Content-Type", ""))
    except MalformedResponseError as exc:
        raise MalformedResponseError(
            f"The {lookup.what} answer is {exc}; it was not cached."
        ) from None
    return records(body, lookup.what, lookup.key)


def validate_answer(response: requests.Response) -> Any | None:
    """The checked records of a lookup or contact-details answer; None for other paths.

    The client's cache filter calls this for every fresh 200 answer: raising keeps the
    answer out of the cache.
    """
    path = urlsplit(response.url).path
    for lookup in LOOKUPS.values():
        if lookup.pattern.search(path):
            return _answer_records(response, lookup)
    from vitec_nb import details

    if details.DETAILS_PATH.search(path):
        return details.answer_records(response)
    return None


# --- fetching -------------------------------------------------------------------------------


def _flags(refresh: Any, offline: Any) -> None:
    for name, value in (("refresh", refresh), ("offline", offline)):
        if not isinstance(value, bool):
            raise InvalidQueryError(name, f"{value!r} is not True or False", "True or False")
    if refresh and offline:
        raise InvalidQueryError("refresh", "cannot be combined with offline=True", "one of them")


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


_STRING = pd.StringDtype("pyarrow")


def provenance(client: Any, info: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The attrs every frame carries: when, from the cache or not, stale, demo, source."""
    return {**info, "demo": client.is_demo, "source": client.base_url, **extra}


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
    _flags(refresh, offline)
    path, params = lookup.request(cid)
    recs, info = client._get_parsed(
        path, params, cid, format, refresh=refresh, offline=offline,
        what=f"{lookup.what} of office {cid}",
        parse=lambda response: _answer_records(response, lookup),
    )  # fmt: skip
    slot = (lookup.name, cid, format)
    built = client._lookup_frames.get(slot)
    if built is not None and built[0] is recs:  # the memo's same answer: the same frame
        frame = built[1].copy(deep=False)
    else:
        frame = _build(lookup, recs, cid)
        client._lookup_frames[slot] = (recs, frame.copy(deep=False))
    frame.attrs = provenance(client, info, customer_id=cid, endpoint=lookup.path)
    return frame


class _Refusals:
    """Per client: where `User/GetAllUsers` was refused, so it is not asked again."""

    def __init__(self) -> None:
        self.everywhere = False  # 404/405/501: the server does not offer it
        self.offices: set[str] = set()  # 403: not for this office

    def refused(self, cid: str) -> bool:
        return self.everywhere or cid in self.offices

    def note(self, cid: str, status: int | None) -> None:
        if status == 403:
            self.offices.add(cid)
        else:
            self.everywhere = True


_REFUSALS: weakref.WeakKeyDictionary[Any, _Refusals] = weakref.WeakKeyDictionary()
_REFUSALS_LOCK = threading.Lock()


def _refusals(client: Any) -> _Refusals:
    with _REFUSALS_LOCK:
        found = _REFUSALS.get(client)
        if found is None:
            found = _REFUSALS[client] = _Refusals()
        return found


def fetch_agents(
    client: Any, cid: str, *, refresh: bool = False, offline: bool = False
) -> pd.DataFrame:
    """The office's users: every user from `GetAllUsers` when it answers, else the public
    ones from `GetUser`. `attrs["agents_complete"]` says which."""
    _flags(refresh, offline)
    refusals = _refusals(client)
    if not refusals.refused(cid):
        try:
            frame = fetch_lookup(client, LOOKUPS["agents_all"], cid, refresh=refresh,
                                 offline=offline)  # fmt: skip
        except ApiError as exc:
            if exc.status not in REFUSED_STATUSES:
                raise
            refusals.note(cid, exc.status)
        except NotCachedError:
            pass  # offline: the public list may be in the cache
        else:
            frame.attrs["agents_complete"] = True
            return frame
    frame = fetch_lookup(client, LOOKUPS["agents_public"], cid, refresh=refresh, offline=offline)
    frame.attrs["agents_complete"] = False
    return frame


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def run_concurrently(
    client: Any,
    tasks: Sequence[Callable[[], Any]],
    on_done: Callable[[int], Any] | None = None,
) -> list[Any]:
    """Each task's result, in order, at most the client's `concurrency` at a time.

    The pool is shared and its tasks never wait on it, so nested use cannot deadlock.
    `on_done(n)` is called from the caller's thread as tasks finish. The first failure is
    raised after every task has finished.
    """
    if len(tasks) <= 1:
        results = [task() for task in tasks]
        if on_done is not None and tasks:
            on_done(1)
        return results
    workers = max(1, int(client.settings.concurrency))
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = _POOLS[workers] = ThreadPoolExecutor(workers, thread_name_prefix="vitec-lookup")
    futures = [pool.submit(task) for task in tasks]
    for done, _ in enumerate(as_completed(futures), 1):
        if on_done is not None:
            on_done(done)
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
    return [f.result() for f in futures]


def _combined(client: Any, frames: Sequence[pd.DataFrame], cids: Sequence[str]) -> pd.DataFrame:
    parts = [f.copy(deep=False) for f in frames]
    infos = {cid: dict(f.attrs) for cid, f in zip(cids, frames, strict=True)}
    for part in parts:
        part.attrs = {}
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    frame.attrs = {
        "fetched_at": min(i["fetched_at"] for i in infos.values()),
        "from_cache": all(i["from_cache"] for i in infos.values()),
        "stale": any(i["stale"] for i in infos.values()),
        "demo": client.is_demo,
        "source": client.base_url,
        "offices": infos,
    }
    return frame


def _offices_arg(client: Any, customer_id: str | Sequence[str] | None) -> list[str]:
    if customer_id is None:
        return list(client.customer_ids)
    many = [customer_id] if isinstance(customer_id, str) else list(customer_id)
    return list(dict.fromkeys(client._office(c) for c in many))


def fetch_offices(
    client: Any,
    customer_id: str | Sequence[str] | None = None,
    *,
    refresh: bool = False,
    offline: bool = False,
) -> pd.DataFrame:
    """Offices (`Office/GetOffice`) of the given or every configured office, one frame."""
    _flags(refresh, offline)
    cids = _offices_arg(client, customer_id)
    lookup = LOOKUPS["offices"]
    frames = run_concurrently(client, [
        (lambda c=c: fetch_lookup(client, lookup, c, refresh=refresh, offline=offline))
        for c in cids
    ])  # fmt: skip
    if not frames:
        return _build(lookup, [], "")
    frame = _combined(client, frames, cids)
    attrs = frame.attrs
    frame = frame.drop_duplicates(["customer_id", "office_id"], ignore_index=True)
    frame.attrs = attrs
    return frame


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
    _flags(refresh, offline)
    cids = _offices_arg(client, customer_id)
    lookup = LOOKUPS["office_groups"]
    frames = run_concurrently(client, [
        (lambda c=c: fetch_lookup(client, lookup, c, refresh=refresh, offline=offline))
        for c in cids
    ])  # fmt: skip
    if not frames:
        return _build(lookup, [], "")
    names: dict[str, str] = {}
    members: dict[str, dict[str, None]] = {}
    for f in frames:
        for gid, name, offices in zip(f["id"], f["name"], f["offices"], strict=True):
            names.setdefault(str(gid), str(name))
            members.setdefault(str(gid), {}).update(dict.fromkeys(offices))
    recs = [
        {"id": g, "name": n, "offices": [{"id": o} for o in members[g]]} for g, n in names.items()
    ]
    frame = _build(lookup, recs, "")
    frame.attrs = _combined(client, frames, cids).attrs
    return frame


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
    """The office's name, or None when `Office/GetOffice` does not answer (never fatal)."""
    try:
        frame = fetch_lookup(client, LOOKUPS["offices"], cid, refresh=refresh, offline=offline)
    except InvalidQueryError:
        raise
    except VitecError:
        return None
    return office_name(frame, cid)


def contact_fields(fields: pd.DataFrame) -> pd.DataFrame:
    """The custom fields valid for a person or a company: the only ones a contact can match.

    The form's drop-down and the planner's custom-field dimension offer only these.
    """
    keep = [
        any(str(v).lower() in CONTACT_OBJECT_TYPES for v in valid) for valid in fields["valid_for"]
    ]
    out = fields[keep].reset_index(drop=True)
    out.attrs = dict(fields.attrs)
    return out


def fetch_office_lookups(
    client: Any, office: str, *, refresh: bool = False, offline: bool = False
) -> OfficeLookups:
    """Agents, newsletter lists, custom fields and the office name, fetched concurrently."""
    _flags(refresh, offline)
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
        agents_complete=bool(agents.attrs.get("agents_complete")),
        newsletter_lists=lists,
        custom_fields=fields,
        office_name=name,
    )
