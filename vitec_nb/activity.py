"""Activity tables: contacts counted per period × dimension value, every period present.

Periods are calendar periods in Swedish local time (Europe/Stockholm): a day starts at local
midnight, a week on Monday at local midnight, a month, quarter or year on its first day.
A period is represented by its start, a tz-aware ``Timestamp`` (``datetime64[ns,
Europe/Stockholm]`` in frames): it sorts, plots and exports without surprises, and
``period_label()`` turns it into tick text ("Jan\\n2025", "W05\\n2025", "2025-Q1").

Everything here is pure pandas on frames already fetched: no requests.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from vitec_nb import vocab
from vitec_nb.errors import InvalidQueryError

__all__ = [
    "MULTI_VALUED",
    "NO_VALUE_LABELS",
    "OTHER_OR_NONE_LABELS",
    "PERIODS",
    "TIMEZONE",
    "activity_counts",
    "floor_period",
    "next_period_start",
    "normalize_period",
    "period_index",
    "period_label",
    "period_name",
    "shift_periods",
    "to_timestamp",
    "wide",
]

TIMEZONE = vocab.TIMEZONE
DATETIME_DTYPE = f"datetime64[ns, {TIMEZONE}]"

# period code -> (pandas Period frequency on local wall-clock time, noun used in titles)
PERIODS: dict[str, tuple[str, str]] = vocab.PERIODS
_ALIASES = vocab.PERIOD_ALIASES
_ALLOWED_PERIODS = vocab.PERIODS_ALLOWED

# Dimensions whose contacts may carry several values at once (a contact can be on several
# newsletter lists and hold several active services); the facts hold a tuple of values.
MULTI_VALUED = frozenset({"newsletter_list", "scheduled_order_type"})

# Label used in counts for a multi-valued dimension's contacts that have none of the values
# (when every value was asked: a breakdown says which through `empty_labels`).
NO_VALUE_LABELS: dict[str, str] = {
    "newsletter_list": "(no list)",
    "scheduled_order_type": "(no active service)",
}
# The same contacts when only some values were asked: on none of those, maybe on another.
OTHER_OR_NONE_LABELS: dict[str, str] = {
    "newsletter_list": "(other or no list)",
    "scheduled_order_type": "(other or no service)",
}


def normalize_period(period: str) -> str:
    """The one-letter period code ("D", "W", "M", "Q", "Y") for a code or a word."""
    if isinstance(period, str):
        code = _ALIASES.get(period.strip().lower())
        if code is not None:
            return code
    raise InvalidQueryError("period", f"{period!r} is not a period", _ALLOWED_PERIODS)


def period_name(period: str) -> str:
    """The period as a noun for titles: "month", "week", ..."""
    return PERIODS[normalize_period(period)][1]


def to_timestamp(value: Any, field: str = "date") -> pd.Timestamp:
    """A tz-aware Stockholm Timestamp from a date, datetime, ISO text or Timestamp.

    Naive values are Swedish local time. Delegates to ``vitec_nb.query.to_stockholm`` so
    the planner, the form and the queries read dates the same way.
    """
    from vitec_nb.query import to_stockholm

    return to_stockholm(value, field=field)


def _instant(value: Any, field: str) -> pd.Timestamp:
    """A tz-aware Timestamp as it is (any precision: a plan's exclusive end may be one
    nanosecond after an included end), anything else through `to_timestamp`."""
    if isinstance(value, pd.Timestamp) and value.tzinfo is not None and not pd.isna(value):
        return value.tz_convert(TIMEZONE)
    return to_timestamp(value, field)


def _local_naive(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.tz_convert(TIMEZONE).tz_localize(None)


def _localize(naive: Any) -> Any:
    # Local midnight always exists and is never ambiguous in Stockholm (DST switches at
    # 02:00/03:00), so localising period starts is exact.
    return naive.tz_localize(TIMEZONE)


@functools.lru_cache(maxsize=4096)
def floor_period(ts: pd.Timestamp, period: str) -> pd.Timestamp:
    """Start of the period that contains `ts` (Stockholm local midnight).

    Remembered: a breakdown's planning and its join floor the same boundaries on every
    re-run (a warm re-run is otherwise ~10 % this; benchmark 2 in docs/benchmarks.md).
    """
    freq = PERIODS[normalize_period(period)][0]
    start = pd.Period(_local_naive(ts), freq=freq).start_time
    return _localize(start.as_unit("ns"))


def shift_periods(period_start: pd.Timestamp, period: str, n: int) -> pd.Timestamp:
    """The start of the period `n` periods after (or before, n < 0) the one at `period_start`."""
    freq = PERIODS[normalize_period(period)][0]
    start = (pd.Period(_local_naive(period_start), freq=freq) + n).start_time
    return _localize(start.as_unit("ns"))


def next_period_start(ts: pd.Timestamp, period: str) -> pd.Timestamp:
    """The earliest period start at or after `ts`: its ceiling on the period grid.

    The natural default end of a range ("up to and including the current period").
    """
    floor = floor_period(ts, period)
    return floor if floor == ts else shift_periods(floor, period, 1)


def period_index(start: Any, end: Any, period: str) -> pd.DatetimeIndex:
    """Starts of every period that overlaps the half-open range [start, end).

    The first entry is the start of the period containing `start` (it may begin before
    `start` when `start` is not on the period grid). Named "period", dtype
    ``datetime64[ns, Europe/Stockholm]``.

    >>> period_index("2025-01-15", "2025-04-01", "M")  # Jan, Feb, Mar 2025
    """
    code = normalize_period(period)
    start_ts = _instant(start, "start")
    end_ts = _instant(end, "end")
    if end_ts <= start_ts:
        raise InvalidQueryError(
            "end", f"{end_ts} is not after start {start_ts}", "an end later than the start"
        )
    freq = PERIODS[code][0]
    first = pd.Period(_local_naive(start_ts), freq=freq)
    last = pd.Period(_local_naive(end_ts - pd.Timedelta(1, "ns")), freq=freq)
    naive = pd.period_range(first, last, freq=freq).start_time.as_unit("ns")
    return pd.DatetimeIndex(_localize(naive), name="period")


def floor_series(values: pd.Series, period: str) -> pd.Series:
    """Vectorised `floor_period` for a tz-aware datetime Series (NaT stays NaT)."""
    freq = PERIODS[normalize_period(period)][0]
    local = values.dt.tz_convert(TIMEZONE).dt.tz_localize(None)
    starts = local.dt.to_period(freq).dt.start_time
    return starts.dt.tz_localize(TIMEZONE).astype(DATETIME_DTYPE)


def period_label(start: pd.Timestamp, period: str, *, multiline: bool = True) -> str:
    """Tick text for a period: "3 Mar\\n2025", "W05\\n2025", "Jan\\n2025", "Q1\\n2025", "2025".

    With ``multiline=False`` (titles, tables): "3 Mar 2025", "W05 2025", "Jan 2025",
    "2025-Q1", "2025".
    """
    code = normalize_period(period)
    ts = _local_naive(start)
    sep = "\n" if multiline else " "
    if code == "D":
        return f"{ts.day} {ts.strftime('%b')}{sep}{ts.year}"
    if code == "W":
        iso = ts.isocalendar()
        return f"W{iso.week:02d}{sep}{iso.year}"
    if code == "M":
        return f"{ts.strftime('%b')}{sep}{ts.year}"
    if code == "Q":
        quarter = (ts.month - 1) // 3 + 1
        return f"Q{quarter}\n{ts.year}" if multiline else f"{ts.year}-Q{quarter}"
    return str(ts.year)


def _exploded(column: pd.Series, empty: str) -> tuple[np.ndarray, pd.Series]:
    """(row positions, values): one pair per (contact, value) of a multi-valued column.

    Positions are places in `column`, never its index labels: after a first multi-valued
    dimension a row's label repeats, once per value it holds. A contact with no value gets
    the label `empty` ("(no list)", "(other or no list)", ...); <NA> (unknown) gets no row.
    The work is per distinct tuple (a few hundred), not per contact.
    """
    items = column.to_numpy(dtype=object)
    try:
        pattern_of, patterns = pd.factorize(items)
    except TypeError:  # lists (unhashable) count as the tuples they hold
        items = np.empty(len(column), dtype=object)
        for i, value in enumerate(column):
            items[i] = tuple(value) if isinstance(value, list) else value
        pattern_of, patterns = pd.factorize(items)
    held = [tuple(p) if isinstance(p, tuple) else (p,) for p in patterns]
    held = [values if values else (empty,) for values in held]
    lengths = np.array([len(values) for values in held], dtype=np.int64)
    known = np.flatnonzero(pattern_of >= 0)
    per_row = lengths[pattern_of[known]]
    rows = np.repeat(known, per_row)
    # row r's values are held[pattern_of[r]]: their places in `flat`, one after the other
    flat = np.empty(int(lengths.sum()), dtype=object)
    flat[:] = [value for values in held for value in values]
    first = (np.cumsum(lengths) - lengths)[pattern_of[known]]
    within = np.arange(len(rows)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    return rows, pd.Series(flat[np.repeat(first, per_row) + within], dtype=object)


def _dimension_codes(
    column: pd.Series, name: str, order: Sequence[Any] | None, empty: str | None = None
) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """(row positions, value codes, values) for one dimension; -1 codes are left out.

    Multi-valued columns (tuples) give one pair per (contact, value), `empty` (default
    `NO_VALUE_LABELS[name]`) for none. Values come in `order` (then any other value found,
    sorted), else categories or sorted.
    """
    rows = np.arange(len(column))
    if name in MULTI_VALUED:
        rows, column = _exploded(column, empty or NO_VALUE_LABELS.get(name, "(none)"))
    if isinstance(column.dtype, pd.CategoricalDtype):
        present_codes = np.unique(column.cat.codes.to_numpy())
        present = list(column.cat.categories[present_codes[present_codes >= 0]])
        default = list(column.cat.categories)
    else:
        present = list(pd.unique(column.dropna()))
        try:
            default = sorted(present)
        except TypeError:
            default = sorted(present, key=str)
    if order is None:
        values = default
    else:
        listed = set(order)
        values = list(order) + [v for v in default if v not in listed and v in set(present)]
    lookup = pd.Index(values, dtype=object)
    if isinstance(column.dtype, pd.CategoricalDtype):
        # translate the few categories, not every row
        remap = np.append(lookup.get_indexer(pd.Index(column.cat.categories, dtype=object)), -1)
        codes = remap[column.cat.codes.to_numpy()]  # code -1 (NaN) picks the appended -1
    else:
        codes = lookup.get_indexer(pd.Index(column.astype(object).to_numpy(), dtype=object))
    return rows, codes, values


def activity_counts(
    facts: pd.DataFrame,
    measure: str = "created",
    by: Sequence[str] = (),
    period: str = "M",
    start: Any = None,
    end: Any = None,
    *,
    values: Mapping[str, Sequence[Any]] | None = None,
    empty_labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Contacts per period (× each dimension value): a tidy frame with every period present.

    Args:
        facts: one row per contact, as in ``BreakdownResult.facts``: needs ``changed_at``
            for measure "changed", ``created_period`` for measure "created", and a column
            for each name in `by`.
        measure: "created" (period of creation, as fetched) or "changed" (period of the last
            change, from ``changed_at``).
        by: fact columns to split by ("agent", "lead_score", "newsletter_list", "kind",
            "customer_id", ...). Multi-valued columns (tuples) are exploded: a contact on two
            lists counts once under each, so such counts may sum to more than the contacts.
        period: "D", "W", "M", "Q" or "Y"; created periods are regrouped onto it (only
            meaningful for a period at least as coarse as the fetched one).
        start, end: the half-open range [start, end) whose periods are listed; contacts
            outside it are left out. Default: the range of the data.
        values: for each dimension, the values to list in this order even when no contact
            has them (so zeros show).
        empty_labels: for a multi-valued dimension, the label of the contacts holding none
            of its values (an empty tuple). Default `NO_VALUE_LABELS` ("(no list)", "(no
            active service)"): right only when every value was asked; a breakdown of some
            lists passes "(other or no list)" (`OTHER_OR_NONE_LABELS`, from its plan).

    Returns columns ``period`` (period start), one per `by`, and ``contacts`` (int64);
    every combination of period and listed values is present, zero where none.
    """
    code = normalize_period(period)
    by = tuple(by)
    facts = facts.reset_index(drop=True)
    times = _measure_times(facts, measure, by)
    known = times.dropna()
    if (start is None or end is None) and known.empty:
        raise InvalidQueryError("start", "no dates to take a range from", "a start and end")
    start_ts = _instant(start, "start") if start is not None else known.min()
    end_ts = (
        _instant(end, "end")
        if end is not None
        else next_period_start(known.max() + pd.Timedelta(1, "ns"), code)
    )
    index = period_index(start_ts, end_ts, code)

    # Period of each contact by binary search on the period starts (integer ns): the same
    # for changed_at instants and for created periods regrouped onto a coarser grid.
    stamps = times.to_numpy(dtype="datetime64[ns]").view("int64")
    starts = index.as_unit("ns").asi8
    nat = times.isna().to_numpy()
    position = np.searchsorted(starts, stamps, side="right") - 1
    inside = ~nat & (position >= 0) & (stamps < end_ts.as_unit("ns").value)
    if measure == "changed":
        inside &= stamps >= start_ts.as_unit("ns").value
    return _counted(facts, index, position, inside, by, values, empty_labels or {})


