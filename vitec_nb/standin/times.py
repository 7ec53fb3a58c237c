"""Creation and change instants of the synthetic contacts (seasons, hours, DST edges)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vitec_nb.vocab import TIMEZONE

_NS = 1_000_000_000
_HOUR_NS = 3600 * _NS
_DAY_NS = 24 * _HOUR_NS


def creation_times(
    rng: np.random.Generator, n: int, start_day: pd.Timestamp, end_day: pd.Timestamp
) -> np.ndarray:
    """Creation instants (UTC epoch ns) with growth, seasons, weekdays and office hours.

    Also plants boundary cases: exact midnights, exact month starts, the last microsecond
    of a month, and times around both DST changes (including the repeated October hour).
    """
    days = pd.date_range(start_day, end_day, freq="D").as_unit("ns")
    t = np.linspace(0.0, 1.0, len(days))
    growth = 1.0 + 2.0 * t  # the office grows: three times as busy at the end
    doy = days.day_of_year.to_numpy()
    season = 1.0 + 0.25 * np.cos(2 * np.pi * (doy - 110) / 182.6)  # spring and autumn peaks
    season *= np.where((doy > 185) & (doy < 222), 0.45, 1.0)  # July holidays
    season *= np.where((doy > 354) | (doy < 6), 0.4, 1.0)  # Christmas
    weekday = np.array([1.0, 1.05, 1.0, 0.95, 0.85, 0.3, 0.35])[days.day_of_week.to_numpy()]
    w = growth * season * weekday
    day = rng.choice(len(days), size=n, p=w / w.sum())
    day_ns = days.asi8[day]

    # time of day: office hours mostly, evenings sometimes, any time rarely
    part = rng.random(n)
    tod = np.where(
        part < 0.80,
        7.5 + 11.0 * rng.beta(2.6, 2.9, n),  # a bell over 07:30-18:30, no pile-ups
        np.where(part < 0.95, rng.uniform(17.0, 22.5, n), rng.uniform(0.0, 24.0, n)),
    )
    tod_ns = (tod * _HOUR_NS).astype(np.int64) // 1000 * 1000  # microsecond precision
    local_ns = day_ns + np.minimum(tod_ns, _DAY_NS - 1000)

    # planted boundary cases (a handful even in small datasets)
    pick = rng.permutation(n)
    k = max(3, n // 250) if n >= 60 else 0
    p_mid, p_month, p_last, p_dst = (
        pick[:k],
        pick[k : 2 * k],
        pick[2 * k : 3 * k],
        pick[3 * k : 5 * k],
    )
    local_ns[p_mid] = day_ns[p_mid]  # exactly midnight
    months = (
        pd.date_range(start_day + pd.offsets.MonthBegin(1), end_day, freq="MS").as_unit("ns").asi8
    )
    local_ns[p_month] = months[rng.integers(0, len(months), len(p_month))]
    month_ends = (
        pd.date_range(start_day, end_day - pd.Timedelta(days=1), freq="ME").as_unit("ns").asi8
    )
    last = month_ends[rng.integers(0, len(month_ends), len(p_last))] + _DAY_NS
    local_ns[p_last] = last - rng.integers(1, 1_000_000, len(p_last)) * 1000  # 23:59:59.xxx

    ambiguous = rng.random(n) < 0.5  # True: first (summer-time) occurrence of a repeated hour
    utc = (
        pd.DatetimeIndex(local_ns.astype("datetime64[ns]"))
        .tz_localize(TIMEZONE, ambiguous=ambiguous, nonexistent="shift_forward")
        .tz_convert("UTC")
        .tz_localize(None)
        .asi8.copy()
    )
    # DST days: instants within two hours of a change (both occurrences of 02:xx in October)
    changes = _dst_changes(start_day, end_day)
    if len(p_dst) and len(changes):
        at = changes[rng.integers(0, len(changes), len(p_dst))]
        offs = rng.integers(-2 * _HOUR_NS // 1000, 2 * _HOUR_NS // 1000, len(p_dst)) * 1000
        utc[p_dst] = at + offs
    return utc


def change_times(
    rng: np.random.Generator, created: np.ndarray, end_day: pd.Timestamp
) -> np.ndarray:
    """Change instants at or after creation, before the end; a quarter never changed."""
    n = created.shape[0]
    end_ns = end_day.tz_localize(TIMEZONE).value + _DAY_NS - 1000
    room = np.maximum(end_ns - created, 0)
    frac = rng.random(n) ** 3  # most changes come soon after creation
    delta = (room * frac).astype(np.int64) // 1000 * 1000
    delta[rng.random(n) < 0.25] = 0  # never changed: changed_at == created_at
    return created + delta


def _dst_changes(start_day: pd.Timestamp, end_day: pd.Timestamp) -> np.ndarray:
    """UTC epoch ns of every DST change (01:00 UTC, last Sunday of March and October)."""
    out = []
    for year in range(start_day.year, end_day.year + 1):
        for month in (3, 10):
            last = pd.Timestamp(year=year, month=month, day=31)
            sunday = last - pd.Timedelta(days=(last.day_of_week - 6) % 7)
            at = sunday + pd.Timedelta(hours=1)
            if start_day <= sunday <= end_day:
                out.append(at.value)
    return np.array(out, dtype=np.int64)


def stockholm_offsets(utc_ns: np.ndarray) -> np.ndarray:
    """Stockholm's UTC offset (ns) at each instant: +1 h in winter, +2 h in summer."""
    if utc_ns.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    years = pd.DatetimeIndex(utc_ns.astype("datetime64[ns]")).year
    lo, hi = int(years.min()), int(years.max())
    changes = _dst_changes(
        pd.Timestamp(year=lo, month=1, day=1), pd.Timestamp(year=hi, month=12, day=31)
    )
    # an odd number of changes before an instant means summer time
    summer = np.searchsorted(changes, utc_ns, side="right") % 2 == 1
    return np.where(summer, 2 * _HOUR_NS, _HOUR_NS).astype(np.int64)
