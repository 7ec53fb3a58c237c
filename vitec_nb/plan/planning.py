"""Planning: the fewest exact calls for a breakdown, decided purely from plain data (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from vitec_nb import activity
from vitec_nb.activity import TIMEZONE
from vitec_nb.dates import next_midnight
from vitec_nb.errors import InvalidQueryError
from vitec_nb.lookups import OfficeLookups
from vitec_nb.plan.dimensions import plan_dimension
from vitec_nb.plan.options import BreakdownOptions
from vitec_nb.plan.values import (
    _NOUNS,
    ASKED_LEAD_SCORES,
    DEFAULT_PERIODS_BACK,
    DIMENSIONS,
    BreakdownPlan,
    DimensionPlan,
    OfficePlan,
    PlannedCall,
    _fmt,
)
from vitec_nb.profile import ServerProfile
from vitec_nb.query import ContactQuery
from vitec_nb.vocab import DECEASED_ESTATE

__all__ = ["plan_breakdown"]


def _open(query: ContactQuery, name: str) -> bool:
    """The query's `*_to` is an open bound (a whole day: the next midnight, excluded)."""
    return bool(getattr(query, f"{name}_open", False))


def closed(query: ContactQuery) -> ContactQuery:
    """The same query with its `*_to` bounds as instants, included (as Vitec reads them)."""
    changes = {
        f"{name}_open": False
        for name in ("created_to", "changed_to")
        if getattr(query, f"{name}_open", False)
    }
    return query.replace(**changes) if changes else query


def _bound_min(
    a: tuple[pd.Timestamp, bool], b: tuple[pd.Timestamp, bool] | None
) -> tuple[pd.Timestamp, bool]:
    """The narrower of two ends (instant, included)."""
    if b is None or a[0] < b[0]:
        return a
    if b[0] < a[0]:
        return b
    return a[0], a[1] and b[1]


def _resolve_range(
    query: ContactQuery, opts: BreakdownOptions, now: pd.Timestamp
) -> tuple[pd.Timestamp, pd.Timestamp, bool]:
    """(start, end, end included): the options' range narrowed by the query's own bounds.

    A date-only end is the whole day (the next midnight, excluded); an end with a time of
    day is that instant, included. Default end: now rounded up to the next period start;
    default start: 12 periods before.
    """
    measure, period = opts.measure, opts.period
    q_from = query.created_from if measure == "created" else query.changed_from
    q_to = query.created_to if measure == "created" else query.changed_to
    name = "created_to" if measure == "created" else "changed_to"
    query_end = None if q_to is None else (q_to, not _open(query, name))
    if opts.end is not None:
        end = (next_midnight(opts.end), False) if opts.end_is_date else (opts.end, True)
        end = _bound_min(end, query_end)
    elif query_end is not None:
        end = query_end
    else:
        end = (activity.next_period_start(now, period), False)
    stop = end[0] + pd.Timedelta(1, "ns") if end[1] else end[0]
    if opts.start is not None:
        start = max(opts.start, q_from) if q_from is not None else opts.start
    elif q_from is not None:
        start = q_from
    else:
        ceiling = activity.next_period_start(stop, period)
        start = activity.shift_periods(ceiling, period, -DEFAULT_PERIODS_BACK)
    if stop <= start:
        raise InvalidQueryError(
            "end",
            f"the range {_fmt(start)} → {_fmt(end[0])} is empty",
            "an end later than the start",
        )
    return start.as_unit("ns"), end[0].as_unit("ns"), end[1]


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


def _value_label(dim: DimensionPlan, value: Any) -> str:
    """A value in words for call labels: the id, and its name when the lookup has one."""
    name = dim.names.get(value)
    return f"{value} ({name})" if name and name != str(value) else str(value)


def _base_query(query: ContactQuery, office: str, profile: ServerProfile) -> ContactQuery:
    """The office's query as sent: never `LeadScore=0` unless 0 is known to be a filter."""
    base = closed(query.for_office(office))
    if base.lead_score == 0 and profile.zero_filters is not True:
        base = base.replace(lead_score=None)
    return base


def _time_calls(
    office: str,
    ranged: ContactQuery,
    plan_range: tuple[pd.Timestamp, pd.Timestamp, bool],
    boundaries: Sequence[pd.Timestamp],
    opts: BreakdownOptions,
    now: pd.Timestamp,
) -> tuple[list[PlannedCall], PlannedCall | None]:
    """The creation windows and the end check (measure "created" only)."""
    if opts.measure != "created":
        return [], None
    windows = [
        PlannedCall(
            office,
            "created",
            k,
            ranged.replace(created_from=boundaries[k], created_to=boundaries[k + 1]),
            _window_label(office, boundaries[k], opts.period),
        )
        for k in range(len(boundaries) - 1)
    ]
    _, end, included = plan_range
    # Windows are closed, so a contact created exactly at an excluded `end` is in the last
    # one. Ask for [end, end] to leave those out, unless `end` is still in the future when
    # planning: nothing is created in the future.
    if included or end > now:
        return windows, None
    query = ranged.replace(created_from=end, created_to=end)
    return windows, PlannedCall(office, "end", end, query, f"{office} created at {_fmt(end)}")


def _exclusions(
    office: str, query: ContactQuery, ranged: ContactQuery, opts: BreakdownOptions
) -> list[PlannedCall]:
    """Calls whose contacts leave the base set: lead scores 1-5 for a lead score 0 query
    (0 is derived), and the created-at-bound check of an open created_to (measure changed)."""
    out: list[PlannedCall] = []
    if query.lead_score == 0 and ranged.lead_score is None:
        for score in ASKED_LEAD_SCORES:
            q = ranged.replace(lead_score=score)
            out.append(PlannedCall(office, "exclude", score, q, f"{office} lead score {score}"))
    if opts.measure == "changed" and _open(query, "created_to"):
        bound = query.created_to
        q = ranged.replace(created_from=bound, created_to=bound)
        out.append(PlannedCall(office, "exclude", bound, q, f"{office} created at {_fmt(bound)}"))
    return out


