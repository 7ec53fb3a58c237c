"""The stand-in's data as pandas frames: the ground truth and every lookup."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from vitec_nb.standin.vocab import CHAIN, CUSTOM_FIELDS, ESTATE_FIELDS
from vitec_nb.vocab import KINDS, TIMEZONE

if TYPE_CHECKING:
    from vitec_nb.standin.data import Dataset


def _strings(values: list[str]) -> pd.arrays.StringArray:
    return pd.array(values, dtype="string")


def agents_frame(ds: Dataset) -> pd.DataFrame:
    """Every user: user_id, name, title, archived, public, customer_id."""
    return pd.DataFrame(
        {
            "user_id": _strings(ds.agent_ids.tolist()),
            "name": _strings(ds.agent_names),
            "title": _strings(ds.agent_titles),
            "archived": ds.agent_archived.astype(bool),
            "public": ds.agent_public.astype(bool),
            "customer_id": _strings([ds.customer_ids[k] for k in ds.agent_office]),
        }
    )


def lists_frame(ds: Dataset) -> pd.DataFrame:
    """Newsletter lists: id, name, customer_id."""
    return pd.DataFrame(
        {
            "id": _strings(ds.list_ids),
            "name": _strings(ds.list_names),
            "customer_id": _strings([ds.customer_ids[k] for k in ds.list_office]),
        }
    )


def field_defs(ds: Dataset, office: int) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(name, label, type, validFor) of an office's custom fields, contact fields first."""
    o = ds.offices[office]
    contact = [(f[0], f[1], f[2], f[4]) for f in (CUSTOM_FIELDS[c] for c in o.field_codes)]
    return contact + [ESTATE_FIELDS[c] for c in o.estate_field_codes]


def fields_frame(ds: Dataset) -> pd.DataFrame:
    """Custom field definitions: name, label, type, valid_for (tuple), customer_id."""
    rows = [(*d, o.customer_id) for k, o in enumerate(ds.offices) for d in field_defs(ds, k)]
    cols = list(zip(*rows, strict=True)) if rows else [[], [], [], [], []]
    out = {n: _strings(list(c)) for n, c in zip(("name", "label", "type"), cols[:3], strict=True)}
    out["valid_for"] = pd.Series(list(cols[3]), dtype=object)
    out["customer_id"] = _strings(list(cols[4]))
    return pd.DataFrame(out)


def offices_frame(ds: Dataset) -> pd.DataFrame:
    """Offices: customer_id, office_id, name, chain, chain_id, groups (tuple of group ids)."""
    return pd.DataFrame(
        {
            "customer_id": _strings(ds.customer_ids),
            "office_id": _strings(ds.customer_ids),  # Vitec: office ids are customer ids
            "name": _strings([o.name for o in ds.offices]),
            "chain": _strings([CHAIN[1]] * len(ds.offices)),
            "chain_id": _strings([CHAIN[0]] * len(ds.offices)),
            "groups": pd.Series([o.groups for o in ds.offices], dtype=object),
        }
    )


def groups_frame(ds: Dataset) -> pd.DataFrame:
    """Office groups: id, name, offices (tuple of customer ids)."""
    return pd.DataFrame(
        {
            "id": _strings([g.id for g in ds.groups]),
            "name": _strings([g.name for g in ds.groups]),
            "offices": pd.Series([g.offices for g in ds.groups], dtype=object),
        }
    )


def _to_local(ns: np.ndarray) -> pd.Series:
    return pd.Series(pd.DatetimeIndex(ns.astype("datetime64[ns]"), tz="UTC").tz_convert(TIMEZONE))


def _list_tuples(ds: Dataset) -> np.ndarray:
    """Each contact's newsletter list ids as a tuple (one shared tuple per combination)."""
    n = ds.size
    width = 1 << max((len(o.list_ids) for o in ds.offices), default=0)
    combos = np.empty((len(ds.offices), width), dtype=object)
    for k, o in enumerate(ds.offices):
        for m in range(width):
            combos[k, m] = tuple(i for j, i in enumerate(o.list_ids) if m >> j & 1)
    return combos[ds.office, ds.lists] if n else np.empty(0, dtype=object)


def _custom_dicts(ds: Dataset) -> np.ndarray:
    """Each contact's custom field values as a dict (one shared dict per combination)."""
    n = ds.size
    key = np.zeros(n, dtype=np.int64)
    for f in range(ds.custom.shape[1]):
        key = key * 8 + (ds.custom[:, f].astype(np.int64) + 1)
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    dicts = np.empty(len(uniq), dtype=object)
    for u, r in enumerate(first.tolist()):
        dicts[u] = {
            CUSTOM_FIELDS[f][0]: CUSTOM_FIELDS[f][3][c]
            for f, c in enumerate(ds.custom[r].tolist())
            if c >= 0
        }
    return dicts[inverse.reshape(-1)] if n else np.empty(0, dtype=object)


def truth_frame(ds: Dataset) -> pd.DataFrame:
    """One row per contact with everything the API does and does not return.

    Built column-wise with numpy and pyarrow (about a second per million contacts).
    Rows with the same lists, services or custom fields share one tuple or dict: do not
    modify them.
    """
    n = ds.size
    width = ds.ids.dtype.itemsize
    ids = pa.StringArray.from_buffers(
        n, pa.py_buffer(np.arange(n + 1, dtype=np.int32) * width), pa.py_buffer(ds.ids)
    )
    agent_ids = pa.array(ds.agent_ids.astype(str)).take(
        pa.array(np.maximum(ds.agent, 0), mask=ds.agent < 0)
    )
    services = np.empty(8, dtype=object)
    for m in range(8):
        services[m] = tuple(s + 1 for s in range(3) if m >> s & 1)
    lead = pd.array(ds.lead_score.astype(np.int64), dtype="Int64")
    lead[ds.lead_score < 0] = pd.NA
    return pd.DataFrame(
        {
            "kind": pd.Categorical.from_codes(ds.kind, categories=list(KINDS)),
            "id": pd.array(ids, dtype="string"),
            "customer_id": pd.Categorical.from_codes(ds.office, categories=ds.customer_ids),
            "created_at": _to_local(ds.created_ns),
            "changed_at": _to_local(ds.changed_ns),
            "agent_id": pd.array(agent_ids, dtype="string"),
            "lead_score": lead,
            "newsletter_list_ids": pd.Series(_list_tuples(ds), dtype=object),
            "scheduled_order_types": pd.Series(services[ds.services], dtype=object),
            "custom_fields": pd.Series(_custom_dicts(ds), dtype=object),
        }
    )
