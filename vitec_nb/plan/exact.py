"""Exact single queries: whole-day ends by one end-check call, lead score 0 derived."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import pandas as pd

from vitec_nb.plan.planning import closed
from vitec_nb.plan.values import ASKED_LEAD_SCORES, BreakdownWarning
from vitec_nb.profile import ServerProfile
from vitec_nb.provenance import combined, provenance_of, set_provenance
from vitec_nb.query import ContactQuery
from vitec_nb.vocab import DECEASED_ESTATE

__all__ = ["exact_contacts", "needs_exact"]


def _open_bounds(query: ContactQuery) -> list[tuple[str, pd.Timestamp]]:
    """(field, bound) of each `*_to` that is open: a whole day, the next midnight excluded."""
    return [
        (name, getattr(query, name))
        for name in ("created_to", "changed_to")
        if getattr(query, f"{name}_open", False) and getattr(query, name) is not None
    ]


def _derives_zero(query: ContactQuery, profile: ServerProfile) -> bool:
    """`LeadScore=0` may mean "no filter": derive it unless the server is known to filter."""
    return query.lead_score == 0 and profile.zero_filters is not True


def needs_exact(query: ContactQuery, profile: ServerProfile | None = None) -> bool:
    """True when `query` cannot be sent as it is and mean what it says on every server."""
    return bool(_open_bounds(query)) or _derives_zero(query, profile or ServerProfile())


def _removed(frame: pd.DataFrame, others: list[pd.DataFrame]) -> pd.Series:
    """Rows of `frame` whose (office, id) is in any of `others`."""
    if not others:
        return pd.Series(False, index=frame.index)
    drop = pd.concat([o[["customer_id", "id"]] for o in others], ignore_index=True)
    keys = pd.MultiIndex.from_frame(drop.astype(object))
    mine = pd.MultiIndex.from_frame(frame[["customer_id", "id"]].astype(object))
    return pd.Series(mine.isin(keys), index=frame.index)


def _subset_checks(
    frame: pd.DataFrame, drops: list[ContactQuery], others: list[pd.DataFrame]
) -> list[str]:
    """Every answer removed from the base answer must lie inside it; if not, say so."""
    base = pd.MultiIndex.from_frame(frame[["customer_id", "id"]].astype(object))
    out = []
    for query, other in zip(drops, others, strict=True):
        keys = pd.MultiIndex.from_frame(other[["customer_id", "id"]].astype(object))
        outside = int((~keys.isin(base)).sum())
        if outside:
            out.append(
                f"{outside} contacts of the answer for {query.describe()} are missing from the "
                f"answer without that filter ({len(frame)} contacts): that answer may have been "
                "cut short by the server, so this result may be short too."
            )
    return out


def exact_contacts(
    client: Any, query: ContactQuery, profile: ServerProfile | None = None, **kw: Any
) -> pd.DataFrame:
    """`client.contacts(query)`, exact whatever the server's precision and meaning of 0.

    For an open `created_to`/`changed_to` (a date-only end: the next midnight, excluded)
    the query is sent with that bound (Vitec includes it) plus one end-check call with
    from = to = the bound, whose contacts are removed. A lead score of 0 is the answer
    without `LeadScore` minus the answers for 1-5 and minus deceased estates (they have no
    lead score), unless the profile says 0 is a real filter. `kw` goes to every call.
    """
    profile = profile or ServerProfile()
    base = closed(query)
    drops: list[ContactQuery] = []
    for name, bound in _open_bounds(query):
        prefix = name.removesuffix("_to")
        drops.append(base.replace(**{f"{prefix}_from": bound, f"{prefix}_to": bound}))
    zero = _derives_zero(query, profile)
    if zero:
        base = base.replace(lead_score=None)
        drops = [d.replace(lead_score=None) for d in drops]
        drops += [base.replace(lead_score=score) for score in ASKED_LEAD_SCORES]
    frame = client.contacts(base, **kw)
    others = [client.contacts(d, **kw) for d in drops]
    checks = _subset_checks(frame, drops, others)
    for note in checks:
        warnings.warn(note, BreakdownWarning, stacklevel=3)
    out = frame[~_removed(frame, others).to_numpy()]
    if zero:
        out = out[out["kind"].astype(object) != DECEASED_ESTATE]
    out = out.reset_index(drop=True)
    answers = [frame, *others]
    base, each = provenance_of(frame), combined(provenance_of(a) for a in answers)
    came = dataclasses.replace(
        base,
        query=query,
        from_cache=each.from_cache,
        stale=each.stale,
        fetched_at=each.fetched_at,  # the oldest answer's
    )
    return set_provenance(out, came.noted(exact_calls=len(answers), checks=checks))
