"""The stand-in's synthetic CRM: offices, agents, lists, custom fields and contacts, seeded.

Everything is built with vectorised numpy so that 100 000 contacts take well under two
seconds and a million remain practical. Contacts are stored column-wise, sorted by office,
then kind, then creation time, so one office is one contiguous slice and a query is a few
boolean masks over int64 epoch-nanosecond arrays.

Answers are assembled from pre-rendered byte rows (see render.py); the words and shares
the data is made of are in vocab.py.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from vitec_nb.standin.render import render_json_rows, render_xml_rows
from vitec_nb.standin.vocab import (
    CUSTOM_FIELDS,
    FIRST_NAMES,
    LAST_NAMES,
    LEAD_SCORE_SHARES,
    LIST_NAMES,
    ORDER_TYPE_SHARES,
    TITLE_SHARES,
    TITLES,
    VALID_FOR,
)

TIMEZONE = "Europe/Stockholm"
KINDS = ("person", "company", "deceased_estate")
KIND_SHARES = (0.90, 0.09, 0.01)
# Reference end of the data: fixed, so a seed always gives the same dataset whatever the
# day it runs. Creation times span YEARS years before it.
DEFAULT_END = "2026-10-31"
YEARS = 4.5
DEFAULT_OFFICES = 3
FIRST_CUSTOMER_NUMBER = 30011

_HEX = np.frombuffer(b"".join(f"{i:02X}".encode() for i in range(256)), np.uint8).reshape(256, 2)
_NS = 1_000_000_000
_HOUR_NS = 3600 * _NS
_DAY_NS = 24 * _HOUR_NS


@dataclass(frozen=True)
class Office:
    """One office (customer id) and its lookups."""

    customer_id: str
    agent_codes: np.ndarray  # global agent codes of this office
    list_ids: tuple[str, ...]
    field_codes: tuple[int, ...]  # indexes into CUSTOM_FIELDS defined for this office


@dataclass
class Dataset:
    """The whole synthetic CRM, column-wise. Build it with `build_dataset()`."""

    seed: int
    customer_ids: list[str]
    offices: list[Office]
    office_bounds: np.ndarray  # office k is rows office_bounds[k]:office_bounds[k+1]
    kind_bounds: np.ndarray  # (n_offices, 4): kind j of office k is rows [k, j]:[k, j+1]
    # agents (global code = row)
    agent_ids: np.ndarray  # str
    agent_names: list[str]
    agent_titles: list[str]
    agent_archived: np.ndarray  # bool
    agent_office: np.ndarray  # office index
    # newsletter lists (global code = row)
    list_ids: list[str]
    list_names: list[str]
    list_office: np.ndarray
    # contacts
    office: np.ndarray  # int16
    kind: np.ndarray  # int8 index into KINDS
    ids: np.ndarray  # S19
    created_ns: np.ndarray  # int64 UTC epoch ns
    changed_ns: np.ndarray
    changed_offset_ns: np.ndarray  # UTC offset of changed_at in Stockholm (ns)
    agent: np.ndarray  # int32 global agent code, -1 = no agent
    lead_score: np.ndarray  # int8
    order_type: np.ndarray  # int8
    lists: np.ndarray  # uint16 bit j = the office's j-th list
    custom: np.ndarray  # (n, len(CUSTOM_FIELDS)) int8 value code, -1 = unset
    _rows: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _rows_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def size(self) -> int:
        return int(self.ids.shape[0])

    # --- rendered rows --------------------------------------------------------------

    def rows(self, fmt: str) -> np.ndarray:
        """Fixed-width rendered references, one uint8 row per contact (built once)."""
        with self._rows_lock:
            if fmt not in self._rows:
                self._rows[fmt] = render_json_rows(self) if fmt == "json" else render_xml_rows(self)
            return self._rows[fmt]

    @cached_property
    def agent_code(self) -> dict[str, int]:
        """Agent id -> global agent code."""
        return {str(a): i for i, a in enumerate(self.agent_ids)}

    # --- lookups as frames -----------------------------------------------------------

    @cached_property
    def agents_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "user_id": pd.array(self.agent_ids.tolist(), dtype="string"),
                "name": pd.array(self.agent_names, dtype="string"),
                "title": pd.array(self.agent_titles, dtype="string"),
                "archived": self.agent_archived.astype(bool),
                "customer_id": pd.array(
                    [self.customer_ids[k] for k in self.agent_office], dtype="string"
                ),
            }
        )

    @cached_property
    def lists_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "id": pd.array(self.list_ids, dtype="string"),
                "name": pd.array(self.list_names, dtype="string"),
                "customer_id": pd.array(
                    [self.customer_ids[k] for k in self.list_office], dtype="string"
                ),
            }
        )

    @cached_property
    def fields_frame(self) -> pd.DataFrame:
        rows = [
            (CUSTOM_FIELDS[f][0], CUSTOM_FIELDS[f][1], CUSTOM_FIELDS[f][2], o.customer_id)
            for o in self.offices
            for f in o.field_codes
        ]
        cols = list(zip(*rows, strict=True)) if rows else [[], [], [], []]
        return pd.DataFrame(
            {
                name: pd.array(list(col), dtype="string")
                for name, col in zip(("name", "label", "type", "customer_id"), cols, strict=True)
            }
        )

    def users_json(self, office: int) -> list[dict[str, Any]]:
        """The `User/GetUser` answer for one office (with a few personal fields)."""
        out = []
        for code in self.offices[office].agent_codes:
            name = self.agent_names[code]
            first, last = name.split(" ", 1)
            out.append(
                {
                    "userId": str(self.agent_ids[code]),
                    "userName": name,
                    "firstName": first,
                    "lastName": last,
                    "title": self.agent_titles[code],
                    "email": f"{_ascii(first)}.{_ascii(last)}@example.se".lower(),
                    "phone": _phone(int(code)),
                    "archived": bool(self.agent_archived[code]),
                    "customerId": [self.customer_ids[office]],
                }
            )
        return out

    def lists_json(self, office: int) -> list[dict[str, str]]:
        return [
            {"id": self.list_ids[c], "name": self.list_names[c]}
            for c in np.flatnonzero(self.list_office == office)
        ]

    def fields_json(self, office: int) -> list[dict[str, Any]]:
        o = self.offices[office]
        fields = [
            {
                "label": CUSTOM_FIELDS[f][1],
                "name": CUSTOM_FIELDS[f][0],
                "type": CUSTOM_FIELDS[f][2],
                "validFor": list(VALID_FOR),
            }
            for f in o.field_codes
        ]
        return [{"customerId": o.customer_id, "fields": fields}]

    # --- ground truth ----------------------------------------------------------------

    @cached_property
    def truth(self) -> pd.DataFrame:
        """One row per contact with everything the API does and does not return.

        Built column-wise with numpy and pyarrow (about a second per million contacts).
        Rows with the same lists or custom fields share one tuple or dict: do not modify.
        """
        n = self.size
        ids = pa.StringArray.from_buffers(
            n, pa.py_buffer(np.arange(n + 1, dtype=np.int32) * 19), pa.py_buffer(self.ids)
        )
        agent_ids = pa.array(self.agent_ids.astype(str)).take(
            pa.array(np.maximum(self.agent, 0), mask=self.agent < 0)
        )
        # newsletter lists: each office's 2**k membership masks -> one tuple of ids each
        width = 1 << max((len(o.list_ids) for o in self.offices), default=0)
        combos = np.empty((len(self.offices), width), dtype=object)
        for k, o in enumerate(self.offices):
            for m in range(width):
                combos[k, m] = tuple(i for j, i in enumerate(o.list_ids) if m >> j & 1)
        lists_col = combos[self.office, self.lists] if n else np.empty(0, dtype=object)
        # custom fields: one dict per distinct combination of values
        key = np.zeros(n, dtype=np.int64)
        for f in range(self.custom.shape[1]):
            key = key * 8 + (self.custom[:, f].astype(np.int64) + 1)
        uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        dicts = np.empty(len(uniq), dtype=object)
        for u, r in enumerate(first.tolist()):
            dicts[u] = {
                CUSTOM_FIELDS[f][0]: CUSTOM_FIELDS[f][3][c]
                for f, c in enumerate(self.custom[r].tolist())
                if c >= 0
            }
        custom_col = dicts[inverse.reshape(-1)] if n else np.empty(0, dtype=object)
        return pd.DataFrame(
            {
                "kind": pd.Categorical.from_codes(self.kind, categories=list(KINDS)),
                "id": pd.array(ids, dtype="string"),
                "customer_id": pd.Categorical.from_codes(self.office, categories=self.customer_ids),
                "created_at": _to_local(self.created_ns),
                "changed_at": _to_local(self.changed_ns),
                "agent_id": pd.array(agent_ids, dtype="string"),
                "lead_score": self.lead_score.astype(np.int64),
                "newsletter_list_ids": pd.Series(lists_col, dtype=object),
                "scheduled_order_type": self.order_type.astype(np.int64),
                "custom_fields": pd.Series(custom_col, dtype=object),
            }
        )


def _phone(code: int) -> str:
    return f"070-{(code * 7919) % 1000:03d} {(code * 104729) % 100:02d} {(code * 31) % 100:02d}"


def _ascii(text: str) -> str:
    return text.translate(str.maketrans("åäöÅÄÖé", "aaoAAOe"))


def _to_local(ns: np.ndarray) -> pd.Series:
    return pd.Series(pd.DatetimeIndex(ns.astype("datetime64[ns]"), tz="UTC").tz_convert(TIMEZONE))


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


def build_dataset(
    seed: int = 0,
    contacts: int = 10_000,
    offices: int | list[str] | tuple[str, ...] | None = None,
    agents: int | None = None,
    end: str | dt.date | None = None,
) -> Dataset:
    """Build the synthetic CRM deterministically from `seed`.

    Args:
        contacts: total number of contacts over all offices.
        offices: number of offices (customer ids M30011, M30012, ...) or the ids to use.
        agents: agents per office (default: 5-40 drawn per office).
        end: last day of data (default 2026-10-31); creation spans 4.5 years before it.
    """
    if contacts < 0:
        raise ValueError(f"contacts: must be zero or more, got {contacts}")
    if agents is not None and not 1 <= agents <= 5000:
        raise ValueError(f"agents: agents per office must be between 1 and 5000, got {agents}")
    rng = np.random.default_rng(seed)
    cids = customer_ids_for(offices)
    n_off = len(cids)
    end_day = pd.Timestamp(end or DEFAULT_END).normalize()
    start_day = (end_day - pd.Timedelta(days=round(YEARS * 365.25))).normalize()

    # --- agents, lists, custom fields per office ---
    per_office_agents = (
        np.full(n_off, agents) if agents is not None else rng.integers(5, 41, size=n_off)
    )
    n_agents = int(per_office_agents.sum())
    agent_office = np.repeat(np.arange(n_off), per_office_agents)
    firsts = rng.integers(0, len(FIRST_NAMES), n_agents)
    lasts = rng.integers(0, len(LAST_NAMES), n_agents)
    names = [f"{FIRST_NAMES[f]} {LAST_NAMES[la]}" for f, la in zip(firsts, lasts, strict=True)]
    codes = rng.choice(16**6, size=n_agents, replace=False)
    agent_ids = np.array(
        [
            _ascii(FIRST_NAMES[f][:2] + LAST_NAMES[la][0]).upper() + f"{c:06X}"
            for f, la, c in zip(firsts, lasts, codes, strict=True)
        ]
    )
    titles = [TITLES[t] for t in rng.choice(len(TITLES), size=n_agents, p=TITLE_SHARES)]
    archived = rng.random(n_agents) < 0.15
    n_lists = rng.integers(3, 9, size=n_off)
    list_office = np.repeat(np.arange(n_off), n_lists)
    list_codes = rng.choice(16**8, size=int(n_lists.sum()), replace=False)
    list_ids = [f"NL{c:08X}" for c in list_codes]
    list_names: list[str] = []
    office_objs: list[Office] = []
    starts = np.concatenate([[0], np.cumsum(per_office_agents)])
    lstarts = np.concatenate([[0], np.cumsum(n_lists)])
    for k, cid in enumerate(cids):
        chosen = rng.choice(len(LIST_NAMES), size=int(n_lists[k]), replace=False)
        list_names.extend(LIST_NAMES[c] for c in chosen)
        n_fields = int(rng.integers(3, 7))
        fcodes = tuple(sorted(rng.choice(len(CUSTOM_FIELDS), size=n_fields, replace=False)))
        office_objs.append(
            Office(
                customer_id=cid,
                agent_codes=np.arange(starts[k], starts[k + 1]),
                list_ids=tuple(list_ids[lstarts[k] : lstarts[k + 1]]),
                field_codes=tuple(int(f) for f in fcodes),
            )
        )

    # --- contacts ---
    n = int(contacts)
    office_weights = rng.dirichlet(np.full(n_off, 4.0))
    office = np.sort(rng.choice(n_off, size=n, p=office_weights)).astype(np.int16)
    kind = rng.choice(3, size=n, p=KIND_SHARES).astype(np.int8)
    created_ns = _creation_times(rng, n, start_day, end_day)
    changed_ns = _change_times(rng, created_ns, end_day)

    # agents: a few busy agents per office (Zipf-like weights), 3-8 % without agent
    agent = np.full(n, -1, dtype=np.int32)
    bounds = np.searchsorted(office, np.arange(n_off + 1)).astype(np.int64)
    for k in range(n_off):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        a = office_objs[k].agent_codes
        w = 1.0 / np.arange(1, len(a) + 1) ** 0.8
        w = rng.permutation(w / w.sum())
        agent[lo:hi] = a[rng.choice(len(a), size=hi - lo, p=w)]
        none_rate = rng.uniform(0.03, 0.08)
        agent[lo:hi][rng.random(hi - lo) < none_rate] = -1
    lead_score = rng.choice(6, size=n, p=LEAD_SCORE_SHARES).astype(np.int8)
    order_type = rng.choice(len(ORDER_TYPE_SHARES), size=n, p=ORDER_TYPE_SHARES).astype(np.int8)

    # newsletter lists: each list has its own popularity; a contact can be on several
    lists = np.zeros(n, dtype=np.uint16)
    for k in range(n_off):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        for j in range(int(n_lists[k])):
            p = rng.uniform(0.03, 0.35)
            lists[lo:hi] |= ((rng.random(hi - lo) < p).astype(np.uint16) << j).astype(np.uint16)

    # custom fields: defined per office, each set on a share of its contacts
    custom = np.full((n, len(CUSTOM_FIELDS)), -1, dtype=np.int8)
    for k in range(n_off):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        for f in office_objs[k].field_codes:
            nvals = len(CUSTOM_FIELDS[f][3])
            is_set = rng.random(hi - lo) < rng.uniform(0.1, 0.6)
            vals = rng.integers(0, nvals, size=hi - lo).astype(np.int8)
            custom[lo:hi, f] = np.where(is_set, vals, -1)

    ids = _contact_ids(rng, n)

    # sort by office, kind, creation time: one office = one slice, kinds sub-slices
    order = np.lexsort((created_ns, kind, office))
    office, kind, ids = office[order], kind[order], ids[order]
    created_ns, changed_ns = created_ns[order], changed_ns[order]
    agent, lead_score, order_type = agent[order], lead_score[order], order_type[order]
    lists, custom = lists[order], custom[order]
    kind_bounds = np.zeros((n_off, 4), dtype=np.int64)
    for k in range(n_off):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        kind_bounds[k] = lo + np.searchsorted(kind[lo:hi], np.arange(4))
    return Dataset(
        seed=seed,
        customer_ids=cids,
        offices=office_objs,
        office_bounds=bounds,
        kind_bounds=kind_bounds,
        agent_ids=agent_ids,
        agent_names=names,
        agent_titles=titles,
        agent_archived=archived,
        agent_office=agent_office,
        list_ids=list_ids,
        list_names=list_names,
        list_office=list_office,
        office=office,
        kind=kind,
        ids=ids,
        created_ns=created_ns,
        changed_ns=changed_ns,
        changed_offset_ns=_stockholm_offsets(changed_ns),
        agent=agent,
        lead_score=lead_score,
        order_type=order_type,
        lists=lists,
        custom=custom,
    )


def _contact_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unique ids "CRM" + 16 upper-case hex digits (fixed length: 19 bytes)."""
    raw = rng.integers(0, 2**63 - 1, size=n, dtype=np.int64, endpoint=True).astype(np.uint64)
    while True:  # a repeat among 63-bit draws is practically impossible; redraw if it happens
        order = np.argsort(raw, kind="stable")
        dup = np.flatnonzero(raw[order][1:] == raw[order][:-1])
        if not len(dup):
            break
        raw[order[dup + 1]] = rng.integers(0, 2**63 - 1, size=len(dup), dtype=np.int64)
    hexed = _HEX[raw.astype(">u8").view(np.uint8).reshape(n, 8)].reshape(n, 16)
    prefix = np.broadcast_to(np.frombuffer(b"CRM", np.uint8), (n, 3))
    return np.ascontiguousarray(np.hstack([prefix, hexed])).view("S19").reshape(n)