def _measure_times(facts: pd.DataFrame, measure: str, by: Sequence[str]) -> pd.Series:
    """The time each contact is counted at (its creation period or last change), checked."""
    if measure == "created":
        if "created_period" not in facts.columns:
            raise InvalidQueryError(
                "measure",
                "these facts carry no creation periods (they come from a 'changed' breakdown)",
                "'changed', or run a breakdown with measure='created'",
            )
        times = facts["created_period"]
    elif measure == "changed":
        times = facts["changed_at"]
    else:
        raise InvalidQueryError("measure", f"{measure!r} is not a measure", "created, changed")
    for name in by:
        if name not in facts.columns:
            raise InvalidQueryError(
                "by", f"{name!r} is not a column of the facts", ", ".join(map(str, facts.columns))
            )
    return times.astype(DATETIME_DTYPE)


def _counted(
    facts: pd.DataFrame,
    index: pd.DatetimeIndex,
    position: np.ndarray,
    inside: np.ndarray,
    by: Sequence[str],
    values: Mapping[str, Sequence[Any]] | None,
    empty_labels: Mapping[str, str],
) -> pd.DataFrame:
    """Contacts per cell of period × each dimension's values, every cell listed."""
    rows = np.flatnonzero(inside)
    cell = position[rows].astype(np.int64)
    levels: list[list[Any]] = [list(index)]
    for name in by:
        order = None if values is None else values.get(name)
        dim_rows, dim_codes, vals = _dimension_codes(
            facts[name].iloc[rows], name, order, empty_labels.get(name)
        )
        keep = dim_codes >= 0
        cell = cell[dim_rows[keep]] * len(vals) + dim_codes[keep]
        rows = rows[dim_rows[keep]]  # the next dimension is read for the rows that remain
        levels.append(vals)
    sizes = [len(level) for level in levels]
    counted = np.bincount(cell, minlength=int(np.prod(sizes))) if sizes else np.zeros(0)

    full = pd.MultiIndex.from_product(levels, names=["period", *by])
    out = full.to_frame(index=False)
    out["contacts"] = counted.astype("int64")
    out["period"] = out["period"].astype(DATETIME_DTYPE)
    for name, vals in zip(by, levels[1:], strict=True):
        out[name] = pd.Categorical(out[name].astype(object), categories=vals, ordered=True)
    return out


