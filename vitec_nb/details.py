"""Contact details by id (`CRM/Contact/{customerId}/{contactIds}`): names, dates, agent, score.

One row per contact, at most 20 ids a call (Vitec's limit), the calls concurrent under the
client's concurrency and cached like every other call. The ids go in the path of the
mixed route, which answers persons, companies and deceased estates alike: one route for
any mix of kinds, and the route Vitec documents for 20 ids (the "more than 5 ids in the
query string" rule is the typed routes'). Ids are sorted before they are cut into calls,
so the same ids always make the same calls (and the same cache entries).

Personal data (social security number, phone, e-mail, address, note) is in the answer and
so in the cache file, but it reaches a frame only when `fields=` names it, and it is never
logged or put in an error message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from vitec_nb.answers import check_flags, checked_records, field, provenance, run_concurrently, text
from vitec_nb.errors import InvalidQueryError
from vitec_nb.provenance import set_provenance
from vitec_nb.vocab import (
    CONTACT_ID_MAX_LENGTH,
    DECEASED_ESTATE,
    KIND_TYPES,
    KINDS,
    PERSON,
    TIMEZONE,
    control_character,
)

if TYPE_CHECKING:
    import requests

__all__ = [
    "COLUMNS",
    "DETAILS_PATH",
    "MAX_IDS_PER_CALL",
    "PERSONAL_FIELDS",
    "answer_records",
    "batches",
    "details_frame",
    "fetch_details",
    "planned_calls",
    "validate_fields",
    "validate_ids",
]

logger = logging.getLogger("vitec_nb")

MAX_IDS_PER_CALL = 20
"""Vitec's limit on contact ids per details call."""

COLUMNS: tuple[str, ...] = (
    "kind", "id", "customer_id", "name", "created_at", "changed_at", "agent_id", "lead_score",
)  # fmt: skip
"""The columns of every details frame; personal-data columns follow only when asked."""

PERSONAL_FIELDS: tuple[str, ...] = ("social_security_number", "phone", "email", "address", "note")
"""Personal data a details frame can carry, each only when `fields=` names it."""

DETAILS_PATH = re.compile(
    r"/CRM/Contact/[^/]+/((Person|Company|DeceasedEstate)(/[^/]+)?|(?!Search/?$)[^/]+)/?$",
    re.IGNORECASE,
)
"""The paths of details answers (mixed and typed routes), for the cache filter."""

# ContactType by name (any case) or number (0, 1, 2 in the order of KINDS)
_KIND_OF_TYPE = {
    **{name.lower(): kind for kind, name in KIND_TYPES.items()},
    **{str(number): kind for number, kind in enumerate(KINDS)},
}
_BAD_ID = re.compile(r"[\x00-\x20\x7f,/\\?#%]")
_IDS_ALLOWED = (
    f"a list of contact ids: text of 1–{CONTACT_ID_MAX_LENGTH} characters without commas, "
    "slashes, spaces or control characters, e.g. ADR3ADC7B7B0A9447CA97FCAB43E36B582C"
)
_STRING = pd.StringDtype("pyarrow")
_TIME = pd.DatetimeTZDtype("ns", TIMEZONE)
_OFFSET = re.compile(r"(Z|[+-]\d\d:?\d\d)$", re.IGNORECASE)


# --- input ----------------------------------------------------------------------------------


def validate_ids(ids: Any) -> tuple[str, ...]:
    """The ids, stripped and each once (first order kept); InvalidQueryError before any request."""
    if isinstance(ids, str):
        ids = [ids]
    if isinstance(ids, Mapping) or not isinstance(ids, Iterable):
        raise InvalidQueryError("ids", f"{type(ids).__name__} is not a list of ids", _IDS_ALLOWED)
    out: list[str] = []
    for position, value in enumerate(ids):
        if not isinstance(value, str):
            shown = repr(value)[:50]
            raise InvalidQueryError("ids", f"item {position} is {shown}, not text", _IDS_ALLOWED)
        text = value.strip()
        bad = _BAD_ID.search(text) or control_character(text)
        if not text or len(text) > CONTACT_ID_MAX_LENGTH or bad:
            shown = repr(value)[:60]
            raise InvalidQueryError("ids", f"item {position} ({shown}) is not an id", _IDS_ALLOWED)
        out.append(text)
    return tuple(dict.fromkeys(out))


