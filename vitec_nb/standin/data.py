"""The stand-in's synthetic CRM: offices, users, lists, custom fields and contacts, seeded.

Everything is built with vectorised numpy so that 100 000 contacts take well under two
seconds and a million remain practical. Contacts are stored column-wise, sorted by office,
then kind, then creation time, so one office is one contiguous slice and a query is a few
boolean masks over int64 epoch-nanosecond arrays. Ids have Vitec's published shapes
(contacts `ADR` + 32 hex digits, users `HAN` + 32 hex digits).

Answers are assembled from pre-rendered byte rows (render.py); the frames are in
frames.py, the words and shares in vocab.py, the instants in times.py.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from vitec_nb.standin import frames
from vitec_nb.standin.placed import placed_rows
from vitec_nb.standin.render import render_json_rows, render_xml_rows
from vitec_nb.standin.times import change_times, creation_times, stockholm_offsets
from vitec_nb.standin.vocab import (
    CUSTOM_FIELDS,
    ESTATE_FIELDS,
    FIRST_NAMES,
    LAST_NAMES,
    LEAD_SCORE_SHARES,
    LIST_NAMES,
    NON_PUBLIC_SHARE,
    OFFICE_NAMES,
    SERVICE_COUNT_SHARES,
    SERVICE_SHARES,
    TITLE_SHARES,
    TITLES,
)
from vitec_nb.vocab import TIMEZONE

KIND_SHARES = (0.90, 0.09, 0.01)
# The data ends at "now": its last day is the day before the clock's day (Stockholm), and
# creation times span YEARS years before it. The clock is `now=`, else $STANDIN_NOW, else
# the real current time, so a seed gives the same dataset for the same clock day.
CLOCK_VARIABLE = "STANDIN_NOW"
TEST_NOW = "2026-11-01"
"""The tests' fixed clock (tests/plugins/standin.py sets $STANDIN_NOW to it)."""
DEFAULT_END = "2026-10-31"
"""The last day of the data under `TEST_NOW`."""
YEARS = 4.5
DEFAULT_OFFICES = 3
FIRST_CUSTOMER_NUMBER = 30011
ID_LENGTH = 35  # "ADR" + 32 hex digits

_HEX = np.frombuffer(b"".join(f"{i:02X}".encode() for i in range(256)), np.uint8).reshape(256, 2)


@dataclass(frozen=True)
class Office:
    """One office (customer id) and its lookups."""

    customer_id: str
    name: str
    agent_codes: np.ndarray  # global agent codes of this office
    list_ids: tuple[str, ...]
    field_codes: tuple[int, ...]  # indexes into CUSTOM_FIELDS defined for this office
    estate_field_codes: tuple[int, ...]  # indexes into ESTATE_FIELDS (never on a contact)
    groups: tuple[str, ...] = ()  # ids of the office groups it belongs to


@dataclass(frozen=True)
class OfficeGroup:
    """An office group of the chain (`CRM/Officegroups`)."""

    id: str
    name: str
    offices: tuple[str, ...]  # customer ids


