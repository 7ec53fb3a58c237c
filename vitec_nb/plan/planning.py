"""Planning: the fewest exact calls for a breakdown, decided purely (no requests but lookups)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from vitec_nb import activity
from vitec_nb.activity import TIMEZONE
from vitec_nb.errors import InvalidQueryError
from vitec_nb.plan.values import (
    _NOUNS,
    _PLAN_OPTIONS,
    _RUN_OPTIONS,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_CALLS,
    DEFAULT_PERIODS_BACK,
    DIMENSIONS,
    MAX_CONCURRENCY,
    MEASURES,
    NO_AGENT,
    NO_LIST,
    NO_SCORE,
    OTHER,
    BreakdownPlan,
    DimensionPlan,
    OfficePlan,
    PlannedCall,
    _fmt,
)
from vitec_nb.query import LEAD_SCORE_RANGE, SCHEDULED_ORDER_TYPES, ContactQuery


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


def _names(lookup: pd.DataFrame | None, id_column: str) -> dict[Any, str]:
    """Display names by id from a lookup frame (none without a lookup)."""
    if lookup is None:
        return {}
    return dict(zip(map(str, lookup[id_column]), map(str, lookup["name"]), strict=True))


def _agent_dimension(
    client: Any,
    office: str,
    offices: Sequence[str],
    query: ContactQuery,
    agent_ids: Any,
    include_archived: bool,
) -> DimensionPlan:
    given = _values_for(agent_ids, office, offices, "agent_ids")
    # the users lookup (a cached call) gives names for labels, and every agent by default
    lookup = client.agents(office) if client is not None else None
    names = _names(lookup, "user_id")
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
    lookup = client.newsletter_lists(office) if client is not None else None
    names = _names(lookup, "id")
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
