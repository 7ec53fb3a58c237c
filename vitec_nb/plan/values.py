"""Plan values: the frozen plan of a breakdown (calls, dimensions, offices) and its constants."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pandas as pd

from vitec_nb import activity, vocab
from vitec_nb.activity import TIMEZONE
from vitec_nb.query import ContactQuery

# dimension -> the ContactQuery field that selects one of its values
DIMENSIONS: dict[str, str] = {
    "agent": "agent_id",
    "lead_score": "lead_score",
    "newsletter_list": "newsletter_list_id",
    "scheduled_order_type": "scheduled_order_type",
    "custom_field": "custom_field_value",
    "office": "customer_id",  # free: every answer carries customerId; no call of its own
}
MEASURES = ("created", "changed")
DEFAULT_CONCURRENCY = 6
MAX_CONCURRENCY = 8
DEFAULT_PERIODS_BACK = 12
DEFAULT_MAX_CALLS = 2000

NO_AGENT = "(no agent)"
NO_AGENT_OR_UNLISTED = "(no agent or an unlisted user)"
OTHER = "(other)"
NO_SCORE = "(none)"
NO_LEAD_SCORE = "(no lead score)"
NO_LIST = activity.NO_VALUE_LABELS["newsletter_list"]  # one word for the planner and counts
NO_SERVICE = activity.NO_VALUE_LABELS["scheduled_order_type"]
# the same contacts when only some lists / services were asked (on none of those)
OTHER_OR_NO_LIST = activity.OTHER_OR_NONE_LABELS["newsletter_list"]
OTHER_OR_NO_SERVICE = activity.OTHER_OR_NONE_LABELS["scheduled_order_type"]
CONFLICT = "(conflict)"
SPECIAL_LABELS = (CONFLICT, NO_LEAD_SCORE, NO_SCORE, OTHER, NO_AGENT, NO_AGENT_OR_UNLISTED)
# the lead scores asked: 0 is never asked (it may mean "no filter"); it is derived
ASKED_LEAD_SCORES = (1, 2, 3, 4, 5)
DERIVED_LEAD_SCORE = 0
DEFAULT_SERVICES = (1, 2, 3)  # vocab.SCHEDULED_ORDER_TYPES: never 0, never 4

_NOUNS = vocab.DIMENSIONS
_PLAN_OPTIONS = frozenset(
    {
        "office_group",
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
class RunOptions:
    """How a plan is run, kept out of the plan and out of every memo key.

    Args:
        concurrency: requests in flight at most (None: the client's `concurrency`).
        progress: True for a tqdm bar, False for none, or a callable(done, total).
        refresh: ask the server again for every call.
        offline: never ask the server (NotCachedError for a miss).
        allow_partial: return the counts that are known when some calls fail.
    """

    concurrency: int | None = None
    progress: Any = True
    refresh: bool = False
    offline: bool = False
    allow_partial: bool = False


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
class MissingCall:
    """A call of a breakdown (or a lookup before it) that failed: what it was for and why."""

    call: PlannedCall
    error: BaseException

    def __str__(self) -> str:
        return f"{self.call.label} ({type(self.error).__name__}: {self.error})"


@dataclasses.dataclass(frozen=True)
class DimensionPlan:
    """How one dimension is split in one office.

    Args:
        values: the values asked, one call each.
        names: display names for values (agent names); ids are the fallback.
        remainder: the label of base-set contacts found under none of `values`
            ("(no agent)" when every user of the office is listed and asked, "(no agent or
            an unlisted user)" with public users only, "(other)" for a given subset;
            "(no list)" / "(no active service)" only when every list of the lookup / every
            published service was asked, else "(other or no list)" / "(other or no
            service)").
        inferred: when not None, the value the remainder has, derived without a call (lead
            score 0: the base set minus the answers for 1-5).
        fixed: when not None, the base query already fixes this value: every contact has it
            and no call is made.
        unscored: the label of remainder contacts of a kind that has no value at all
            (deceased estates have no lead score: "(no lead score)", never a silent 0).
    """

    name: str
    office: str
    values: tuple[Any, ...]
    names: Mapping[Any, str]
    remainder: str
    inferred: Any = None
    fixed: Any = None
    unscored: str | None = None

    @property
    def multi_valued(self) -> bool:
        """True when a contact may have several values at once (newsletter lists)."""
        return self.name in activity.MULTI_VALUED

    @property
    def all_values(self) -> tuple[Any, ...]:
        """Every value a contact can end up with in the counts, in display order."""
        if self.fixed is not None:  # every contact has it (and maybe others: multi-valued)
            return (self.fixed, *self.values) if self.multi_valued else (self.fixed,)
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
    """The calls for one office: base set, creation windows, end check, dimension values.

    `exclusions` are calls whose contacts are removed from the base set (a query for lead
    score 0 is the base set minus the answers for 1-5, never `LeadScore=0`).
    """

    office: str
    base: PlannedCall
    windows: tuple[PlannedCall, ...]
    end_check: PlannedCall | None
    dimensions: tuple[DimensionPlan, ...]
    dimension_calls: tuple[PlannedCall, ...]
    exclusions: tuple[PlannedCall, ...] = ()

    def all_calls(self) -> tuple[PlannedCall, ...]:
        """Every call of this office, in plan order (duplicates possible: see `calls`)."""
        extra = (self.end_check,) if self.end_check is not None else ()
        return (self.base, *self.windows, *extra, *self.exclusions, *self.dimension_calls)


@dataclasses.dataclass(frozen=True)
class BreakdownPlan:
    """A breakdown decided but not run: the calls it will make and how they will be joined.

    `calls` holds each distinct query once (a creation window equal to the base call, for a
    range of one period, is the same call). `boundaries` are the creation windows' edges
    (start, every period start inside the range, end); `periods` the period starts listed.
    The range is [start, end): half-open, unless `end_included` (an end given with a time
    of day is that instant, included). `partial_periods` are the listed periods the range
    does not cover whole. `exclude_kinds` are kinds left out of the base set (deceased
    estates, for a lead score 0 query: they have no lead score).
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
    planned_at: pd.Timestamp | None
    end_included: bool = False
    exclude_kinds: tuple[str, ...] = ()
    changed_stop: pd.Timestamp | None = None  # an open changed_to of the query: changed_at < it
    answer_cap: int | None = None  # the size at which this server cuts answers (the profile)
    office_group: str | None = None  # the group the offices came from: "Stockholm (GRP…)"

    @property
    def n_calls(self) -> int:
        """How many API calls running this plan makes with an empty cache."""
        return len(self.calls)

    @property
    def stop(self) -> pd.Timestamp:
        """The exclusive end of the range (one nanosecond after an included end)."""
        return self.end + pd.Timedelta(1, "ns") if self.end_included else self.end

    @property
    def periods(self) -> pd.DatetimeIndex:
        """Starts of the periods of the range (the first may begin before `start`)."""
        return activity.period_index(self.start, self.stop, self.period)

    @property
    def partial_periods(self) -> tuple[pd.Timestamp, ...]:
        """Listed periods the range covers only in part (a first or last period cut off)."""
        periods = self.periods
        out = []
        if self.start != periods[0]:
            out.append(periods[0])
        last_whole = activity.shift_periods(periods[-1], self.period, 1) == self.stop
        if not last_whole and periods[-1] not in out:
            out.append(periods[-1])
        return tuple(out)

    def describe(self, cached: Any = None) -> str:
        """One line for the form: "45 calls (12 already cached) for M30011: 1 base + ...".

        `cached` is how many calls the cache holds (`vitec_nb.plan.cached_calls(client,
        plan)` counts them); a client is also accepted and asked (it sends nothing).
        """
        head = f"{self.n_calls} call{'s' if self.n_calls != 1 else ''}"
        if cached is not None and not isinstance(cached, int):
            cached = sum(1 for call in self.calls if cached.is_cached(call.query))
        if cached is not None:
            head += f" ({cached} already cached)"
        offices = ", ".join(o.office for o in self.offices)
        if self.office_group is not None:
            offices = f"office group {self.office_group} ({offices})"
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
        n_excluded = kinds.count("exclude")
        if n_excluded:
            parts.append(f"{n_excluded} lead scores left out (lead score 0 is derived)")
        for dim in office.dimensions:
            if dim.name == "office":  # every answer carries its office: no call
                continue
            n = kinds.count(dim.name)
            one, many = _NOUNS[dim.name]
            if dim.fixed is not None and not n:
                parts.append(f"0 {many} (fixed by the query)")
            elif dim.fixed is not None:
                parts.append(f"{n} other {one if n == 1 else many} (one fixed by the query)")
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


