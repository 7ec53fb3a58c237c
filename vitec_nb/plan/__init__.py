"""Breakdowns: plan the fewest exact API calls for a cross-tab, run them concurrently, join.

The contact endpoint returns only ids and change times and takes one value per filter.
Counting contacts per agent per month naively costs one request per (agent, month) cell.
The planner instead asks once per *value of each dimension* (each agent, each creation
window) plus once for the base set, all restricted by the user's filter and range, and
joins the id sets locally: 1 + Σ|values| calls per office (docs/breakdowns.md).

Decide purely, act separately: `plan_breakdown()` returns a frozen `BreakdownPlan` (no
requests except the cached lookups needed to list agents or newsletter lists);
`run_plan()` / `run_breakdown()` execute it through the cached client and return a
`BreakdownResult`.
"""

from __future__ import annotations

import dataclasses
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vitec_nb import activity
from vitec_nb.activity import DATETIME_DTYPE, TIMEZONE
from vitec_nb.errors import IncompleteBreakdownError, InvalidQueryError, VitecError
from vitec_nb.query import LEAD_SCORE_RANGE, SCHEDULED_ORDER_TYPES, ContactQuery

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DIMENSIONS",
    "BreakdownPlan",
    "BreakdownResult",
    "BreakdownWarning",
    "DimensionPlan",
    "MissingCall",
    "OfficePlan",
    "PlannedCall",
    "plan_breakdown",
    "run_breakdown",
    "run_plan",
]

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


# --------------------------------------------------------------------------------- plan values


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


# ------------------------------------------------------------------------------------ planning


def _split_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    plan_opts: dict[str, Any] = {}
    run_opts: dict[str, Any] = {}
    for key, value in options.items():
        if key in _PLAN_OPTIONS:
            plan_opts[key] = value
        elif key in _RUN_OPTIONS:
            _check_run_option(key, value)
            run_opts[key] = value
        else:
            allowed = ", ".join(sorted(_PLAN_OPTIONS | _RUN_OPTIONS))
            raise InvalidQueryError(key, "is not a breakdown option", allowed)
    return plan_opts, run_opts


def _check_run_option(key: str, value: Any) -> None:
    """Flags must be real booleans: allow_partial="no" would otherwise count as True."""
    if value is None or isinstance(value, bool):
        return
    if key == "progress":
        if not callable(value):
            raise InvalidQueryError(
                key, f"{value!r} is not allowed", "True, False or a callable(done, total)"
            )
    elif key in ("refresh", "offline", "allow_partial"):
        raise InvalidQueryError(key, f"{value!r} is not True or False", "True or False")


def _normalize_by(by: str | Iterable[str] | None) -> tuple[str, ...]:
    if by is None:
        return ()
    names = (by,) if isinstance(by, str) else tuple(by)
    allowed = ", ".join(DIMENSIONS)
    seen: list[str] = []
    for name in names:
        if not isinstance(name, str) or name not in DIMENSIONS:
            raise InvalidQueryError("by", f"{name!r} is not a dimension", allowed)
        if name in seen:
            raise InvalidQueryError("by", f"{name!r} is given twice", allowed)
        seen.append(name)
    return tuple(seen)


def _concurrency(value: Any) -> int:
    if value is None:
        return DEFAULT_CONCURRENCY
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENCY:
        raise InvalidQueryError(
            "concurrency", f"{value!r} is not allowed", f"a whole number 1–{MAX_CONCURRENCY}"
        )
    return value