def validate_fields(fields: Any) -> tuple[str, ...]:
    """The personal-data fields asked for (none by default), in `PERSONAL_FIELDS` order."""
    if fields is None:
        return ()
    if isinstance(fields, str):
        fields = [fields]
    allowed = ", ".join(PERSONAL_FIELDS)
    if isinstance(fields, Mapping) or not isinstance(fields, Iterable):
        raise InvalidQueryError("fields", f"{fields!r} is not a list of field names", allowed)
    asked = set()
    for name in fields:
        key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
        if not isinstance(name, str) or key not in PERSONAL_FIELDS:
            raise InvalidQueryError("fields", f"{name!r} is not a detail field", allowed)
        asked.add(key)
    return tuple(f for f in PERSONAL_FIELDS if f in asked)


def batches(ids: Iterable[str]) -> list[tuple[str, ...]]:
    """The ids sorted and cut into calls of at most 20 (the same ids: the same calls)."""
    ordered = sorted(set(ids))
    return [
        tuple(ordered[i : i + MAX_IDS_PER_CALL]) for i in range(0, len(ordered), MAX_IDS_PER_CALL)
    ]


# --- answers --------------------------------------------------------------------------------


def answer_records(response: requests.Response) -> list[Mapping[str, Any]]:
    """The records of a details answer (each with an id); never quotes the body."""
    return checked_records(response, "contact details", "id")


def _joined(*values: Any) -> str | None:
    parts = [str(v).strip() for v in values if v not in (None, "")]
    parts = [p for p in dict.fromkeys(parts) if p]
    return ", ".join(parts) if parts else None


def _obj(record: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = field(record, name)
    return value if isinstance(value, Mapping) else {}


def _phone(r: Mapping[str, Any]) -> str | None:
    tel = field(r, "telephone")
    if not isinstance(tel, Mapping):
        return _joined(tel)
    return _joined(*(field(tel, k) for k in ("cell", "home", "work", "switch", "other")))


def _email(r: Mapping[str, Any]) -> str | None:
    mail = field(r, "email")
    if not isinstance(mail, Mapping):
        return _joined(mail)
    return _joined(field(mail, "emailAddress"), field(mail, "emailAddress2"))


def _address(r: Mapping[str, Any]) -> str | None:
    a = _obj(r, "address")
    town = _joined(text(a, "zipCode") + " " + text(a, "city"))
    country = text(a, "countryCode")
    return _joined(text(a, "streetAddress"), town, "" if country.upper() == "SE" else country)


_PERSONAL: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "social_security_number": lambda r: _joined(field(r, "socialSecurityNumber")),
    "phone": _phone,
    "email": _email,
    "address": _address,
    "note": lambda r: _joined(field(r, "note")),
}


def _kind(record: Mapping[str, Any]) -> str | None:
    raw = str(field(record, "type", "")).strip().lower()
    kind = _KIND_OF_TYPE.get(raw)
    if kind is None and raw == "":  # no type: a person has first/last names
        names = field(record, "firstName") is not None or field(record, "lastName") is not None
        kind = PERSON if names else None
    return kind


def _name(record: Mapping[str, Any], kind: str | None) -> str:
    if kind == PERSON:
        return " ".join(p for p in (text(record, "firstName"), text(record, "lastName")) if p)
    return text(record, "name")


def _score(record: Mapping[str, Any], kind: str | None) -> int | None:
    """The lead score; none for a deceased estate (its model has no score)."""
    value = field(record, "leadScore")
    if kind == DECEASED_ESTATE or value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _stockholm(values: list[Any]) -> pd.DatetimeIndex:
    """ISO texts as Stockholm time: with an offset converted, without one read as local
    (an autumn hour that comes twice: the summer-time one)."""
    texts = [v.strip() if isinstance(v, str) and v.strip() else None for v in values]
    aware = [bool(_OFFSET.search(t)) for t in texts if t is not None]
    if all(aware):
        return pd.to_datetime(texts, utc=True, format="ISO8601").as_unit("ns").tz_convert(TIMEZONE)
    if not any(aware):
        local = pd.to_datetime(texts, format="ISO8601").as_unit("ns")
        summer = np.ones(len(local), dtype=bool)
        return local.tz_localize(TIMEZONE, ambiguous=summer, nonexistent="shift_forward")
    return pd.DatetimeIndex([_one_time(t) for t in texts], dtype=_TIME)


def _one_time(text: str | None) -> pd.Timestamp:
    if text is None:
        return pd.NaT
    ts = pd.Timestamp(text)
    if ts.tzinfo is None:
        return ts.tz_localize(TIMEZONE, ambiguous=True, nonexistent="shift_forward")
    return ts.tz_convert(TIMEZONE)