def _creation_times(
    rng: np.random.Generator, n: int, start_day: pd.Timestamp, end_day: pd.Timestamp
) -> np.ndarray:
    """Creation instants (UTC epoch ns) with growth, seasons, weekdays and office hours.

    Also plants boundary cases: exact midnights, exact month starts, the last microsecond
    of a month, and times around both DST changes (including the repeated October hour).
    """
    days = pd.date_range(start_day, end_day, freq="D").as_unit("ns")
    t = np.linspace(0.0, 1.0, len(days))
    growth = 1.0 + 2.0 * t  # the office grows: three times as busy at the end
    doy = days.day_of_year.to_numpy()
    season = 1.0 + 0.25 * np.cos(2 * np.pi * (doy - 110) / 182.6)  # spring and autumn peaks
    season *= np.where((doy > 185) & (doy < 222), 0.45, 1.0)  # July holidays
    season *= np.where((doy > 354) | (doy < 6), 0.4, 1.0)  # Christmas
    weekday = np.array([1.0, 1.05, 1.0, 0.95, 0.85, 0.3, 0.35])[days.day_of_week.to_numpy()]
    w = growth * season * weekday
    day = rng.choice(len(days), size=n, p=w / w.sum())
    day_ns = days.asi8[day]

    # time of day: office hours mostly, evenings sometimes, any time rarely
    part = rng.random(n)
    tod = np.where(
        part < 0.80,
        7.5 + 11.0 * rng.beta(2.6, 2.9, n),  # a bell over 07:30-18:30, no pile-ups
        np.where(part < 0.95, rng.uniform(17.0, 22.5, n), rng.uniform(0.0, 24.0, n)),
    )
    tod_ns = (tod * _HOUR_NS).astype(np.int64) // 1000 * 1000  # microsecond precision
    local_ns = day_ns + np.minimum(tod_ns, _DAY_NS - 1000)

    # planted boundary cases (a handful even in small datasets)
    pick = rng.permutation(n)
    k = max(3, n // 250) if n >= 60 else 0
    p_mid, p_month, p_last, p_dst = (
        pick[:k],
        pick[k : 2 * k],
        pick[2 * k : 3 * k],
        pick[3 * k : 5 * k],
    )
    local_ns[p_mid] = day_ns[p_mid]  # exactly midnight
    months = (
        pd.date_range(start_day + pd.offsets.MonthBegin(1), end_day, freq="MS").as_unit("ns").asi8
    )
    local_ns[p_month] = months[rng.integers(0, len(months), len(p_month))]
    month_ends = (
        pd.date_range(start_day, end_day - pd.Timedelta(days=1), freq="ME").as_unit("ns").asi8
    )
    last = month_ends[rng.integers(0, len(month_ends), len(p_last))] + _DAY_NS
    local_ns[p_last] = last - rng.integers(1, 1_000_000, len(p_last)) * 1000  # 23:59:59.xxx

    ambiguous = rng.random(n) < 0.5  # True: first (summer-time) occurrence of a repeated hour
    utc = (
        pd.DatetimeIndex(local_ns.astype("datetime64[ns]"))
        .tz_localize(TIMEZONE, ambiguous=ambiguous, nonexistent="shift_forward")
        .tz_convert("UTC")
        .tz_localize(None)
        .asi8.copy()
    )
    # DST days: instants within two hours of a change (both occurrences of 02:xx in October)
    changes = _dst_changes(start_day, end_day)
    if len(p_dst) and len(changes):
        at = changes[rng.integers(0, len(changes), len(p_dst))]
        offs = rng.integers(-2 * _HOUR_NS // 1000, 2 * _HOUR_NS // 1000, len(p_dst)) * 1000
        utc[p_dst] = at + offs
    return utc


def _change_times(
    rng: np.random.Generator, created: np.ndarray, end_day: pd.Timestamp
) -> np.ndarray:
    """Change instants at or after creation, before the end; a quarter never changed."""
    n = created.shape[0]
    end_ns = end_day.tz_localize(TIMEZONE).value + _DAY_NS - 1000
    room = np.maximum(end_ns - created, 0)
    frac = rng.random(n) ** 3  # most changes come soon after creation
    delta = (room * frac).astype(np.int64) // 1000 * 1000
    delta[rng.random(n) < 0.25] = 0  # never changed: changed_at == created_at
    return created + delta


def _dst_changes(start_day: pd.Timestamp, end_day: pd.Timestamp) -> np.ndarray:
    """UTC epoch ns of every DST change (01:00 UTC, last Sunday of March and October)."""
    out = []
    for year in range(start_day.year, end_day.year + 1):
        for month in (3, 10):
            last = pd.Timestamp(year=year, month=month, day=31)
            sunday = last - pd.Timedelta(days=(last.day_of_week - 6) % 7)
            at = sunday + pd.Timedelta(hours=1)
            if start_day <= sunday <= end_day:
                out.append(at.value)
    return np.array(out, dtype=np.int64)


def _stockholm_offsets(utc_ns: np.ndarray) -> np.ndarray:
    """Stockholm's UTC offset (ns) at each instant: +1 h in winter, +2 h in summer."""
    if utc_ns.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    years = pd.DatetimeIndex(utc_ns.astype("datetime64[ns]")).year
    lo, hi = int(years.min()), int(years.max())
    changes = _dst_changes(
        pd.Timestamp(year=lo, month=1, day=1), pd.Timestamp(year=hi, month=12, day=31)
    )
    # an odd number of changes before an instant means summer time
    summer = np.searchsorted(changes, utc_ns, side="right") % 2 == 1
    return np.where(summer, 2 * _HOUR_NS, _HOUR_NS).astype(np.int64)
