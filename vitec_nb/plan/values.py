"""Plan values: the frozen plan of a breakdown (calls, dimensions, offices) and its constants."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pandas as pd

from vitec_nb import activity
from vitec_nb.activity import TIMEZONE
from vitec_nb.query import ContactQuery

# dimension -> the ContactQuery field that selects one of its values
DIMENSIONS: dict[str, str] = {
    "agent": "agent_id",
    "lead_score": "lead_score",
    "newsletter_list": "newsletter_list_id",
    "scheduled_order_type": "scheduled_order_type",
    "custom_field": "custom_field_value",
}
MEASURES = ("created", "changed")
DEFAULT_CONCURRENCY = 6
MAX_CONCURRENCY = 8
DEFAULT_PERIODS_BACK = 12
DEFAULT_MAX_CALLS = 2000

NO_AGENT = "(no agent)"
OTHER = "(other)"
NO_SCORE = "(none)"
NO_LIST = "(no list)"
CONFLICT = "(conflict)"

_NOUNS = {
    "agent": ("agent", "agents"),
    "lead_score": ("lead score", "lead scores"),
    "newsletter_list": ("newsletter list", "newsletter lists"),
    "scheduled_order_type": ("scheduled order type", "scheduled order types"),
    "custom_field": ("custom field value", "custom field values"),
}
_PLAN_OPTIONS = frozenset(
    {
        "measure",
        "period",
        "start",
        "end",
        "agent_ids",
        "newsletter_list_ids",
        "scheduled_order_types",
        "custom_field_name",
        "custom_field_values",
        "infer_last",
        "include_archived",
        "now",
        "max_calls",
    }
)
_RUN_OPTIONS = frozenset({"concurrency", "progress", "refresh", "offline", "allow_partial"})


class BreakdownWarning(UserWarning):
    """The joins of a breakdown did not add up, or a contact had two values of one dimension."""


@dataclasses.dataclass(frozen=True)
class PlannedCall:
    """One API call of a plan: which office, what it is for, and the exact query.

    `dimension` is "base" (the base set in the range), "created" (one creation window;
    `value` is the window's index), "end" (the contacts created exactly at the end of the
    range, left out of a half-open range), or a dimension name with `value` one of its values.
    `label` says it in words: "M30011 agent HAN123 (Anna Berg)", "M30011 created 2025-03".
    """

    office: str
    dimension: str
    value: Any
    query: ContactQuery
    label: str

    def __str__(self) -> str:
        return self.label


@dataclasses.dataclass(frozen=True)
class DimensionPlan:
    """How one dimension is split in one office.

    Args:
        values: the values asked, one call each.
        names: display names for values (agent names); ids are the fallback.
        remainder: the label of base-set contacts found under none of `values`
            ("(no agent)" when every agent of the office is asked, "(other)" for a given
            subset, "(none)" for lead score, "(no list)" for newsletter lists).
        inferred: when not None, the value given to the remainder without a call (lead score
            with ``infer_last=True``: the dimension is total, so the last value is implied).
        fixed: when not None, the base query already fixes this value: every contact has it
            and no call is made.
    """

    name: str
    office: str
    values: tuple[Any, ...]
    names: Mapping[Any, str]
    remainder: str
    inferred: Any = None
    fixed: Any = None

    @property
    def multi_valued(self) -> bool:
        """True when a contact may have several values at once (newsletter lists)."""
        return self.name in activity.MULTI_VALUED

    @property
    def all_values(self) -> tuple[Any, ...]:
        """Every value a contact can end up with in the counts, in display order."""
        if self.fixed is not None:
            return (self.fixed,)
        vals = list(self.values)
        if self.inferred is not None:
            vals = sorted([*vals, self.inferred]) if self.name == "lead_score" else vals
            if self.inferred not in vals:
                vals.append(self.inferred)
            return tuple(vals)
        if self.name == "lead_score":
            # lead score is total: "(none)" is listed only when a contact turns out to have it
            return tuple(vals)
        return (*vals, self.remainder)


@dataclasses.dataclass(frozen=True)
class OfficePlan:
    """The calls for one office: base set, creation windows, end check, dimension values."""

    office: str
    base: PlannedCall
    windows: tuple[PlannedCall, ...]
    end_check: PlannedCall | None
    dimensions: tuple[DimensionPlan, ...]
    dimension_calls: tuple[PlannedCall, ...]

    def all_calls(self) -> tuple[PlannedCall, ...]:
        """Every call of this office, in plan order (duplicates possible: see `calls`)."""
        extra = (self.end_check,) if self.end_check is not None else ()
        return (self.base, *self.windows, *extra, *self.dimension_calls)


@dataclasses.dataclass(frozen=True)
class BreakdownPlan:
    """A breakdown decided but not run: the calls it will make and how they will be joined.

    `calls` holds each distinct query once (a creation window equal to the base call, for a
    range of one period, is the same call). `boundaries` are the creation windows' edges
    (start, every period start inside the range, end); `periods` the period starts listed.
    The range is half-open: [start, end).
    """

    query: ContactQuery
    by: tuple[str, ...]
    measure: str
    period: str
    start: pd.Timestamp
    end: pd.Timestamp
    boundaries: tuple[pd.Timestamp, ...]
    offices: tuple[OfficePlan, ...]
    calls: tuple[PlannedCall, ...]
    planned_at: pd.Timestamp
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def n_calls(self) -> int:
        """How many API calls running this plan makes with an empty cache."""
        return len(self.calls)

    @property
    def periods(self) -> pd.DatetimeIndex:
        """Starts of the periods of the range (the first may begin before `start`)."""
        return activity.period_index(self.start, self.end, self.period)

    def cached(self, client: Any) -> int:
        """How many of the calls are already answered by the cache (asks no server)."""
        return sum(1 for call in self.calls if client.is_cached(call.query))

    def describe(self, client: Any = None) -> str:
        """One line for the form: "45 calls (12 already cached) for M30011: 1 base + ..."."""
        head = f"{self.n_calls} call{'s' if self.n_calls != 1 else ''}"
        if client is not None:
            head += f" ({self.cached(client)} already cached)"
        offices = ", ".join(o.office for o in self.offices)
        parts = [self._describe_office(o) for o in self.offices]
        if len(set(parts)) == 1:
            per = parts[0] if len(parts) == 1 else f"{len(parts)} × ({parts[0]})"
        else:
            per = "; ".join(f"{o.office}: {p}" for o, p in zip(self.offices, parts, strict=True))
        return f"{head} for {offices}: {per}"

    def _describe_office(self, office: OfficePlan) -> str:
        unique: dict[ContactQuery, PlannedCall] = {}
        for call in office.all_calls():
            unique.setdefault(call.query, call)
        kinds = [c.dimension for c in unique.values()]
        parts = [f"{kinds.count('base')} base"]
        n_windows = kinds.count("created")
        if n_windows:
            noun = activity.period_name(self.period)
            parts.append(f"{n_windows} {noun}{'s' if n_windows != 1 else ''}")
        if kinds.count("end"):
            parts.append("1 end check")
        for dim in office.dimensions:
            n = kinds.count(dim.name)
            one, many = _NOUNS[dim.name]
            if dim.fixed is not None:
                parts.append(f"0 {many} (fixed by the query)")
            else:
                parts.append(f"{n} {one if n == 1 else many}")
        return " + ".join(parts)

    def to_frame(self) -> pd.DataFrame:
        """The calls as a table: office, dimension, value, label, API parameters."""
        return pd.DataFrame(
            {
                "office": [c.office for c in self.calls],
                "dimension": [c.dimension for c in self.calls],
                "value": pd.Series([c.value for c in self.calls], dtype=object),
                "label": [c.label for c in self.calls],
                "params": [c.query.to_params() for c in self.calls],
            }
        )

    def __repr__(self) -> str:
        return f"<BreakdownPlan {self.describe()}>"


def _fmt(ts: pd.Timestamp) -> str:
    """A time in Stockholm for messages and labels: the date, with the time unless midnight."""
    local = ts.tz_convert(TIMEZONE)
    if local == local.normalize():
        return local.strftime("%Y-%m-%d")
    return local.strftime("%Y-%m-%d %H:%M:%S")


def _dimension_order(plan: BreakdownPlan, name: str) -> list[Any]:
    """Every value of a dimension across offices, in plan order, special labels last."""
    order: list[Any] = []
    specials: list[Any] = []
    for op in plan.offices:
        for dim in op.dimensions:
            if dim.name != name:
                continue
            for value in dim.all_values:
                target = specials if isinstance(value, str) and value.startswith("(") else order
                if value not in order and value not in specials:
                    target.append(value)
    return [*order, *specials]
