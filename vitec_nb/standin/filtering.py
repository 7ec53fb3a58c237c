"""Which contacts of an office match a contact request's filters (vectorised numpy)."""

from __future__ import annotations

import numpy as np

from vitec_nb.standin.data import Dataset
from vitec_nb.standin.dialect import Dialect
from vitec_nb.standin.params import ContactFilters
from vitec_nb.standin.vocab import CUSTOM_FIELDS

Parts = list[np.ndarray | slice]


def select(  # noqa: C901, PLR0912 (one branch per filter, as the API lists them)
    ds: Dataset, office: int, f: ContactFilters, dialect: Dialect | None = None
) -> Parts:
    """Rows of the office's contacts matching filters `f`, one index array per kind.

    Without filters each kind is a `slice` (a contiguous block: no copy of indexes).
    Filters combine with AND; bounds are inclusive at nanosecond precision; text values
    match case-insensitively (like SQL Server's default collation). An unknown agent, list
    or field gives no matches, not an error. Deceased estates have no lead score: they
    match no `LeadScore` value. A service number other than 1-3 matches nothing. With the
    dialect's `zero_filters` off, `LeadScore=0` and `ContactScheduledOrderType=0` mean
    "no filter" (a non-nullable criterion left at its default).
    """
    zero_is_value = dialect.zero_filters if dialect is not None else False
    lo, hi = int(ds.office_bounds[office]), int(ds.office_bounds[office + 1])
    masks: list[np.ndarray] = []
    empty = False
    if f.agent_id is not None:
        code = ds.agent_code.get(f.agent_id.upper())
        if code is None or ds.agent_office[code] != office:
            empty = True
        else:
            masks.append(ds.agent[lo:hi] == code)
    for value, arr, is_from in (
        (f.created_from, ds.created_ns, True),
        (f.created_to, ds.created_ns, False),
        (f.changed_from, ds.changed_ns, True),
        (f.changed_to, ds.changed_ns, False),
    ):
        if value is not None:
            masks.append(arr[lo:hi] >= value if is_from else arr[lo:hi] <= value)
    if f.custom_field_name is not None:
        mask = _custom_field(ds, office, lo, hi, f)
        empty = empty or mask is None
        if mask is not None:
            masks.append(mask)
    if f.lead_score is not None and (f.lead_score != 0 or zero_is_value):
        if f.lead_score < 0:  # estates hold -1 for "none": no value matches them
            empty = True
        else:
            masks.append(ds.lead_score[lo:hi] == f.lead_score)
    order = f.scheduled_order_type
    if order is not None and (order != 0 or zero_is_value):
        if 1 <= order <= 3:
            masks.append((ds.services[lo:hi] & np.uint8(1 << (order - 1))) != 0)
        else:
            empty = True
    if f.newsletter_list_id is not None:
        ids = ds.offices[office].list_ids
        wanted = f.newsletter_list_id.upper()
        if wanted in ids:
            masks.append((ds.lists[lo:hi] & np.uint16(1 << ids.index(wanted))) != 0)
        else:
            empty = True
    mask = None
    for m in masks:
        mask = m if mask is None else (mask & m)
    return _parts(ds, office, lo, mask, empty)


def _custom_field(
    ds: Dataset, office: int, lo: int, hi: int, f: ContactFilters
) -> np.ndarray | None:
    """The mask of a custom field filter; None when nothing can match."""
    names = {CUSTOM_FIELDS[c][0].casefold(): c for c in ds.offices[office].field_codes}
    fcode = names.get((f.custom_field_name or "").casefold())
    if fcode is None:  # unknown, or a field valid for estates only: no contact has it
        return None
    col = ds.custom[lo:hi, fcode]
    if f.custom_field_value is None:
        return col >= 0
    vals = [v.casefold() for v in CUSTOM_FIELDS[fcode][3]]
    target = f.custom_field_value.casefold()
    return col == vals.index(target) if target in vals else None


def _parts(ds: Dataset, office: int, lo: int, mask: np.ndarray | None, empty: bool) -> Parts:
    kb = ds.kind_bounds[office]
    out: Parts = []
    for j in range(3):
        a, b = int(kb[j]), int(kb[j + 1])
        if empty:
            out.append(np.zeros(0, dtype=np.int64))
        elif mask is None:
            out.append(slice(a, b))
        else:
            out.append(np.flatnonzero(mask[a - lo : b - lo]) + a)
    return out


def cap(parts: Parts, limit: int | None) -> Parts:
    """At most `limit` references in all (persons first, then companies, then estates)."""
    if limit is None:
        return parts
    out: Parts = []
    left = limit
    for part in parts:
        if isinstance(part, slice):
            out.append(slice(part.start, min(part.stop, part.start + left)))
            left -= out[-1].stop - out[-1].start
        else:
            out.append(part[:left])
            left -= len(out[-1])
    return out
