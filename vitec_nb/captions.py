"""Captions: what an output shows, in words (office, filters, measure, period, range, demo).

Charts, the form's summary, exports and the report all describe themselves with these
words, so a chart saved alone or a CSV mailed around still says what it holds. Dates are
written the way an analyst writes them ("1 Jan – 31 Dec 2025"); a range given as days
names its last day (included), never the exclusive midnight after it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from vitec_nb.vocab import DEMO_BANNER, TIMEZONE, service_label

__all__ = ["Caption", "day_text", "filters_in_words", "plan_range", "range_text"]

MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "sv": ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
}
DASH = " – "
MEASURE_WORDS = {"created": "created", "changed": "last changed"}
PERIOD_WORDS = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}


def _has_time(value: Any) -> bool:
    return isinstance(value, dt.datetime) and (value.hour, value.minute, value.second) != (0, 0, 0)


def day_text(value: Any, language: str = "en", *, year: bool = True) -> str:
    """A day as written by people: "1 Jan 2025" (with its time when it has one)."""
    if value is None:
        return ""
    if isinstance(value, pd.Timestamp) and value.tzinfo is not None:
        value = value.tz_convert(TIMEZONE).tz_localize(None).to_pydatetime()
    month = MONTHS.get(language, MONTHS["en"])[value.month - 1]
    text = f"{value.day} {month}" + (f" {value.year}" if year else "")
    if _has_time(value):
        text += f" {value:%H:%M}"
    return text


def range_text(first: Any, last: Any, language: str = "en") -> str:
    """Both ends included, the year once when shared: "1 Jan – 31 Dec 2025".

    An open end reads "from 1 Jan 2025" or "up to 31 Dec 2025"; no ends give "".
    """
    if first is None and last is None:
        return ""
    if first is None:
        return f"up to {day_text(last, language)}"
    if last is None:
        return f"from {day_text(first, language)}"
    same_year = first.year == last.year and not _has_time(first)
    if same_year and first.month == last.month and not _has_time(last):
        month = MONTHS.get(language, MONTHS["en"])[first.month - 1]
        if first.day == last.day:
            return f"{first.day} {month} {first.year}"
        return f"{first.day}{DASH}{last.day} {month} {first.year}"
    return day_text(first, language, year=not same_year) + DASH + day_text(last, language)


def plan_range(start: pd.Timestamp, end: pd.Timestamp, language: str = "en") -> str:
    """A half-open range [start, end) as the days it covers: the end's midnight excluded."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end.tzinfo is not None:
        end = end.tz_convert(TIMEZONE)
    last = end - pd.Timedelta(days=1) if end == end.normalize() else end
    return range_text(_naive(start), _naive(last), language)


def _naive(ts: pd.Timestamp) -> dt.datetime:
    if ts.tzinfo is not None:
        ts = ts.tz_convert(TIMEZONE).tz_localize(None)
    return ts.to_pydatetime()


def _stars(score: int) -> str:
    return "★" * score + "☆" * (5 - score)


def filters_in_words(
    query: Any,
    names: Mapping[str, Mapping[Any, str]] | None = None,
    *,
    language: str = "en",
) -> list[str]:
    """Every filter of `query` except office and dates, named: "agent Anna Berg", ...

    `names` maps a dimension to display names ("agent": id -> name, "newsletter_list":
    id -> name, "custom_field": field name -> label); an unknown id is shown as is.
    """
    names = names or {}
    words: list[str] = []
    if getattr(query, "agent_id", None):
        words.append("agent " + names.get("agent", {}).get(query.agent_id, query.agent_id))
    score = getattr(query, "lead_score", None)
    if score is not None:
        words.append(f"lead score {_stars(int(score))} {score}")
    listed = getattr(query, "newsletter_list_id", None)
    if listed:
        words.append("newsletter list " + names.get("newsletter_list", {}).get(listed, listed))
    service = getattr(query, "scheduled_order_type", None)
    if service is not None:
        words.append("service " + service_label(int(service), language))
    field = getattr(query, "custom_field_name", None)
    if field:
        label = names.get("custom_field", {}).get(field, field)
        value = getattr(query, "custom_field_value", None)
        words.append(f"field {label} = {value}" if value is not None else f"field {label}")
    return words


@dataclasses.dataclass(frozen=True)
class Caption:
    """What one run shows, in words; `lines()` for export headers, `subtitle` for charts.

    Args:
        office: the office as shown ("M30012 Kontor Söder").
        filters: the active filters in words, dates of the pair not measured included
            ("created 1 Jan – 31 Dec 2025 also applies").
        measure: "created" or "changed".
        period: "D", "W", "M", "Q" or "Y".
        range: the measured range as the analyst wrote it ("1 Jan – 31 Dec 2025").
        demo: stand-in data.
        fetched_at: when the oldest answer was fetched (None: unknown).
        split: the dimension words the chart is split by ("agent"), or "".
        shows: what the output is, when not a breakdown ("contacts matching the query").
    """

    office: str
    filters: tuple[str, ...] = ()
    measure: str = "created"
    period: str = "M"
    range: str = ""
    demo: bool = False
    fetched_at: pd.Timestamp | None = None
    split: str = ""
    shows: str = ""

    @property
    def what(self) -> str:
        """E.g. "contacts created per month by agent"."""
        if self.shows:
            return self.shows
        text = f"contacts {MEASURE_WORDS.get(self.measure, self.measure)}"
        text += f" per {PERIOD_WORDS.get(self.period, self.period)}"
        return text + (f" by {self.split}" if self.split else "")

    @property
    def subtitle(self) -> str:
        """The filters in one line, for a chart (which notes DEMO DATA itself)."""
        if not self.filters:
            return "No filters: every contact of the office"
        return "Filters: " + "; ".join(self.filters)

    @property
    def fetched_text(self) -> str:
        if self.fetched_at is None or pd.isna(self.fetched_at):
            return ""
        ts = pd.Timestamp(self.fetched_at)
        if ts.tzinfo is not None:
            ts = ts.tz_convert(TIMEZONE)
        return f"{ts:%Y-%m-%d %H:%M} ({TIMEZONE})"

    def lines(self) -> list[str]:
        """Header lines for an export: one fact a line, "name: value"."""
        out = [
            f"Office: {self.office}",
            f"Shows: {self.what}",
            f"Range: {self.range or 'default range'}",
            f"Filters: {'; '.join(self.filters) if self.filters else 'none'}",
        ]
        if self.fetched_text:
            out.append(f"Fetched: {self.fetched_text}")
        if self.demo:
            out.append(f"Source: {DEMO_BANNER} (built-in stand-in, not a real CRM)")
        return out

    def replace(self, **changes: Any) -> Caption:
        return dataclasses.replace(self, **changes)


def offices_text(offices: Sequence[str], office_names: Mapping[str, str] | None = None) -> str:
    """Offices with their names: "M30012 Kontor Söder, M30013"."""
    office_names = office_names or {}
    return ", ".join(f"{o} {office_names[o]}" if office_names.get(o) else o for o in offices)