def wide(counts: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """A tidy counts frame pivoted for export or plotting: periods down, values across.

    With no dimension (or `by=None` and only ``period``/``contacts`` columns) the result has
    one column, ``contacts``. With several dimensions, pass the one to spread across;
    the others are summed. A multi-valued dimension (lists, services) cannot be summed
    away (a contact on two lists would count twice): re-aggregate the facts instead, as
    ``BreakdownResult.to_frame(by)`` does.
    """
    dims = [c for c in counts.columns if c not in ("period", "contacts")]
    if by is None:
        if not dims:
            return counts.set_index("period")[["contacts"]]
        by = dims[0]
    summed = [d for d in dims if d != by and d in MULTI_VALUED]
    if summed:
        raise InvalidQueryError(
            "by",
            f"{by!r} would sum the counts over {summed[0]!r}, and a contact with several "
            f"values of {summed[0]!r} would count once under each",
            f"{', '.join(map(repr, dims))} on counts of that one dimension "
            "(result.activity(by=...) or result.to_frame(by=...) re-count the facts)",
        )
    # one groupby and an unstack: the same table as two pivot_tables, a third of the time
    # (the form draws it on every run; docs/benchmarks.md, benchmark 6)
    keys = [counts["period"], counts[by]]
    values = counts["contacts"]
    total = values.groupby(keys, observed=False, sort=False).sum()
    # a NaN count (unknown cell) must stay NaN through the sum, not become 0
    unknown = values.isna().groupby(keys, observed=False, sort=False).any()
    table = total.mask(unknown).unstack(1)
    table.columns = pd.Index(list(table.columns), name=by)
    table.index.name = "period"
    return table