def _resolve_range(
    query: ContactQuery,
    measure: str,
    period: str,
    start: Any,
    end: Any,
    now: pd.Timestamp,
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The half-open range [start, end): given, or from the query's own bounds, or default.

    Default: end = now rounded up to the next period start, start = 12 periods before.
    When both the query (created_from/created_to for "created") and start/end bound the
    range, their intersection is used; the query's `*_to` becomes the exclusive end.
    """
    q_from, q_to = (
        (query.created_from, query.created_to)
        if measure == "created"
        else (query.changed_from, query.changed_to)
    )
    start_ts = activity.to_timestamp(start, "start") if start is not None else None
    end_ts = activity.to_timestamp(end, "end") if end is not None else None
    if end_ts is None:
        end_ts = q_to if q_to is not None else activity.next_period_start(now, period)
    elif q_to is not None:
        end_ts = min(end_ts, q_to)
    if start_ts is None:
        if q_from is not None:
            start_ts = q_from
        else:
            ceiling = activity.next_period_start(end_ts, period)
            start_ts = activity.shift_periods(ceiling, period, -DEFAULT_PERIODS_BACK)
    elif q_from is not None:
        start_ts = max(start_ts, q_from)
    if end_ts <= start_ts:
        raise InvalidQueryError(
            "end",
            f"the range {_fmt(start_ts)} → {_fmt(end_ts)} is empty",
            "an end later than the start (the range is half-open: [start, end))",
        )
    return start_ts.as_unit("ns"), end_ts.as_unit("ns")


def _fmt(ts: pd.Timestamp) -> str:
    local = ts.tz_convert(TIMEZONE)
    if local == local.normalize():
        return local.strftime("%Y-%m-%d")
    return local.strftime("%Y-%m-%d %H:%M:%S")


def _window_label(office: str, start: pd.Timestamp, period: str) -> str:
    local = start.tz_convert(TIMEZONE)
    code = activity.normalize_period(period)
    text = {
        "D": local.strftime("%Y-%m-%d"),
        "W": "{}-W{:02d}".format(*local.isocalendar()[:2]),
        "M": local.strftime("%Y-%m"),
        "Q": f"{local.year}-Q{(local.month - 1) // 3 + 1}",
        "Y": str(local.year),
    }[code]
    if local != activity.floor_period(local, code):  # a partial first window
        text = f"{_fmt(local)}…"
    return f"{office} created {text}"


def _values_for(
    option: Any, office: str, offices: Sequence[str], field: str
) -> tuple[Any, ...] | None:
    """Values given for a dimension: a sequence for every office, or a mapping per office."""
    if option is None:
        return None
    if isinstance(option, Mapping):
        unknown = set(option) - set(offices)
        if unknown:
            raise InvalidQueryError(
                field,
                f"names offices not in the query: {', '.join(sorted(unknown))}",
                ", ".join(offices),
            )
        option = option.get(office, ())
    if isinstance(option, str | int):
        option = (option,)
    values = tuple(option)
    if len(set(values)) != len(values):
        raise InvalidQueryError(field, "lists a value twice", "distinct values")
    return values


def _agent_dimension(
    client: Any,
    office: str,
    offices: Sequence[str],
    query: ContactQuery,
    agent_ids: Any,
    include_archived: bool,
) -> DimensionPlan:
    given = _values_for(agent_ids, office, offices, "agent_ids")
    names: dict[Any, str] = {}
    # the users lookup (a cached call) gives names for labels, and every agent by default
    lookup = client.agents(office) if client is not None else None
    if lookup is not None:
        names = dict(zip(map(str, lookup["user_id"]), map(str, lookup["name"]), strict=True))
    if query.agent_id is not None:
        if given is not None and query.agent_id not in given:
            raise InvalidQueryError(
                "agent_ids",
                f"the query already fixes agent {query.agent_id}, which is not among them",
                "leave agent_ids out, or include the query's agent",
            )
        return DimensionPlan("agent", office, (), names, NO_AGENT, fixed=query.agent_id)
    if given is None:
        if lookup is None:
            raise InvalidQueryError(
                "agent_ids", "are needed to plan without a client", "a list of agent ids"
            )
        frame = lookup if include_archived else lookup[~lookup["archived"].astype(bool)]
        # every agent asked: the rest has no agent; archived ones left out: "(other)"
        remainder = NO_AGENT if len(frame) == len(lookup) else OTHER
        return DimensionPlan("agent", office, tuple(map(str, frame["user_id"])), names, remainder)
    for value in given:
        if not isinstance(value, str) or not value.strip():
            raise InvalidQueryError("agent_ids", f"{value!r} is not an agent id", "text ids")
    # A subset of agents: the rest of the base set is other agents' or nobody's.
    complete = lookup is not None and set(given) >= set(names) and include_archived
    return DimensionPlan("agent", office, given, names, NO_AGENT if complete else OTHER)


def _list_dimension(
    client: Any, office: str, offices: Sequence[str], query: ContactQuery, list_ids: Any
) -> DimensionPlan:
    given = _values_for(list_ids, office, offices, "newsletter_list_ids")
    names: dict[Any, str] = {}
    lookup = client.newsletter_lists(office) if client is not None else None
    if lookup is not None:
        names = dict(zip(map(str, lookup["id"]), map(str, lookup["name"]), strict=True))
    if query.newsletter_list_id is not None:
        return DimensionPlan(
            "newsletter_list", office, (), names, NO_LIST, fixed=query.newsletter_list_id
        )
    if given is None:
        if lookup is None:
            raise InvalidQueryError(
                "newsletter_list_ids", "are needed to plan without a client", "a list of list ids"
            )
        given = tuple(map(str, lookup["id"]))
    return DimensionPlan("newsletter_list", office, given, names, NO_LIST)


def _plan_dimension(
    name: str,
    client: Any,
    office: str,
    offices: Sequence[str],
    query: ContactQuery,
    opts: Mapping[str, Any],
) -> DimensionPlan:
    if name == "agent":
        return _agent_dimension(
            client,
            office,
            offices,
            query,
            opts.get("agent_ids"),
            bool(opts.get("include_archived", True)),
        )
    if name == "newsletter_list":
        return _list_dimension(client, office, offices, query, opts.get("newsletter_list_ids"))
    if name == "lead_score":
        if query.lead_score is not None:
            return DimensionPlan(name, office, (), {}, NO_SCORE, fixed=query.lead_score)
        values = tuple(LEAD_SCORE_RANGE)
        if opts.get("infer_last"):
            # Lead score is total (0–5, assumption 1): whoever is in the base set and in
            # none of the answers for 1–5 has 0, usually the largest answer, saved.
            return DimensionPlan(name, office, values[1:], {}, NO_SCORE, inferred=values[0])
        return DimensionPlan(name, office, values, {}, NO_SCORE)
    if name == "scheduled_order_type":
        if query.scheduled_order_type is not None:
            return DimensionPlan(name, office, (), {}, OTHER, fixed=query.scheduled_order_type)
        given = _values_for(
            opts.get("scheduled_order_types"), office, offices, "scheduled_order_types"
        )
        if given is None:
            given = tuple(SCHEDULED_ORDER_TYPES.values())
        labels = {v: k.replace("_", " ") for k, v in SCHEDULED_ORDER_TYPES.items()}
        values = tuple(query.replace(scheduled_order_type=v).scheduled_order_type for v in given)
        return DimensionPlan(name, office, values, labels, OTHER)
    # custom_field: one field name, the values given
    field_name = opts.get("custom_field_name") or query.custom_field_name
    if field_name is None:
        raise InvalidQueryError(
            "custom_field_name", "is needed to split by custom field", "a custom field name"
        )
    if query.custom_field_name is not None and query.custom_field_name != field_name:
        raise InvalidQueryError(
            "custom_field_name",
            f"the query already filters on custom field {query.custom_field_name!r}; the API "
            f"takes one field per call, so it cannot also split by {field_name!r}",
            f"{query.custom_field_name!r} or no custom field in the query",
        )
    if query.custom_field_value is not None:
        return DimensionPlan(name, office, (), {}, OTHER, fixed=query.custom_field_value)
    given = _values_for(opts.get("custom_field_values"), office, offices, "custom_field_values")
    if not given:
        raise InvalidQueryError(
            "custom_field_values",
            "are needed to split by custom field (the API cannot list a field's values)",
            "a list of values",
        )
    return DimensionPlan(name, office, tuple(map(str, given)), {}, OTHER)


def _value_label(dim: DimensionPlan, value: Any) -> str:
    """A value in words for call labels: the id, and its name when the lookup has one."""
    name = dim.names.get(value)
    return f"{value} ({name})" if name else str(value)


def plan_breakdown(
    client: Any,
    query: ContactQuery,
    by: str | Iterable[str] | None = ("agent",),
    **options: Any,
) -> BreakdownPlan:
    """Plan a breakdown: the calls it needs, how many, and how they will be joined.

    Makes no request except the lookups that list values (agents of an office, its
    newsletter lists), which are cached calls themselves. `client` may be None when every
    value is given (agent_ids=..., newsletter_list_ids=...).

    Args:
        query: the base filter (one or several offices; one office per call).
        by: dimensions to split by: "agent", "lead_score", "newsletter_list",
            "scheduled_order_type", "custom_field" (one, a sequence, or none).
        measure: "created" (default; creation windows on CreatedAtFrom/To) or "changed"
            (the range on ChangedAtFrom/To, periods from the last change; no window calls).
        period: "D", "W", "M" (default), "Q", "Y" or day/week/month/quarter/year.
        start, end: the half-open range [start, end); anything ContactQuery accepts.
            Default: end = now rounded up to the next period start, start = 12 periods
            earlier; the query's own created/changed bounds narrow it.
        agent_ids: agents to split by (default every agent of the office, archived too);
            a sequence, or a mapping office -> sequence.
        include_archived: with the default agents, ask archived agents too (default True;
            with False their contacts count as "(other)").
        newsletter_list_ids: lists to split by (default every list of the office).
        scheduled_order_types: values to split by (default the labelled ones).
        custom_field_name, custom_field_values: the field and the values to split by.
        infer_last: save lead score 0's call (it is implied; lead score is total).
        now: the time of planning (default: now); decides whether the end check is needed.
        max_calls: refuse plans larger than this (default 2000).
        concurrency, progress, refresh, offline, allow_partial: kept for running.
    """
    if not isinstance(query, ContactQuery):
        raise InvalidQueryError(
            "query", f"{type(query).__name__} is not a ContactQuery", "a vitec_nb.ContactQuery"
        )
    opts, run_opts = _split_options(options)
    dims = _normalize_by(by)
    measure = opts.get("measure", "created")
    if measure not in MEASURES:
        raise InvalidQueryError("measure", f"{measure!r} is not a measure", "created, changed")
    period = activity.normalize_period(opts.get("period", "M"))
    now = (
        activity.to_timestamp(opts["now"], "now")
        if opts.get("now") is not None
        else (pd.Timestamp.now(tz=TIMEZONE))
    )
    _concurrency(run_opts.get("concurrency"))
    start, end = _resolve_range(query, measure, period, opts.get("start"), opts.get("end"), now)
    inner = [p for p in activity.period_index(start, end, period) if start < p < end]
    boundaries = (start, *inner, end)

    offices: list[OfficePlan] = []
    unique: dict[ContactQuery, PlannedCall] = {}
    for office in query.customer_ids:
        base_q = query.for_office(office)
        if measure == "created":
            ranged = base_q.replace(created_from=start, created_to=end)
        else:
            ranged = base_q.replace(changed_from=start, changed_to=end)
        base = PlannedCall(office, "base", None, ranged, f"{office} base set")
        windows: list[PlannedCall] = []
        end_check = None
        if measure == "created":
            for k in range(len(boundaries) - 1):
                wq = ranged.replace(created_from=boundaries[k], created_to=boundaries[k + 1])
                windows.append(
                    PlannedCall(
                        office, "created", k, wq, _window_label(office, boundaries[k], period)
                    )
                )
            # Windows are closed, so a contact created exactly at `end` is in the last one,
            # though the range excludes it. Ask for [end, end] to leave those out, unless
            # `end` is still in the future when planning: nothing is created in the future.
            if end <= now:
                eq = ranged.replace(created_from=end, created_to=end)
                end_check = PlannedCall(office, "end", end, eq, f"{office} created at {_fmt(end)}")
        dim_plans: list[DimensionPlan] = []
        dim_calls: list[PlannedCall] = []
        for name in dims:
            dim = _plan_dimension(name, client, office, query.customer_ids, query, opts)
            dim_plans.append(dim)
            field = DIMENSIONS[name]
            for value in dim.values:
                changes: dict[str, Any] = {field: value}
                if name == "custom_field":
                    changes["custom_field_name"] = opts.get("custom_field_name") or (
                        query.custom_field_name
                    )
                dq = ranged.replace(**changes)
                label = f"{office} {_NOUNS[name][0]} {_value_label(dim, value)}"
                dim_calls.append(PlannedCall(office, name, value, dq, label))
        office_plan = OfficePlan(
            office, base, tuple(windows), end_check, tuple(dim_plans), tuple(dim_calls)
        )
        offices.append(office_plan)
        for call in office_plan.all_calls():
            unique.setdefault(call.query, call)

    max_calls = opts.get("max_calls", DEFAULT_MAX_CALLS)
    if len(unique) > max_calls:
        raise InvalidQueryError(
            "period",
            f"this breakdown needs {len(unique)} calls, more than max_calls={max_calls}",
            "a coarser period, a shorter range, fewer dimensions, or a larger max_calls",
        )
    return BreakdownPlan(
        query=query,
        by=dims,
        measure=measure,
        period=period,
        start=start,
        end=end,
        boundaries=tuple(boundaries),
        offices=tuple(offices),
        calls=tuple(unique.values()),
        planned_at=now,
        options=dict(run_opts),
    )


# ----------------------------------------------------------------------------------- execution


@dataclasses.dataclass(frozen=True)
class MissingCall:
    """A call of a breakdown that failed: what it was for (in words) and why."""

    call: PlannedCall
    error: BaseException

    def __str__(self) -> str:
        return f"{self.call.label} ({type(self.error).__name__}: {self.error})"


def _progress_sink(
    progress: Any, total: int, desc: str
) -> tuple[Callable[[int], None], Callable[[], None]]:
    """(update(done), close()) for a progress option: True/False or a callable(done, total)."""
    if callable(progress):
        return (lambda done: progress(done, total)), (lambda: None)
    if not progress or total == 0:
        return (lambda done: None), (lambda: None)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="call", leave=False)

    def update(done: int) -> None:
        bar.update(done - bar.n)

    return update, bar.close


class _JoinMemo:
    """The last joins, so a re-run whose answers all come unchanged from the cache skips the
    join (about two thirds of a warm 100 000-contact breakdown; docs/benchmarks.md).

    An entry matches only the same client, an equal plan (apart from when it was made) and
    the very same answers: each call's original fetch time, as the cache reports it. The
    join is deterministic, so a match gives exactly what joining again would. Bounded by
    facts rows; least recently used out. Thread-safe.
    """

    def __init__(self, max_rows: int = 1_000_000) -> None:
        self.max_rows = max_rows
        self._entries: list[tuple[Any, BreakdownResult]] = []
        self._lock = threading.Lock()

    @staticmethod
    def key(client: Any, plan: BreakdownPlan, versions: Sequence[Any]) -> Any:
        return (id(client), dataclasses.replace(plan, planned_at=None), tuple(versions))

    def get(self, key: Any) -> BreakdownResult | None:
        with self._lock:
            for i, (k, result) in enumerate(self._entries):
                if k == key:
                    self._entries.append(self._entries.pop(i))
                    return result
        return None

    def put(self, key: Any, result: BreakdownResult) -> None:
        with self._lock:
            self._entries.append((key, result))
            while sum(len(r.facts) for _, r in self._entries) > self.max_rows:
                self._entries.pop(0)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


JOIN_MEMO = _JoinMemo()


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _limited(slots: threading.Semaphore, fetch: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """`fetch(*args, **kw)` with its HTTP exchanges limited by the run's `slots`."""
    from vitec_nb.client import HTTP_SLOTS

    token = HTTP_SLOTS.set(slots)
    try:
        return fetch(*args, **kw)
    finally:
        HTTP_SLOTS.reset(token)


def _pool(workers: int) -> ThreadPoolExecutor:
    """A shared pool of `workers` threads, started once per process (not per breakdown)."""
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vitec-breakdown")
            _POOLS[workers] = pool
        return pool


def run_plan(
    client: Any,
    plan: BreakdownPlan,
    *,
    concurrency: int | None = None,
    progress: bool | Callable[[int, int], Any] | None = None,
    refresh: bool | None = None,
    offline: bool | None = None,
    allow_partial: bool | None = None,
) -> BreakdownResult:
    """Run a plan's calls through the cached client, concurrently, and join the answers.

    Each distinct call is made once, with at most `concurrency` requests in flight (default
    6, at most 8; the stand-in's `max_in_flight` checks it) on twice as many threads.
    `progress` is True for a tqdm bar (a widget in a kernel), False for none, or a callable
    ``progress(done, total)`` called from the caller's thread (the form uses this).
    `refresh`/`offline` are passed to ``client.contacts``. A failed call raises
    `IncompleteBreakdownError` naming each missing call; with ``allow_partial=True`` the
    result comes back with ``.incomplete`` listing them and NaN counts where unknown.
    Everything fetched stays in the cache: a re-run fetches only what was missing.
    """
    opts = dict(plan.options)
    workers = _concurrency(concurrency if concurrency is not None else opts.get("concurrency"))
    progress = progress if progress is not None else opts.get("progress", True)
    refresh = bool(refresh if refresh is not None else opts.get("refresh", False))
    offline = bool(offline if offline is not None else opts.get("offline", False))
    allow_partial = bool(
        allow_partial if allow_partial is not None else opts.get("allow_partial", False)
    )
    total = plan.n_calls
    update, close = _progress_sink(progress, total, "Breakdown")
    answers: dict[ContactQuery, pd.DataFrame] = {}
    failures: dict[ContactQuery, MissingCall] = {}
    fetched = cached = failed_requests = 0
    stale: list[PlannedCall] = []  # expired answers the client used because the server failed
    done = 0
    demo = bool(getattr(client, "is_demo", False))
    fetched_at: pd.Timestamp | None = None  # the oldest answer's fetch time
    versions: dict[ContactQuery, Any] = {}  # each answer's fetch time: the join memo's key
    ids: dict[ContactQuery, pa.Array] = {}  # answers' id columns, made as they arrive
    update(0)
    # `workers` requests in flight at most; twice as many threads, so that while one thread
    # parses and stores an answer (mostly under the GIL) its slot already serves the next
    # request. A cached answer needs no slot.
    pool = _pool(2 * workers)
    slots = threading.BoundedSemaphore(workers)
    pending: dict[Future[pd.DataFrame], PlannedCall] = {}
    try:
        pending = {
            pool.submit(
                _limited, slots, client.contacts, call.query, refresh=refresh, offline=offline
            ): call
            for call in plan.calls
        }
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                call = pending.pop(future)
                try:
                    frame = future.result()
                except VitecError as exc:
                    failures[call.query] = MissingCall(call, exc)
                    if not _is_offline_miss(exc):
                        failed_requests += 1
                else:
                    if frame.attrs.get("from_cache"):
                        cached += 1
                    else:
                        fetched += 1
                        # the join's first step, done now while other calls are in flight
                        # (a cached answer's ids wait: a memoised join may not need them)
                        ids[call.query] = _arrow_ids(frame)
                    demo = demo or bool(frame.attrs.get("demo"))
                    if frame.attrs.get("stale"):
                        stale.append(call)
                    when = frame.attrs.get("fetched_at")
                    versions[call.query] = when
                    if when is not None and (fetched_at is None or when < fetched_at):
                        fetched_at = when
                    # pandas copies attrs (deeply) on every operation: the join needs none
                    frame.attrs = {}
                    answers[call.query] = frame
                done += 1
                update(done)
    finally:
        # interrupted (an unexpected error, Ctrl-C): drop what has not started and let what
        # is in flight finish, so no call of this run is still going after it returns
        for future in pending:
            future.cancel()
        wait(pending)
        close()

    memo_key = None
    if not failures and not stale and all(v is not None for v in versions.values()):
        memo_key = JOIN_MEMO.key(client, plan, [versions[c.query] for c in plan.calls])
    joined = JOIN_MEMO.get(memo_key) if memo_key is not None else None
    if joined is None:
        joined = _join(plan, answers, failures, demo, ids)
        if memo_key is not None:
            JOIN_MEMO.put(memo_key, joined)
    else:
        for note in joined.warnings:  # what joining again would have said
            warnings.warn(note, BreakdownWarning, stacklevel=2)
    # shallow copies (copy-on-write): the caller may change its frames, never the memo's
    result = dataclasses.replace(
        joined,
        plan=plan,
        facts=joined.facts.copy(deep=False),
        counts=joined.counts.copy(deep=False),
        calls=fetched + failed_requests,
        cached_calls=cached,
        fetched_at=fetched_at,
    )
    result.facts.attrs.update(fetched_at=fetched_at, demo=result.demo)
    if stale:
        note = _stale_note(stale, total, fetched_at)
        warnings.warn(note, BreakdownWarning, stacklevel=2)
        result = dataclasses.replace(result, warnings=[*result.warnings, note])
    if failures:
        missing = [failures[c.query] for c in plan.calls if c.query in failures]
        if not allow_partial:
            raise IncompleteBreakdownError(
                _missing_message(missing, total), missing=missing, partial=result
            )
    return result


def _stale_note(stale: Sequence[PlannedCall], total: int, fetched_at: pd.Timestamp | None) -> str:
    """Say that some answers are out of date: the numbers are not silently current."""
    when = f" (the oldest fetched {fetched_at:%Y-%m-%d %H:%M})" if fetched_at is not None else ""
    return (
        f"{len(stale)} of {total} answers are expired cached answers{when}, used because "
        "Vitec Connect could not answer; the counts may be out of date. Run again later for "
        "current numbers."
    )


def _is_offline_miss(exc: BaseException) -> bool:
    from vitec_nb.errors import NotCachedError

    return isinstance(exc, NotCachedError)


def _missing_message(missing: Sequence[MissingCall], total: int) -> str:
    shown = [f"  - {m}" for m in missing[:20]]
    if len(missing) > 20:
        shown.append(f"  - … and {len(missing) - 20} more (see error.missing)")
    return (
        f"{len(missing)} of {total} calls of the breakdown failed, so some counts are unknown:\n"
        + "\n".join(shown)
        + "\nEverything else is in the cache: run the breakdown again to fetch only these "
        "(or pass allow_partial=True to get the counts that are known)."
    )


def run_breakdown(
    client: Any,
    query: ContactQuery | BreakdownPlan,
    by: str | Iterable[str] | None = ("agent",),
    **options: Any,
) -> BreakdownResult:
    """Plan and run a breakdown (see `plan_breakdown` and `run_plan` for the options)."""
    if isinstance(query, BreakdownPlan):
        plan_opts, run_opts = _split_options(options)
        if plan_opts or by not in (("agent",), query.by):
            raise InvalidQueryError(
                next(iter(plan_opts), "by"),
                "cannot change a plan that is already made",
                "only run options with a plan: " + ", ".join(sorted(_RUN_OPTIONS)),
            )
        return run_plan(client, query, **run_opts)
    plan = plan_breakdown(client, query, by, **options)
    return run_plan(client, plan)


# ---------------------------------------------------------------------------------------- join


@dataclasses.dataclass(frozen=True)
class _Unknown:
    """Cells a failed call leaves unknown: an office, and which periods or dimension values."""

    office: str
    call: str
    periods: frozenset[pd.Timestamp] | None = None  # created periods (measure "created")
    dimension: str | None = None
    values: frozenset[Any] | None = None
    # changed activity from this instant on (a failed end check: a contact created exactly
    # at the end may be among the facts, and it was last changed at or after the end)
    changed_from: pd.Timestamp | None = None

    @property
    def everything(self) -> bool:
        return self.periods is None and self.dimension is None and self.changed_from is None


_FACT_BASE = ["kind", "id", "customer_id", "changed_at"]


def _arrow_ids(frame: pd.DataFrame) -> pa.Array:
    """The id column as one pyarrow array (zero-copy for pyarrow-backed strings)."""
    ids = pa.array(frame["id"], from_pandas=True)
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    return ids


class _Codes:
    """Integer codes for one office's contact ids across all its answers (same id, same code).

    Joining id sets by hashing strings once (pyarrow dictionary encoding) and then working
    on integer arrays keeps a 100 000-contact breakdown's join in tens of milliseconds.
    """

    def __init__(
        self,
        frames: Mapping[Any, pd.DataFrame],
        base_key: Any,
        ids: Mapping[Any, pa.Array] | None = None,
    ) -> None:
        keys = list(frames)
        ids = ids or {}
        arrays = [ids[k] if k in ids else _arrow_ids(frames[k]) for k in keys]
        lengths = [len(a) for a in arrays]
        kinds = {a.type for a in arrays}
        if len(kinds) > 1:  # concat_arrays needs one type; ids are usually all the same
            arrays = [a.cast(pa.large_string()) for a in arrays]
        joined = pa.concat_arrays(arrays) if arrays else pa.array([], pa.large_string())
        codes = pc.dictionary_encode(joined).indices.to_numpy(zero_copy_only=False)
        self.size = int(codes.max()) + 1 if len(codes) else 0
        bounds = np.cumsum([0, *lengths])
        self._codes = {k: codes[bounds[i] : bounds[i + 1]] for i, k in enumerate(keys)}
        base = self._codes[base_key]
        self.n = len(base)
        # position of each code in the base set, -1 when it is not in the base set
        self._pos = np.full(self.size, -1, dtype=np.int64)
        self._pos[base] = np.arange(self.n)

    def positions(self, key: Any) -> tuple[np.ndarray, int]:
        """Base-set positions of an answer's contacts, and how many are not in the base set."""
        pos = self._pos[self._codes[key]]
        inside = pos >= 0
        return pos[inside], int((~inside).sum())


def _join(
    plan: BreakdownPlan,
    answers: Mapping[ContactQuery, pd.DataFrame],
    failures: Mapping[ContactQuery, MissingCall],
    demo: bool,
    ids: Mapping[ContactQuery, pa.Array] | None = None,
) -> BreakdownResult:
    facts_parts: list[pd.DataFrame] = []
    conflicts: list[dict[str, Any]] = []
    notes: list[str] = []
    unknowns: list[_Unknown] = []
    window_periods = [activity.floor_period(b, plan.period) for b in plan.boundaries[:-1]]
    categories = {
        name: _dimension_order(plan, name) for name in plan.by if name not in activity.MULTI_VALUED
    }

    for op in plan.offices:
        if op.base.query in failures:
            unknowns.append(_Unknown(op.office, op.base.label))
            continue
        base = answers[op.base.query]
        mine = {c.query: answers[c.query] for c in op.all_calls() if c.query in answers}
        codes = _Codes(mine, op.base.query, ids)
        facts = base[_FACT_BASE].reset_index(drop=True)
        keep = np.ones(codes.n, dtype=bool)

        # -- time axis ------------------------------------------------------------------
        if plan.measure == "changed":
            changed = facts["changed_at"]
            keep &= ((changed >= plan.start) & (changed < plan.end)).to_numpy()
            facts["period"] = activity.floor_series(changed, plan.period)
        else:
            if op.end_check is not None:
                if op.end_check.query in failures:
                    unknowns.append(
                        _Unknown(
                            op.office,
                            op.end_check.label,
                            periods=frozenset(window_periods[-1:]),
                            changed_from=plan.end,
                        )
                    )
                else:
                    keep[codes.positions(op.end_check.query)[0]] = False
            window_of = np.full(codes.n, -1, dtype=np.int64)
            failed_windows: list[int] = []
            for k, call in enumerate(op.windows):
                if call.query in failures:
                    failed_windows.append(k)
                    continue
                pos, extra = codes.positions(call.query)
                # windows go in order: a boundary contact, found in two adjacent windows,
                # ends up in the later one
                window_of[pos] = k
                if extra:
                    notes.append(
                        f"{extra} contacts in {call.label} are not in the base set of "
                        f"{op.office} (data changed during the run?); they are left out."
                    )
            for k in failed_windows:
                cells = {window_periods[k]} | ({window_periods[k - 1]} if k > 0 else set())
                unknowns.append(_Unknown(op.office, op.windows[k].label, periods=frozenset(cells)))
            in_any = window_of >= 0
            starts = pd.DatetimeIndex([*window_periods, pd.NaT]).astype(DATETIME_DTYPE)
            facts["period"] = starts[np.where(in_any, window_of, len(window_periods))]
            facts["created_period"] = facts["period"]
            lost = int((~in_any & keep).sum())
            if lost and not failed_windows:
                notes.append(
                    f"{lost} contacts of the base set of {op.office} were in no creation "
                    f"window (data changed during the run?): their period is unknown."
                )
        # -- dimensions -----------------------------------------------------------------
        for dim in op.dimensions:
            column, dim_conflicts, dim_notes, dim_unknowns = _join_dimension(
                dim, op, codes, failures, categories.get(dim.name)
            )
            facts[dim.name] = column
            for c in dim_conflicts:
                position = c.pop("position")
                conflicts.append({**c, "id": str(facts["id"].iloc[position])})
            notes.extend(dim_notes)
            unknowns.extend(dim_unknowns)
        facts_parts.append(facts[keep].reset_index(drop=True))

    facts = _combine_facts(plan, facts_parts, categories)
    conflicts_frame = pd.DataFrame(conflicts, columns=["customer_id", "id", "dimension", "values"])
    if len(conflicts_frame):
        for (office, dim), group in conflicts_frame.groupby(["customer_id", "dimension"]):
            notes.append(
                f"{len(group)} contacts of {office} were found under two or more "
                f"{_NOUNS[dim][1]} (data changed during the run?); they are counted once, "
                f"as {CONFLICT!r}, and listed in result.conflicts."
            )
    for note in notes:
        warnings.warn(note, BreakdownWarning, stacklevel=3)
    incomplete = pd.DataFrame(
        [
            {
                "call": c.label,
                "customer_id": c.office,
                "dimension": c.dimension,
                "value": c.value,
                "error": f"{type(failures[c.query].error).__name__}: {failures[c.query].error}",
            }
            for c in plan.calls
            if c.query in failures
        ],
        columns=["call", "customer_id", "dimension", "value", "error"],
    )
    result = BreakdownResult(
        plan=plan,
        facts=facts,
        counts=pd.DataFrame(),
        calls=0,
        cached_calls=0,
        warnings=notes,
        conflicts=conflicts_frame,
        incomplete=incomplete,
        demo=demo,
        _unknowns=tuple(unknowns),
    )
    return dataclasses.replace(result, counts=result.activity())


def _join_dimension(
    dim: DimensionPlan,
    op: OfficePlan,
    codes: _Codes,
    failures: Mapping[ContactQuery, MissingCall],
    categories: list[Any] | None,
) -> tuple[Any, list[dict[str, Any]], list[str], list[_Unknown]]:
    """One office's values of one dimension for each base-set contact, in base-set order.

    Single-valued dimensions give a Categorical over `categories`; newsletter lists give
    an object array of tuples. Conflicts carry the base-set position of the contact.
    """
    n = codes.n
    cats = [*(categories or []), CONFLICT] if not dim.multi_valued else []
    cats = list(dict.fromkeys(cats))
    if dim.fixed is not None:
        if dim.multi_valued:
            return _objects([(dim.fixed,)])[np.zeros(n, dtype=np.int64)], [], [], []
        return (
            pd.Categorical.from_codes(np.full(n, cats.index(dim.fixed)), categories=cats),
            [],
            [],
            [],
        )
    calls = [c for c in op.dimension_calls if c.dimension == dim.name]
    failed = [c for c in calls if c.query in failures]
    notes: list[str] = []
    unknowns: list[_Unknown] = []
    hits = np.zeros(n, dtype=np.int64)
    which = np.full(n, -1, dtype=np.int64)  # index into `calls` of the (last) answer found
    members = np.zeros((n, len(calls)), dtype=bool) if dim.multi_valued else None
    outside = 0
    for i, call in enumerate(calls):
        if call.query in failures:
            continue
        pos, extra = codes.positions(call.query)
        outside += extra
        np.add.at(hits, pos, 1)
        which[pos] = i
        if members is not None:
            members[pos, i] = True
    if outside:
        notes.append(
            f"{outside} answers for {_NOUNS[dim.name][1]} in {op.office} name contacts that "
            f"are not in its base set (data changed during the run?); they are left out."
        )
    if members is not None:
        for call in failed:
            unknowns.append(
                _Unknown(
                    op.office,
                    call.label,
                    dimension=dim.name,
                    values=frozenset({call.value, dim.remainder}),
                )
            )
        return _tuples(members, [c.value for c in calls]), [], notes, unknowns

    remainder: Any = dim.inferred if dim.inferred is not None else dim.remainder
    if remainder not in cats:
        cats.append(remainder)
    value_code = np.array([cats.index(c.value) for c in calls] or [0], dtype=np.int64)
    out = np.where(which >= 0, value_code[np.maximum(which, 0)], -1)
    out[hits > 1] = cats.index(CONFLICT)
    # nobody's answer: the remainder, or unknown (-1 = NaN) if a value's call failed
    out[hits == 0] = -1 if failed else cats.index(remainder)
    conflicts: list[dict[str, Any]] = []
    twice = np.flatnonzero(hits > 1)
    if len(twice):
        found = {
            c.value: set(codes.positions(c.query)[0].tolist())
            for c in calls
            if c.query not in failures
        }
        for p in twice.tolist():
            values = tuple(v for v, where in found.items() if p in where)
            conflicts.append(
                {"customer_id": op.office, "position": p, "dimension": dim.name, "values": values}
            )
    for call in failed:
        unknowns.append(
            _Unknown(
                op.office, call.label, dimension=dim.name, values=frozenset({call.value, remainder})
            )
        )
    if dim.name == "lead_score" and dim.inferred is None and not failed:
        none = int((hits == 0).sum())
        if none:
            notes.append(
                f"{none} contacts of {op.office} had none of the lead scores 0–5 "
                f"(counted as {NO_SCORE!r}); lead score was assumed to be always set."
            )
    return pd.Categorical.from_codes(out, categories=cats), conflicts, notes, unknowns


def _tuples(members: np.ndarray, values: Sequence[Any]) -> np.ndarray:
    """Per row of a membership matrix, the tuple of values it holds (in `values` order)."""
    n, m = members.shape
    if m == 0:
        return _objects([()])[np.zeros(n, dtype=np.int64)]
    # rows with the same membership pattern share one tuple: find the distinct patterns
    patterns, inverse = np.unique(members, axis=0, return_inverse=True)
    shared = [tuple(v for v, on in zip(values, row, strict=True) if on) for row in patterns]
    return _objects(shared)[np.asarray(inverse).ravel()]


def _objects(items: Sequence[Any]) -> np.ndarray:
    """An object array holding `items` as they are (tuples stay elements, not rows)."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def _combine_facts(
    plan: BreakdownPlan, parts: list[pd.DataFrame], categories: Mapping[str, list[Any]]
) -> pd.DataFrame:
    columns = [*_FACT_BASE, "period"]
    if plan.measure == "created":
        columns.append("created_period")
    for name in plan.by:
        columns.append(name)
        if name == "agent":
            columns.append("agent_name")
    facts = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    facts = facts.reindex(columns=columns)
    facts["kind"] = _categorical(facts["kind"], ["person", "company", "deceased_estate"])
    if facts["id"].dtype != "string":
        facts["id"] = facts["id"].astype("string")
    facts["customer_id"] = _categorical(facts["customer_id"], list(plan.query.customer_ids))
    for column in ("changed_at", "period", "created_period"):
        if column in facts:
            facts[column] = facts[column].astype(DATETIME_DTYPE)
    for name in plan.by:
        if name in activity.MULTI_VALUED:
            if facts[name].dtype != object:
                facts[name] = facts[name].astype(object)
            continue
        cats = [*categories[name], CONFLICT, NO_SCORE, OTHER, NO_AGENT]
        column = facts[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            cat = column.array
        else:
            cat = pd.Categorical(column.astype(object), categories=list(dict.fromkeys(cats)))
        # special labels not planned (a conflict, a missing lead score) stay only if used
        used = set(cat.categories[np.unique(cat.codes[cat.codes >= 0])])
        planned = set(categories[name])
        kept = [c for c in cat.categories if c in planned or c in used]
        facts[name] = _categorical(pd.Series(cat), kept)
    if "agent_name" in facts:
        names: dict[Any, str] = {}
        for op in plan.offices:
            for dim in op.dimensions:
                if dim.name == "agent":
                    names.update(dim.names)
        # a categorical of names, built from the agent codes (names may repeat: two agents
        # can share a name, so the agent categories cannot simply be renamed)
        agent = facts["agent"].cat
        labels = [names.get(v, v) for v in agent.categories]
        unique = list(dict.fromkeys(labels))
        remap = np.append(pd.Index(unique, dtype=object).get_indexer(labels), -1)
        facts["agent_name"] = pd.Categorical.from_codes(
            remap[agent.codes.to_numpy()], categories=unique
        )
    return facts


def _categorical(column: pd.Series, categories: list[Any]) -> pd.Categorical:
    """`column` as a Categorical over exactly `categories` (others become NaN), by codes."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        old = column.cat.categories
        remap = pd.Index(categories, dtype=object).get_indexer(pd.Index(old, dtype=object))
        codes = column.cat.codes.to_numpy()
        new = np.where(codes >= 0, remap[np.maximum(codes, 0)] if len(remap) else -1, -1)
        return pd.Categorical.from_codes(new, categories=categories)
    return pd.Categorical(column.astype(object), categories=categories)


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


# -------------------------------------------------------------------------------------- result


@dataclasses.dataclass(frozen=True, eq=False)
class BreakdownResult:
    """What a breakdown found.

    Attributes:
        facts: one row per contact of the base set in the range: kind, id, customer_id,
            changed_at, period (start of the period of the plan's measure), created_period
            (measure "created"), and one column per dimension named as in `by` (agent ids
            with "(no agent)"/"(other)", plus agent_name; lead_score 0–5; newsletter_list a
            tuple of list ids). Dimension columns are categories in plan order.
            <NA> marks a value a failed call left unknown.
        counts: tidy contacts per period × dimension value; every period present, zeros
            where truly none, NaN where unknown (see `incomplete`).
        calls: API calls made (failed ones included; answers from the cache not counted).
        cached_calls: answers served by the cache.
        warnings: sentences on joins that did not add up (also issued as BreakdownWarning).
        conflicts: contacts found under two values of a single-valued dimension.
        incomplete: the failed calls, what they were for, and the error (empty when complete).
        demo: the answers are the built-in stand-in's demo data.
        fetched_at: when the oldest answer used was fetched (cached answers keep the time
            they were first fetched); also in ``facts.attrs``.
    """

    plan: BreakdownPlan
    facts: pd.DataFrame
    counts: pd.DataFrame
    calls: int
    cached_calls: int
    warnings: list[str]
    conflicts: pd.DataFrame
    incomplete: pd.DataFrame
    demo: bool = False
    fetched_at: pd.Timestamp | None = None
    _unknowns: tuple[_Unknown, ...] = ()

    @property
    def is_complete(self) -> bool:
        """True when every call of the plan succeeded."""
        return len(self.incomplete) == 0

    @property
    def names(self) -> dict[str, dict[Any, str]]:
        """Display names per dimension (agent id -> name, list id -> name, order type label)."""
        out: dict[str, dict[Any, str]] = {}
        for op in self.plan.offices:
            for dim in op.dimensions:
                out.setdefault(dim.name, {}).update(dim.names)
        return out

    def activity(
        self,
        measure: str | None = None,
        by: str | Iterable[str] | None = None,
        period: str | None = None,
        start: Any = None,
        end: Any = None,
    ) -> pd.DataFrame:
        """Re-aggregate the same facts, without any call: tidy counts per period × `by`.

        `measure="changed"` on a "created" breakdown counts the contacts created in the range
        by the period of their LAST change (changed_at), from the range's start up to the
        latest change. Creation periods can only be regrouped onto a period whose starts are
        all window edges of the plan (months → quarters or years, days → weeks or months).
        `by` may name any fact column: a dimension, "kind" or "customer_id".
        """
        plan = self.plan
        measure = measure or plan.measure
        code = activity.normalize_period(period or plan.period)
        dims = plan.by if by is None else ((by,) if isinstance(by, str) else tuple(by))
        for name in dims:
            if name not in self.facts.columns or name in ("id", "changed_at", "period"):
                allowed = ", ".join([*plan.by, "kind", "customer_id"])
                raise InvalidQueryError("by", f"{name!r} is not in these facts", allowed)
        if measure not in MEASURES:
            raise InvalidQueryError("measure", f"{measure!r} is not a measure", "created, changed")
        start_ts = activity.to_timestamp(start, "start") if start is not None else plan.start
        if measure == "created":
            if plan.measure != "created":
                raise InvalidQueryError(
                    "measure",
                    "this breakdown was by change time; creation times are unknown",
                    "'changed', or run a breakdown with measure='created'",
                )
            edges = set(plan.boundaries)
            grid = activity.period_index(plan.start, plan.end, code)
            if any(p not in edges for p in grid if plan.start < p < plan.end):
                raise InvalidQueryError(
                    "period",
                    f"creation was fetched per {activity.period_name(plan.period)}; it cannot "
                    f"be regrouped per {activity.period_name(code)}",
                    "the fetched period or a coarser one that it divides",
                )
            end_ts = activity.to_timestamp(end, "end") if end is not None else plan.end
        else:
            if end is not None:
                end_ts = activity.to_timestamp(end, "end")
            elif plan.measure == "changed":
                end_ts = plan.end
            else:
                latest = self.facts["changed_at"].max()
                end_ts = plan.end
                if pd.notna(latest) and latest >= plan.end:
                    end_ts = activity.next_period_start(latest + pd.Timedelta(1, "ns"), code)
        values = {
            name: list(self.facts[name].cat.categories)
            for name in dims
            if isinstance(self.facts[name].dtype, pd.CategoricalDtype)
        }
        for name in dims:
            if name in activity.MULTI_VALUED:
                values[name] = [*_dimension_order(plan, name)]
        counts = activity.activity_counts(
            self.facts, measure, dims, code, start_ts, end_ts, values=values
        )
        counts = self._mark_unknown(counts, measure, dims, code)
        counts.attrs.update(self._chart_attrs(measure, code, start_ts, end_ts))
        return counts

    def _mark_unknown(
        self, counts: pd.DataFrame, measure: str, dims: Sequence[str], code: str
    ) -> pd.DataFrame:
        if not self._unknowns or counts.empty:
            return counts
        mask = pd.Series(False, index=counts.index)
        for rule in self._unknowns:
            if rule.everything:
                mask[:] = True
                continue
            if rule.periods is not None or rule.changed_from is not None:
                if measure == "created" and rule.periods is not None:
                    cells = {activity.floor_period(p, code) for p in rule.periods}
                    mask |= counts["period"].isin(list(cells))
                if measure == "changed" and rule.changed_from is not None:
                    mask |= counts["period"] >= activity.floor_period(rule.changed_from, code)
            elif rule.dimension in dims and rule.values is not None:
                mask |= counts[rule.dimension].astype(object).isin(list(rule.values))
        counts = counts.copy()
        counts["contacts"] = counts["contacts"].astype("float64").mask(mask)
        return counts

    def _chart_attrs(
        self, measure: str, code: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> dict[str, Any]:
        return {
            "measure": measure,
            "period": code,
            "start": start,
            "end": end,
            "offices": tuple(self.plan.query.customer_ids),
            "demo": self.demo,
            "names": self.names,
        }

    def to_frame(self, by: str | None = None) -> pd.DataFrame:
        """Counts pivoted for export: one row per period, one column per value of `by`."""
        return activity.wide(self.counts, by)

    def plot(self, kind: str = "auto", **kwargs: Any) -> Figure:
        """A matplotlib Figure of the counts (the caller shows and closes it).

        `kind`: "auto" (by the first dimension, or totals), "agent", "lead_score",
        "created_vs_changed", "bar" (totals per value of `dimension=`), "total".
        """
        from vitec_nb import charts

        dims = self.plan.by
        if kind == "auto":
            kind = dims[0] if dims else "total"
        if kind == "agent":
            return charts.by_agent(self._counts_by("agent"), **kwargs)
        if kind == "lead_score":
            return charts.by_lead_score(self._counts_by("lead_score"), **kwargs)
        if kind == "created_vs_changed":
            if self.plan.measure != "created":
                raise InvalidQueryError(
                    "kind", "needs a breakdown by creation (measure='created')", "agent, ..."
                )
            created = self.activity(measure="created", by=())
            changed = self.activity(measure="changed", by=(), end=self.plan.end)
            return charts.created_vs_changed(created, changed, **kwargs)
        if kind == "bar":
            dimension = kwargs.pop("dimension", dims[0] if dims else "kind")
            return charts.bar(self.activity(by=dimension), dimension, **kwargs)
        if kind in DIMENSIONS:
            return charts.stacked(self._counts_by(kind), kind, **kwargs)
        if kind == "total":
            return charts.stacked(self.activity(by=()), None, **kwargs)
        raise InvalidQueryError(
            "kind",
            f"{kind!r} is not a chart",
            "auto, agent, lead_score, newsletter_list, created_vs_changed, bar, total",
        )

    def _counts_by(self, by: str) -> pd.DataFrame:
        """`activity(by=by)`: the counts already made when `by` is the plan's one dimension."""
        return self.counts if self.plan.by == (by,) else self.activity(by=by)

    def summary(self) -> str:
        """A few lines for people: contacts, periods, calls, cache, warnings, gaps."""
        plan = self.plan
        n = len(self.facts)
        kinds = self.facts["kind"].value_counts()
        kind_text = ", ".join(
            f"{int(kinds.get(k, 0))} {noun}"
            for k, noun in (
                ("person", "persons"),
                ("company", "companies"),
                ("deceased_estate", "deceased estates"),
            )
        )
        lines = [
            f"{n} contacts {plan.measure} {_fmt(plan.start)} → {_fmt(plan.end)} "
            f"(end excluded) in {', '.join(plan.query.customer_ids)}: {kind_text}.",
            f"{plan.n_calls} calls planned: {self.calls} made, {self.cached_calls} from the cache.",
        ]
        if "newsletter_list" in plan.by:
            lines.append(
                "A contact on several newsletter lists counts under each: the list counts "
                "can add up to more than the contacts."
            )
        if self.demo:
            lines.append("DEMO DATA from the built-in stand-in.")
        if self.warnings:
            lines.append(f"{len(self.warnings)} warnings: " + " ".join(self.warnings))
        if not self.is_complete:
            lines.append(
                f"INCOMPLETE: {len(self.incomplete)} calls failed; their counts are NaN: "
                + "; ".join(self.incomplete["call"])
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        state = "complete" if self.is_complete else f"{len(self.incomplete)} calls missing"
        return (
            f"<BreakdownResult {len(self.facts)} contacts, by {list(self.plan.by)}, "
            f"{self.calls} calls made, {self.cached_calls} cached, {state}>"
        )
