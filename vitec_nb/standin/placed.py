"""Contacts placed at given instants (`StandIn(extra_contacts=)`): each spec checked.

Each spec becomes (office, kind, created_ns, changed_ns, agent, lead_score); data.py
gives them ids and the empty list, service and field columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from vitec_nb.vocab import KINDS, TIMEZONE

EXTRA_FIELDS = ("customer_id", "created_at", "changed_at", "kind", "agent_id", "lead_score")


def placed_rows(
    extra: Sequence[Mapping[str, Any]], cids: list[str], agent_ids: np.ndarray,
    per_office: np.ndarray,
) -> list[tuple[int, int, int, int, int, int]]:  # fmt: skip
    """Every spec of `extra` as a row (see the module), or a ValueError naming the fault."""
    starts = np.concatenate([[0], np.cumsum(per_office)])
    return [_extra_row(spec, cids, agent_ids, starts) for spec in extra]


def _extra_row(
    spec: Mapping[str, Any], cids: list[str], agent_ids: np.ndarray, starts: np.ndarray
) -> tuple[int, int, int, int, int, int]:
    """One placed contact as (office, kind, created_ns, changed_ns, agent, lead_score)."""
    unknown = sorted(set(spec) - set(EXTRA_FIELDS))
    if unknown or "customer_id" not in spec or "created_at" not in spec:
        raise ValueError(
            f"extra_contacts: {dict(spec)!r} needs customer_id and created_at "
            f"(allowed keys: {', '.join(EXTRA_FIELDS)})"
        )
    if spec["customer_id"] not in cids:
        raise ValueError(
            f"extra_contacts: customer_id {spec['customer_id']!r} is not an office here "
            f"(allowed: {', '.join(cids)})"
        )
    office = cids.index(spec["customer_id"])
    kind_name = spec.get("kind", "person")
    if kind_name not in KINDS:
        raise ValueError(f"extra_contacts: kind {kind_name!r} (allowed: {', '.join(KINDS)})")
    kind = list(KINDS).index(kind_name)
    created = _instant_ns(spec["created_at"], "created_at")
    changed = _instant_ns(spec.get("changed_at", spec["created_at"]), "changed_at")
    if changed < created:
        raise ValueError(f"extra_contacts: changed_at before created_at in {dict(spec)!r}")
    own = [str(a) for a in agent_ids[starts[office] : starts[office + 1]]]
    agent = spec.get("agent_id")
    if agent is not None and agent not in own:
        raise ValueError(f"extra_contacts: agent_id {agent!r} is not a user of {cids[office]}")
    code = -1 if agent is None else int(starts[office]) + own.index(agent)
    score = spec.get("lead_score", -1 if kind == 2 else 0)
    if (kind == 2) != (score == -1) or not -1 <= score <= 5:
        raise ValueError(
            f"extra_contacts: lead_score {score!r} (allowed: 0-5; none for a deceased estate)"
        )
    return office, kind, created, changed, code, int(score)


def _instant_ns(value: Any, name: str) -> int:
    """UTC epoch ns of `value` (a naive time is Stockholm's), at microsecond precision."""
    try:
        ts = pd.Timestamp(value)
        ts = ts.tz_localize(TIMEZONE) if ts.tzinfo is None else ts
    except (TypeError, ValueError) as exc:
        raise ValueError(f"extra_contacts: {name} {value!r} is not an instant") from exc
    if ts.nanosecond:
        raise ValueError(f"extra_contacts: {name} {value!r} is finer than a microsecond")
    return int(ts.as_unit("ns").value)