def details_frame(
    recs: Iterable[Mapping[str, Any]],
    customer_id: str,
    wanted: Iterable[str],
    fields: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per wanted id that the answers hold, in the order wanted."""
    by_id: dict[str, Mapping[str, Any]] = {}
    for rec in recs:
        by_id.setdefault(str(field(rec, "id")), rec)
    folded = {k.upper(): v for k, v in by_id.items()}
    rows = [r for r in (by_id.get(i) or folded.get(i.upper()) for i in wanted) if r is not None]
    kinds = [_kind(r) for r in rows]
    scores = [_score(r, k) for r, k in zip(rows, kinds, strict=True)]
    frame = pd.DataFrame({
        "kind": pd.Categorical(kinds, categories=list(KINDS)),
        "id": pd.array([str(field(r, "id")) for r in rows], dtype=_STRING),
        "customer_id": pd.Categorical(
            [text(r, "customerId") or customer_id for r in rows]
        ),
        "name": pd.array([_name(r, k) for r, k in zip(rows, kinds, strict=True)], dtype=_STRING),
        "created_at": _stockholm([field(r, "createdAt") for r in rows]),
        "changed_at": _stockholm([field(r, "changedAt") for r in rows]),
        "agent_id": pd.array([text(r, "agentId") or None for r in rows], dtype=_STRING),
        "lead_score": pd.array(scores, dtype="Int64"),
    })  # fmt: skip
    for name in fields:
        frame[name] = pd.array([_PERSONAL[name](r) for r in rows], dtype=_STRING)
    return frame


# --- fetching -------------------------------------------------------------------------------


def _path(cid: str, batch: tuple[str, ...]) -> str:
    return f"CRM/Contact/{cid}/{','.join(batch)}"


def planned_calls(client: Any, customer_id: str, ids: Any) -> tuple[int, int]:
    """(calls `contact_details` needs for `ids`, how many of them are cached and fresh);
    sends nothing. For a count shown before a run ("3 calls, 1 cached")."""
    from vitec_nb.cache import entry_is_fresh

    cid = client._office(customer_id)
    calls = batches(validate_ids(ids))
    keys = [client._cache_key(_path(cid, b), {}, cid, "json") for b in calls]
    return len(calls), sum(entry_is_fresh(client.session, k) for k in keys)


def fetch_details(
    client: Any,
    customer_id: str,
    ids: Any,
    fields: Any = None,
    *,
    refresh: bool = False,
    offline: bool = False,
    progress: bool | Callable[[int, int], Any] | None = None,
) -> pd.DataFrame:
    """Contact details of `ids` in one office (see `VitecClient.contact_details`)."""
    cid = client._office(customer_id)
    wanted = validate_ids(ids)
    asked = validate_fields(fields)
    check_flags(refresh, offline)
    calls = batches(wanted)

    def fetch(batch: tuple[str, ...]) -> tuple[Any, dict[str, Any]]:
        return client._get_parsed(
            _path(cid, batch), {}, cid, "json",
            refresh=refresh, offline=offline,
            what=f"contact details ({len(batch)} ids) of office {cid}",
            parse=answer_records,
        )  # fmt: skip

    update, close = _progress(progress, len(calls))
    try:
        answers = run_concurrently(client, [lambda b=b: fetch(b) for b in calls], on_done=update)
    finally:
        close()
    frame = details_frame((r for recs, _ in answers for r in recs), cid, wanted, asked)
    found = set(frame["id"].str.upper())
    infos = [info for _, info in answers]
    info = {
        "fetched_at": min((i["fetched_at"] for i in infos), default=pd.Timestamp.now(TIMEZONE)),
        "from_cache": all(i["from_cache"] for i in infos),
        "stale": any(i["stale"] for i in infos),
    }
    missing = tuple(i for i in wanted if i.upper() not in found)
    if missing:  # how many, never which: ids are the caller's to show
        logger.warning("%d of %d contact ids not found in office %s (attrs['missing'])",
                       len(missing), len(wanted), cid)  # fmt: skip
    came = provenance(client, info, customer_id=cid, calls=len(calls), fields=asked)
    return set_provenance(frame, came.noted(missing=missing))


def _progress(progress: Any, total: int) -> tuple[Callable[[int], None], Callable[[], None]]:
    """(update(done), close()) for `progress`: True (a tqdm bar), a callable(done, total), or
    False/None (nothing)."""
    if callable(progress):
        return (lambda done: progress(done, total)), (lambda: None)
    if not progress or total == 0:
        return (lambda done: None), (lambda: None)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="Contact details", unit="call", leave=False)
    return (lambda done: bar.update(done - bar.n)), bar.close