@dataclass
class Dataset:
    """The whole synthetic CRM, column-wise. Build it with `build_dataset()`."""

    seed: int
    customer_ids: list[str]
    offices: list[Office]
    groups: list[OfficeGroup]
    office_bounds: np.ndarray  # office k is rows office_bounds[k]:office_bounds[k+1]
    kind_bounds: np.ndarray  # (n_offices, 4): kind j of office k is rows [k, j]:[k, j+1]
    # users (global code = row)
    agent_ids: np.ndarray  # str, HAN + 32 hex
    agent_names: list[str]
    agent_titles: list[str]
    agent_archived: np.ndarray  # bool
    agent_public: np.ndarray  # bool: listed by User/GetUser
    agent_office: np.ndarray  # office index
    # newsletter lists (global code = row)
    list_ids: list[str]
    list_names: list[str]
    list_office: np.ndarray
    # contacts
    office: np.ndarray  # int16
    kind: np.ndarray  # int8 index into KINDS
    ids: np.ndarray  # S35
    id_keys: np.ndarray  # uint64: each id's first 16 hex digits (distinct), for lookups
    created_ns: np.ndarray  # int64 UTC epoch ns
    changed_ns: np.ndarray
    changed_offset_ns: np.ndarray  # UTC offset of changed_at in Stockholm (ns)
    agent: np.ndarray  # int32 global agent code, -1 = no agent
    lead_score: np.ndarray  # int8, -1 = none (every deceased estate)
    services: np.ndarray  # uint8 bit s-1 = holds service s (ContactScheduledOrderType)
    lists: np.ndarray  # uint16 bit j = the office's j-th list
    custom: np.ndarray  # (n, len(CUSTOM_FIELDS)) int8 value code, -1 = unset
    last_day: pd.Timestamp | None = None  # the data's last day (naive, Stockholm)
    _rows: dict[tuple[str, bool], np.ndarray] = field(default_factory=dict, repr=False)
    _rows_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def size(self) -> int:
        return int(self.ids.shape[0])

    def rows(self, fmt: str, offset: bool = True) -> np.ndarray:
        """Fixed-width rendered references, one uint8 row per contact (built once)."""
        key = (fmt, offset)
        with self._rows_lock:
            if key not in self._rows:
                render = render_json_rows if fmt == "json" else render_xml_rows
                self._rows[key] = render(self, offset)
            return self._rows[key]

    @cached_property
    def agent_code(self) -> dict[str, int]:
        """User id -> global agent code."""
        return {str(a): i for i, a in enumerate(self.agent_ids)}

    @cached_property
    def _id_order(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.id_keys)
        return order, self.id_keys[order]

    def rows_of(self, ids: list[str]) -> list[int | None]:
        """Row of each contact id (case-insensitive), None when unknown."""
        order, keys = self._id_order
        out: list[int | None] = []
        for text in ids:
            want = text.strip().upper()
            try:
                key = np.uint64(int(want[3:19], 16))
            except ValueError:
                out.append(None)
                continue
            p = int(np.searchsorted(keys, key))
            row = int(order[p]) if p < len(keys) and keys[p] == key else None
            out.append(row if row is not None and self.ids[row].decode() == want else None)
        return out

    # --- frames (frames.py) ---------------------------------------------------------------

    @cached_property
    def agents_frame(self) -> pd.DataFrame:
        return frames.agents_frame(self)

    @cached_property
    def lists_frame(self) -> pd.DataFrame:
        return frames.lists_frame(self)

    @cached_property
    def fields_frame(self) -> pd.DataFrame:
        return frames.fields_frame(self)

    @cached_property
    def offices_frame(self) -> pd.DataFrame:
        return frames.offices_frame(self)

    @cached_property
    def groups_frame(self) -> pd.DataFrame:
        return frames.groups_frame(self)

    @cached_property
    def truth(self) -> pd.DataFrame:
        """One row per contact with everything the API does and does not return."""
        return frames.truth_frame(self)


def data_end(now: Any = None) -> pd.Timestamp:
    """The data's last day for the clock `now`: the day before now's day in Stockholm.

    `now`: a date or an instant (naive: Stockholm time); None reads $STANDIN_NOW, else
    takes the real current time. "2026-11-01" and "2026-11-01 15:00" both give 2026-10-31.
    """
    name = "now"
    if now is None and os.environ.get(CLOCK_VARIABLE):
        name, now = CLOCK_VARIABLE, os.environ[CLOCK_VARIABLE]
    if now is None:
        now = pd.Timestamp.now(tz=TIMEZONE)
    try:
        ts = pd.Timestamp(now)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name}: {now!r} is not a date or an instant (allowed: e.g. 2026-11-01)"
        ) from exc
    if ts is pd.NaT or not 1901 <= ts.year <= 9998:
        raise ValueError(f"{name}: {now!r} is not a date in 1901-9998 (e.g. 2026-11-01)")
    if ts.tzinfo is not None:
        ts = ts.tz_convert(TIMEZONE).tz_localize(None)
    return ts.normalize() - pd.Timedelta(days=1)


def customer_ids_for(offices: int | list[str] | tuple[str, ...] | None) -> list[str]:
    """Customer ids for `offices`: a count (M30011, M30012, ...) or the ids themselves."""
    if offices is None:
        offices = DEFAULT_OFFICES
    if isinstance(offices, int):
        if offices < 1:
            raise ValueError(f"offices: must be at least 1, got {offices}")
        return [f"M{FIRST_CUSTOMER_NUMBER + k}" for k in range(offices)]
    ids = [str(o) for o in offices]
    if not ids or len(set(ids)) != len(ids) or not all(i and i.isalnum() for i in ids):
        raise ValueError(f"offices: give a count or distinct alphanumeric customer ids, got {ids}")
    return ids


