"""Dates of the filters: Swedish local time, years 1900-9998, whole days, as people write them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import pandas as pd

from vitec_nb.errors import InvalidQueryError
from vitec_nb.vocab import TIMEZONE

__all__ = [
    "API_DATETIME_FORMAT",
    "YEAR_RANGE",
    "describe_range",
    "format_api_datetime",
    "is_whole_day",
    "next_midnight",
    "to_stockholm",
    "when",
]

API_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
"""Date-time format of the seed's example request (no offset); fractions appended if any."""

YEAR_RANGE = range(1900, 9999)
"""Years a date may have: four digits, the next midnight of the last day still four digits,
and from 1900 on Stockholm keeps whole-hour CET/CEST offsets (before it: local mean time)."""

_FRACTION = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}[.,]([0-9]+)")
_DATE_ONLY = re.compile(r"\s*[0-9]{4}-?[0-9]{2}-?[0-9]{2}\s*")
_YEAR = re.compile(r"\s*([0-9]+)-")
_DATE_ALLOWED = "a date, datetime, pandas Timestamp or ISO 8601 text like 2025-01-31T12:00:00"
_YEARS_ALLOWED = (
    f"years {YEAR_RANGE.start}-{YEAR_RANGE.stop - 1}: four digits as the API writes them, the"
    " next midnight of the last day still a four-digit year, and Stockholm's CET/CEST rules"
    " (before 1900 it kept local mean time)"
)
_STOCKHOLM = pd.Timestamp(0, tz=TIMEZONE).tzinfo  # the one zone object pandas hands out


def to_stockholm(value: Any, field: str = "date") -> pd.Timestamp:
    """Return `value` as a tz-aware Timestamp in Europe/Stockholm (unit: microseconds).

    Args:
        value: a ``date`` (00:00 that day), ``datetime``, ``pandas.Timestamp``,
            ``numpy.datetime64`` or ISO 8601 text. Naive values are Swedish local time;
            aware values are converted.
        field: the name used in the error message.

    Raises InvalidQueryError for other types, unparsable text, a year outside
    `YEAR_RANGE`, a local time inside the spring DST gap, or precision finer than
    microseconds. An ambiguous autumn local time means its first occurrence (summer time)
    unless a ``datetime`` carries ``fold=1``.
    """
    ts, fold = _timestamp(value, field)
    _check_year(ts.year, value, field)
    if ts.nanosecond:
        raise InvalidQueryError(
            field, f"{value!r} is finer than a microsecond", "at most microsecond precision"
        )
    ts = ts.as_unit("us")
    if ts.tzinfo is _STOCKHOLM:  # already Swedish time (the planner's own boundaries)
        return ts
    if ts.tzinfo is not None:
        local = ts.tz_convert(TIMEZONE)
        _check_year(local.year, value, field)
        return local
    local = ts.tz_localize(TIMEZONE, ambiguous=not fold, nonexistent="NaT")
    if pd.isna(local):
        raise InvalidQueryError(
            field,
            f"{ts.isoformat()} does not exist in Swedish local time (the clock jumps an hour"
            " forward for summer time)",
            "a local time outside the spring DST gap, or a time with a UTC offset",
        )
    return local


def _timestamp(value: Any, field: str) -> tuple[pd.Timestamp, int]:
    """(naive or aware Timestamp, fold) from any accepted date type; errors name `field`."""
    if isinstance(value, str):
        return _parse_text(value, field), 0
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            raise InvalidQueryError(field, "NaT is not a date", _DATE_ALLOWED)
        return value, 0
    if isinstance(value, dt.datetime):
        _check_year(value.year, value, field)
        return pd.Timestamp(value), value.fold
    if isinstance(value, dt.date):
        _check_year(value.year, value, field)
        return pd.Timestamp(value.year, value.month, value.day), 0
    if isinstance(value, np.datetime64) and not np.isnat(value):
        _check_year(value.astype("M8[Y]").astype(int) + 1970, value, field)
        return pd.Timestamp(value), 0  # numpy has no time zone: naive, so Swedish local time
    raise InvalidQueryError(
        field, f"must be a date or date-time, not {type(value).__name__}", _DATE_ALLOWED
    )


