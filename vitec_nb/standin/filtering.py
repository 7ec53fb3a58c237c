"""Which contacts of an office match a contact request's filters (vectorised numpy)."""

from __future__ import annotations

import numpy as np

from vitec_nb.standin.data import Dataset
from vitec_nb.standin.params import ContactFilters
from vitec_nb.standin.vocab import CUSTOM_FIELDS


def select(ds: Dataset, office: int, f: ContactFilters) -> list[np.ndarray | slice]:
    """Rows of the office's contacts matching filters `f`, one index array per kind.

    Without filters each kind is a `slice` (a contiguous block: no copy of indexes).
    Filters combine with AND; bounds are inclusive at
    nanosecond precision; text values match case-insensitively (like SQL Server's default
    collation). An unknown agent, list or field gives no matches, not an error.
    """
    lo, hi = int(ds.office_bounds[office]), int(ds.office_bounds[office + 1])
    mask: np.ndarray | None = None
    empty = False

    def both(m: np.ndarray) -> None:
        nonlocal mask
        mask = m if mask is None else (mask & m)

    if f.agent_id is not None:
        code = ds.agent_code.get(f.agent_id.upper())
        if code is None or ds.agent_office[code] != office:
            empty = True
        else:
            both(ds.agent[lo:hi] == code)
    for value, arr, is_from in (
        (f.created_from, ds.created_ns, True),
        (f.created_to, ds.created_ns, False),
        (f.changed_from, ds.changed_ns, True),
        (f.changed_to, ds.changed_ns, False),
    ):
        if value is not None:
            both(arr[lo:hi] >= value if is_from else arr[lo:hi] <= value)
    if f.custom_field_name is not None:
        names = {CUSTOM_FIELDS[c][0].casefold(): c for c in ds.offices[office].field_codes}
        fcode = names.get(f.custom_field_name.casefold())
        if fcode is None:
            empty = True
        else:
            col = ds.custom[lo:hi, fcode]
            if f.custom_field_value is None:
                both(col >= 0)
            else:
                vals = [v.casefold() for v in CUSTOM_FIELDS[fcode][3]]
                target = f.custom_field_value.casefold()
                if target in vals:
                    both(col == vals.index(target))
                else:
                    empty = True
    if f.lead_score is not None:
        both(ds.lead_score[lo:hi] == f.lead_score)
    if f.scheduled_order_type is not None:
        both(ds.order_type[lo:hi] == f.scheduled_order_type)
    if f.newsletter_list_id is not None:
        ids = ds.offices[office].list_ids
        wanted = f.newsletter_list_id.upper()
        if wanted in ids:
            bit = np.uint16(1 << ids.index(wanted))
            both((ds.lists[lo:hi] & bit) != 0)
        else:
            empty = True
    kb = ds.kind_bounds[office]
    out: list[np.ndarray | slice] = []
    for j in range(3):
        a, b = int(kb[j]), int(kb[j + 1])
        if empty:
            out.append(np.zeros(0, dtype=np.int64))
        elif mask is None:
            out.append(slice(a, b))
        else:
            out.append(np.flatnonzero(mask[a - lo : b - lo]) + a)
    return out