def empty_label(plan: BreakdownPlan, name: str) -> str | None:
    """The one label, across offices, of a multi-valued dimension's contacts holding none
    of the values asked (an empty tuple in the facts); None when the query fixes a value.

    An office's own remainder when all offices agree; when they differ (every list asked in
    one office, some in another) the honest one for all: "(other or no list)".
    """
    found = {
        dim.remainder
        for op in plan.offices
        for dim in op.dimensions
        if dim.name == name and dim.fixed is None
    }
    if len(found) > 1:
        return activity.OTHER_OR_NONE_LABELS[name]
    return found.pop() if found else None


def empty_labels(plan: BreakdownPlan) -> dict[str, str]:
    """`empty_label` for each multi-valued dimension of the plan that has one (for
    `activity.activity_counts(empty_labels=...)`)."""
    labels = {name: empty_label(plan, name) for name in plan.by if name in activity.MULTI_VALUED}
    return {name: label for name, label in labels.items() if label is not None}


def _dimension_order(plan: BreakdownPlan, name: str) -> list[Any]:
    """Every value of a dimension across offices, in plan order, special labels last."""
    order: list[Any] = []
    specials: list[Any] = []
    empty = empty_label(plan, name) if name in activity.MULTI_VALUED else None
    for op in plan.offices:
        for dim in op.dimensions:
            if dim.name != name:
                continue
            listed = (*dim.all_values, *((dim.unscored,) if dim.unscored else ()))
            if empty is not None:  # one label across offices for those holding none
                listed = tuple(empty if v == dim.remainder else v for v in listed)
            for value in listed:
                target = specials if isinstance(value, str) and value.startswith("(") else order
                if value not in order and value not in specials:
                    target.append(value)
    return [*order, *specials]
