"""Plausibility checks: where the answers show the server does not behave as assumed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vitec_nb.plan.values import DIMENSIONS, DimensionPlan, PlannedCall
from vitec_nb.query import PARAMETERS

__all__ = ["cap_checks", "dimension_checks", "window_check"]


def _sent(call: PlannedCall, dimension: str) -> str:
    """The filter as sent, in the API's words: "LeadScore=3"."""
    api = PARAMETERS[DIMENSIONS[dimension]].api_name
    return f"{api}={call.query.to_params().get(api, call.value)}"


def dimension_checks(
    office: str,
    dim: DimensionPlan,
    sizes: Mapping[PlannedCall, int],
    n_base: int,
) -> list[str]:
    """Sentences for one dimension of one office; `sizes` are answers' contacts in the base.

    - an answer for one value equal to the whole base set while other values have
      contacts: the server likely ignores that filter;
    - single-valued answers adding up to more than the base set.
    """
    out: list[str] = []
    if dim.fixed is not None or n_base == 0 or not sizes:
        return out
    for call, size in sizes.items():
        others = sum(1 for c, s in sizes.items() if c is not call and s > 0)
        if size == n_base and others:
            out.append(
                f"{office}: {_sent(call, dim.name)} returned the whole base set "
                f"({n_base} contacts) while other values have contacts too: the server may "
                "ignore this filter."
            )
    total = sum(sizes.values())
    if not dim.multi_valued and total > n_base:
        api = PARAMETERS[DIMENSIONS[dim.name]].api_name
        out.append(
            f"{office}: the answers for the {api} values add up to {total} contacts, more "
            f"than the {n_base} of the base set, though a contact has one value: the server "
            "may not filter on it as documented."
        )
    return out


def window_check(
    office: str, in_windows: np.ndarray, outside: int, n_base: int, failed: Sequence[Any]
) -> list[str]:
    """The creation windows must add up to the base set exactly (when none failed)."""
    if failed:
        return []
    found = int(in_windows.sum())
    if found == n_base and not outside:
        return []
    extra = f" (and {outside} not in it)" if outside else ""
    return [
        f"{office}: the creation windows hold {found} of the {n_base} contacts of the base "
        f"set{extra}; they should add up to it exactly (data changed during the run, or the "
        "server reads CreatedAtFrom/CreatedAtTo differently). Contacts in no window have an "
        "unknown period."
    ]


def cap_checks(office: str, sizes: Mapping[str, int], cap: int | None) -> list[str]:
    """Answers as large as the size at which the server was seen to cut answers silently."""
    if cap is None:
        return []
    cut = [label for label, size in sizes.items() if size >= cap]
    if not cut:
        return []
    shown = "; ".join(cut[:5]) + (f"; and {len(cut) - 5} more" if len(cut) > 5 else "")
    return [
        f"{office}: {len(cut)} answers hold {cap} contacts or more, the size at which this "
        f"server was seen to cut answers silently (vitec-nb doctor): {shown}. Their counts "
        "may be short; a shorter range or a finer filter keeps answers under the cap."
    ]