def _parse_text(value: str, field: str) -> pd.Timestamp:
    text = value.strip()
    year = _YEAR.match(text)
    if year and len(year.group(1)) != 4:
        raise InvalidQueryError(field, f"{value!r} does not have a four-digit year", _YEARS_ALLOWED)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidQueryError(
            field, f"{value!r} is not an ISO 8601 date or date-time", _DATE_ALLOWED
        ) from None
    _check_year(parsed.year, value, field)
    fraction = _FRACTION.search(text)
    if fraction and fraction.group(1)[6:].strip("0"):
        raise InvalidQueryError(
            field, f"{value!r} is finer than a microsecond", "at most microsecond precision"
        )
    return pd.Timestamp(parsed)


def _check_year(year: int, value: Any, field: str) -> None:
    if year not in YEAR_RANGE:
        raise InvalidQueryError(field, f"{value!r} is in year {year}", _YEARS_ALLOWED)


def is_whole_day(value: Any) -> bool:
    """A date without a time: `datetime.date`, a day-unit datetime64 or date-only text."""
    if isinstance(value, str):
        return _DATE_ONLY.fullmatch(value) is not None
    if isinstance(value, np.datetime64):
        return np.datetime_data(value.dtype)[0] == "D"
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def format_api_datetime(ts: pd.Timestamp) -> str:
    """Stockholm local time as the API writes it: ``YYYY-MM-DDTHH:MM:SS[.ffffff]``."""
    local = ts.tz_convert(TIMEZONE) if ts.tzinfo is not None else ts
    text = f"{local.year:04d}-{local.month:02d}-{local.day:02d}T{local:%H:%M:%S}"
    if local.microsecond:
        text += f".{local.microsecond:06d}"
    return text


def describe_range(lo: pd.Timestamp | None, hi: pd.Timestamp | None, hi_open: bool) -> str:
    """A range as people write it: "1 Jan – 31 Dec 2025", "from 1 Jan 2025 08:30"."""
    last = hi - pd.Timedelta(days=1) if hi is not None and hi_open else None
    left = when(lo) if lo is not None else None
    if hi is None:
        return f"from {left}"
    right = _day(last) if last is not None else when(hi, clock=True)
    if lo is None:
        return f"until {right}"
    if last is not None and _is_midnight(lo):
        if lo.date() == last.date():
            return _day(lo)
        if lo.year == last.year:
            return f"{lo.day} {_MONTHS[lo.month - 1]} – {right}"
    return f"{left} – {right}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _is_midnight(ts: pd.Timestamp) -> bool:
    return ts.hour == ts.minute == ts.second == ts.microsecond == 0


def _day(ts: pd.Timestamp) -> str:
    return f"{ts.day} {_MONTHS[ts.month - 1]} {ts.year}"


def when(ts: pd.Timestamp, *, clock: bool = False) -> str:
    """A day, with its time unless it is midnight (`clock`: always with the time)."""
    if _is_midnight(ts) and not clock:
        return _day(ts)
    time = format_api_datetime(ts)[11:]
    return f"{_day(ts)} {time[:5] if time.endswith(':00') else time}"


def next_midnight(ts: pd.Timestamp) -> pd.Timestamp:
    """00:00 Stockholm time of the day after `ts`'s day: the exclusive end of a whole day."""
    day = ts.date() + dt.timedelta(days=1)  # may be 9999-01-01: past YEAR_RANGE on purpose
    midnight = pd.Timestamp(day.year, day.month, day.day).as_unit("us")
    return midnight.tz_localize(TIMEZONE, ambiguous=True, nonexistent="shift_forward")