def _office_plan(
    office: str,
    query: ContactQuery,
    lookups: OfficeLookups,
    opts: BreakdownOptions,
    profile: ServerProfile,
    plan_range: tuple[pd.Timestamp, pd.Timestamp, bool],
    boundaries: Sequence[pd.Timestamp],
    now: pd.Timestamp,
) -> OfficePlan:
    start, end, _ = plan_range
    base_q = _base_query(query, office, profile)
    if opts.measure == "created":
        ranged = base_q.replace(created_from=start, created_to=end)
    else:
        ranged = base_q.replace(changed_from=start, changed_to=end)
    base = PlannedCall(office, "base", None, ranged, f"{office} base set")
    windows, end_check = _time_calls(office, ranged, plan_range, boundaries, opts, now)
    dims: list[DimensionPlan] = []
    calls: list[PlannedCall] = []
    for name in opts.by:
        dim = plan_dimension(name, office, query, lookups, opts, profile)
        dims.append(dim)
        for value in dim.values:
            changes: dict[str, Any] = {DIMENSIONS[name]: value}
            if name == "custom_field":
                changes["custom_field_name"] = opts.custom_field_name or query.custom_field_name
            label = f"{office} {_NOUNS[name][0]} {_value_label(dim, value)}"
            calls.append(PlannedCall(office, name, value, ranged.replace(**changes), label))
    exclusions = _exclusions(office, query, ranged, opts)
    return OfficePlan(
        office, base, tuple(windows), end_check, tuple(dims), tuple(calls), tuple(exclusions)
    )


def _excluded_kinds(query: ContactQuery, profile: ServerProfile) -> tuple[str, ...]:
    """Deceased estates have no lead score: a derived lead score 0 never includes them."""
    derived = query.lead_score == 0 and profile.zero_filters is not True
    return (DECEASED_ESTATE,) if derived else ()


def _range_error(exc: Exception, opts: BreakdownOptions) -> InvalidQueryError:
    field = "start" if opts.start is not None and opts.end is None else "end"
    return InvalidQueryError(
        field,
        f"the range cannot be split into Stockholm periods ({exc})",
        "dates in years 1900–9998, away from 1916 (Stockholm's first summer time: the local "
        "midnight of 1 October happened twice)",
    )


def _range_and_boundaries(
    query: ContactQuery, options: BreakdownOptions, now: pd.Timestamp
) -> tuple[tuple[pd.Timestamp, pd.Timestamp, bool], tuple[pd.Timestamp, ...]]:
    """The range and the creation windows' edges (start, each period start inside, end)."""
    try:
        plan_range = _resolve_range(query, options, now)
        start, end, included = plan_range
        stop = end + pd.Timedelta(1, "ns") if included else end
        inner = [p for p in activity.period_index(start, stop, options.period) if start < p < end]
    except InvalidQueryError:
        raise
    except (ValueError, OverflowError) as exc:  # out of bounds, a midnight twice (1916)
        raise _range_error(exc, options) from None
    return plan_range, (start, *inner, end)


def _refuse_group(options: BreakdownOptions) -> None:
    """An office group is resolved before planning (prepare.py): pure planning cannot."""
    if options.office_group is not None:
        raise InvalidQueryError(
            "office_group",
            f"{options.office_group!r} needs the office groups lookup, which pure planning "
            "does not make",
            "client.plan(query, office_group=...), or the group's offices in the query",
        )


def plan_breakdown(
    query: ContactQuery,
    lookups: Mapping[str, OfficeLookups],
    options: BreakdownOptions,
    profile: ServerProfile | None = None,
) -> BreakdownPlan:
    """Plan a breakdown from plain data: the calls it needs and how they will be joined.

    Does no I/O. `lookups` holds what is known of each office (its users, lists, fields;
    `client.lookups(office)`), `options` the checked options (`breakdown_options(...)`),
    `profile` what is known of the server (None: nothing, the safe path everywhere).
    """
    _refuse_group(options)
    profile = profile if profile is not None else ServerProfile()
    now = options.now if options.now is not None else pd.Timestamp.now(tz=TIMEZONE)
    plan_range, boundaries = _range_and_boundaries(query, options, now)
    start, end, included = plan_range
    offices = [
        _office_plan(
            office,
            query,
            lookups.get(office) or OfficeLookups(office),
            options,
            profile,
            plan_range,
            boundaries,
            now,
        )
        for office in query.customer_ids
    ]
    unique: dict[ContactQuery, PlannedCall] = {}
    for office_plan in offices:
        for call in office_plan.all_calls():
            unique.setdefault(call.query, call)
    if len(unique) > options.max_calls:
        raise InvalidQueryError(
            "max_calls",
            f"this breakdown needs {len(unique)} calls, more than max_calls={options.max_calls}",
            "a coarser period, a shorter range, fewer dimensions, or a larger max_calls",
        )
    changed_stop = query.changed_to if _open(query, "changed_to") else None
    return BreakdownPlan(
        query=query,
        by=options.by,
        measure=options.measure,
        period=options.period,
        start=start,
        end=end,
        boundaries=tuple(boundaries),
        offices=tuple(offices),
        calls=tuple(unique.values()),
        planned_at=now,
        end_included=included,
        exclude_kinds=_excluded_kinds(query, profile),
        changed_stop=changed_stop if options.measure == "created" else None,
        answer_cap=profile.answer_cap,
    )