def hex_ids(rng: np.random.Generator, n: int, prefix: bytes) -> np.ndarray:
    """`n` distinct ids: `prefix` + 32 upper-case hex digits (16 random bytes), as bytes."""
    return _hex_ids(rng, n, prefix)[0]


def _hex_ids(rng: np.random.Generator, n: int, prefix: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Ids as `hex_ids`, and each id's first 16 hex digits as a uint64 (distinct too)."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    while True:  # distinct 64-bit heads make distinct ids; a repeat is practically impossible
        keys = raw[:, :8].copy().view(">u8").reshape(n).astype(np.uint64)
        ordered = np.sort(keys)
        if n < 2 or (ordered[1:] != ordered[:-1]).all():
            break
        order = np.argsort(keys, kind="stable")
        dup = order[1:][keys[order][1:] == keys[order][:-1]]
        raw[dup] = rng.integers(0, 256, size=(len(dup), 16), dtype=np.uint8)
    hexed = _HEX[raw].reshape(n, 32)
    head = np.broadcast_to(np.frombuffer(prefix, np.uint8), (n, len(prefix)))
    width = len(prefix) + 32
    ids = np.ascontiguousarray(np.hstack([head, hexed])).view(f"S{width}").reshape(n)
    return ids, keys


def _office_groups(rng: np.random.Generator, cids: list[str]) -> list[OfficeGroup]:
    """The demo chain's groups: every office, and the first half ("Innerstaden")."""
    gid = [s.decode() for s in hex_ids(rng, 2, b"GRP")]
    half = tuple(cids[: max(1, (len(cids) + 1) // 2)])
    return [
        OfficeGroup(gid[0], "Alla kontor", tuple(cids)),
        OfficeGroup(gid[1], "Innerstaden", half),
    ]


def _users(
    rng: np.random.Generator, n_off: int, per_office: np.ndarray
) -> tuple[np.ndarray, list[str], list[str], np.ndarray, np.ndarray]:
    """Ids, names, titles, archived and public flags of every office's users."""
    n = int(per_office.sum())
    firsts = rng.integers(0, len(FIRST_NAMES), n)
    lasts = rng.integers(0, len(LAST_NAMES), n)
    names = [f"{FIRST_NAMES[f]} {LAST_NAMES[la]}" for f, la in zip(firsts, lasts, strict=True)]
    ids = hex_ids(rng, n, b"HAN").astype(str)
    titles = [TITLES[t] for t in rng.choice(len(TITLES), size=n, p=TITLE_SHARES)]
    archived = rng.random(n) < 0.15
    public = np.ones(n, dtype=bool)
    starts = np.concatenate([[0], np.cumsum(per_office)])
    for k in range(n_off):  # about a quarter per office is not public (at least one of two)
        size = int(per_office[k])
        hidden = round(size * NON_PUBLIC_SHARE) if size >= 4 else (1 if size >= 2 else 0)
        public[starts[k] + rng.choice(size, size=hidden, replace=False)] = False
    return ids, names, titles, archived, public


def _services(rng: np.random.Generator, n: int) -> np.ndarray:
    """Active services per contact as a bit mask: ~70 % none, the rest one to three."""
    weight = np.array(
        [np.prod([SERVICE_SHARES[b] for b in range(3) if m >> b & 1]) for m in range(8)]
    )
    size = np.array([bin(m).count("1") for m in range(8)])
    p = np.zeros(8)
    for k, share in enumerate(SERVICE_COUNT_SHARES):  # P(k services) spread over k-subsets
        p[size == k] = share * weight[size == k] / weight[size == k].sum()
    return rng.choice(8, size=n, p=p).astype(np.uint8)


def build_dataset(
    seed: int = 0,
    contacts: int = 10_000,
    offices: int | list[str] | tuple[str, ...] | None = None,
    agents: int | None = None,
    end: str | dt.date | None = None,
    *,
    now: Any = None,
    extra: Iterable[Mapping[str, Any]] = (),
) -> Dataset:
    """Build the synthetic CRM deterministically from `seed` and the clock's day.

    Args:
        contacts: total number of contacts over all offices (the drawn ones).
        offices: number of offices (customer ids M30011, M30012, ...) or the ids to use.
        agents: users per office (default: 5-40 drawn per office).
        end: last day of data; default: the day before `now` (see `data_end`). Creation
            spans 4.5 years before it.
        now: the clock (a date or an instant); default $STANDIN_NOW, else the real time.
        extra: contacts placed at given instants, on top of the drawn ones (their own
            random stream: the drawn data stays the same); see `extra_columns`.
    """
    if end is not None and now is not None:
        raise ValueError(f"end, now: give one of them, got end={end!r} and now={now!r}")
    if contacts < 0:
        raise ValueError(f"contacts: must be zero or more, got {contacts}")
    if agents is not None and not 1 <= agents <= 5000:
        raise ValueError(f"agents: agents per office must be between 1 and 5000, got {agents}")
    rng = np.random.default_rng(seed)
    cids = customer_ids_for(offices)
    n_off = len(cids)
    end_day = pd.Timestamp(end).normalize() if end is not None else data_end(now)
    start_day = (end_day - pd.Timedelta(days=round(YEARS * 365.25))).normalize()
    per_office = np.full(n_off, agents) if agents is not None else rng.integers(5, 41, size=n_off)
    agent_ids, names, titles, archived, public = _users(rng, n_off, per_office)
    n_lists = rng.integers(3, 9, size=n_off)
    list_ids = [s.decode() for s in hex_ids(rng, int(n_lists.sum()), b"NYL")]
    groups = _office_groups(rng, cids)
    office_objs, list_names = _offices(rng, cids, per_office, n_lists, list_ids, groups)
    added = extra_columns(seed, list(extra), cids, agent_ids, per_office)
    cols = _contacts(rng, int(contacts), office_objs, n_lists, start_day, end_day, added)
    return Dataset(
        seed=seed,
        customer_ids=cids,
        offices=office_objs,
        groups=groups,
        agent_ids=agent_ids,
        agent_names=names,
        agent_titles=titles,
        agent_archived=archived,
        agent_public=public,
        agent_office=np.repeat(np.arange(n_off), per_office),
        list_ids=list_ids,
        list_names=list_names,
        list_office=np.repeat(np.arange(n_off), n_lists),
        last_day=end_day,
        **cols,
    )


def _offices(
    rng: np.random.Generator,
    cids: list[str],
    per_office: np.ndarray,
    n_lists: np.ndarray,
    list_ids: list[str],
    groups: list[OfficeGroup],
) -> tuple[list[Office], list[str]]:
    """Each office with its users, lists, custom fields and groups; the lists' names."""
    list_names: list[str] = []
    office_objs: list[Office] = []
    starts = np.concatenate([[0], np.cumsum(per_office)])
    lstarts = np.concatenate([[0], np.cumsum(n_lists)])
    for k, cid in enumerate(cids):
        chosen = rng.choice(len(LIST_NAMES), size=int(n_lists[k]), replace=False)
        list_names.extend(LIST_NAMES[c] for c in chosen)
        fcodes = sorted(rng.choice(len(CUSTOM_FIELDS), size=int(rng.integers(3, 7)), replace=False))
        office_objs.append(
            Office(
                customer_id=cid,
                name=OFFICE_NAMES[k] if k < len(OFFICE_NAMES) else f"Kontor {k + 1}",
                agent_codes=np.arange(starts[k], starts[k + 1]),
                list_ids=tuple(list_ids[lstarts[k] : lstarts[k + 1]]),
                field_codes=tuple(int(f) for f in fcodes),
                estate_field_codes=tuple(range(len(ESTATE_FIELDS)))[: 1 + k % 2],
                groups=tuple(g.id for g in groups if cid in g.offices),
            )
        )
    return office_objs, list_names


def _contacts(
    rng: np.random.Generator,
    n: int,
    offices: list[Office],
    n_lists: np.ndarray,
    start_day: pd.Timestamp,
    end_day: pd.Timestamp,
    extra: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """The contact columns, sorted by office, kind and creation time, with their bounds."""
    n_off = len(offices)
    office_weights = rng.dirichlet(np.full(n_off, 4.0))
    office = np.sort(rng.choice(n_off, size=n, p=office_weights)).astype(np.int16)
    kind = rng.choice(3, size=n, p=KIND_SHARES).astype(np.int8)
    created_ns = creation_times(rng, n, start_day, end_day)
    changed_ns = change_times(rng, created_ns, end_day)
    bounds = np.searchsorted(office, np.arange(n_off + 1)).astype(np.int64)
    agent = np.full(n, -1, dtype=np.int32)
    lists = np.zeros(n, dtype=np.uint16)
    custom = np.full((n, len(CUSTOM_FIELDS)), -1, dtype=np.int8)
    for k in range(n_off):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        # agents: a few busy users per office (Zipf-like weights), 3-8 % without agent
        a = offices[k].agent_codes
        w = 1.0 / np.arange(1, len(a) + 1) ** 0.8
        w = rng.permutation(w / w.sum())
        agent[lo:hi] = a[rng.choice(len(a), size=hi - lo, p=w)]
        agent[lo:hi][rng.random(hi - lo) < rng.uniform(0.03, 0.08)] = -1
        # newsletter lists: each list has its own popularity; a contact can be on several
        for j in range(int(n_lists[k])):
            p = rng.uniform(0.03, 0.35)
            lists[lo:hi] |= ((rng.random(hi - lo) < p).astype(np.uint16) << j).astype(np.uint16)
        # custom fields: defined per office, each set on a share of its contacts
        for f in offices[k].field_codes:
            is_set = rng.random(hi - lo) < rng.uniform(0.1, 0.6)
            vals = rng.integers(0, len(CUSTOM_FIELDS[f][3]), size=hi - lo).astype(np.int8)
            custom[lo:hi, f] = np.where(is_set, vals, -1)
    lead_score = rng.choice(6, size=n, p=LEAD_SCORE_SHARES).astype(np.int8)
    lead_score[kind == 2] = -1  # deceased estates have no lead score
    services = _services(rng, n)
    ids, id_keys = _hex_ids(rng, n, b"ADR")
    # sort by office, kind, creation time: one office = one slice, kinds sub-slices
    order = np.lexsort((created_ns, kind, office))
    cols = {
        "office": office, "kind": kind, "ids": ids, "id_keys": id_keys, "created_ns": created_ns,
        "changed_ns": changed_ns, "agent": agent, "lead_score": lead_score,
        "services": services, "lists": lists, "custom": custom,
    }  # fmt: skip
    if extra is not None and len(extra["ids"]):
        extra = _distinct_from(extra, id_keys)
        cols = {name: np.concatenate([col, extra[name]]) for name, col in cols.items()}
        order = np.lexsort((cols["created_ns"], cols["kind"], cols["office"]))
    cols = {name: col[order] for name, col in cols.items()}
    bounds = np.searchsorted(cols["office"], np.arange(n_off + 1)).astype(np.int64)
    kind_bounds = np.zeros((n_off, 4), dtype=np.int64)
    for k in range(n_off):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        kind_bounds[k] = lo + np.searchsorted(cols["kind"][lo:hi], np.arange(4))
    cols["changed_offset_ns"] = stockholm_offsets(cols["changed_ns"])
    return {**cols, "office_bounds": bounds, "kind_bounds": kind_bounds}


def extra_columns(
    seed: int,
    extra: list[Mapping[str, Any]],
    cids: list[str],
    agent_ids: np.ndarray,
    per_office: np.ndarray,
) -> dict[str, np.ndarray] | None:
    """Contact columns for contacts placed at given instants (`StandIn(extra_contacts=)`).

    Each is a mapping: customer_id and created_at (required; a naive time is Stockholm's),
    changed_at (default: created_at), kind ("person" by default), agent_id (one of the
    office's users; default none), lead_score (0-5; default 0, none for an estate).
    No lists, services or custom fields. Ids come from a stream of their own.
    """
    if not extra:
        return None
    rows = placed_rows(extra, cids, agent_ids, per_office)
    ids, keys = _hex_ids(np.random.default_rng([seed, 0x5EED]), len(rows), b"ADR")
    column = np.array(rows, dtype=np.int64).T
    n = len(rows)
    return {
        "office": column[0].astype(np.int16), "kind": column[1].astype(np.int8),
        "ids": ids, "id_keys": keys, "created_ns": column[2], "changed_ns": column[3],
        "agent": column[4].astype(np.int32), "lead_score": column[5].astype(np.int8),
        "services": np.zeros(n, np.uint8), "lists": np.zeros(n, np.uint16),
        "custom": np.full((n, len(CUSTOM_FIELDS)), -1, dtype=np.int8),
    }  # fmt: skip


def _distinct_from(extra: dict[str, np.ndarray], keys: np.ndarray) -> dict[str, np.ndarray]:
    """`extra`, after checking its ids share no 64-bit head with the drawn contacts'."""
    if np.isin(extra["id_keys"], keys).any():  # about 2**-64 per pair: never seen
        raise ValueError("extra_contacts: an id repeats a drawn contact's; change the seed")
    return extra
