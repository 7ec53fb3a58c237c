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

from vitec_nb import i18n
from vitec_nb.vocab import DEMO_BANNER, PERIODS, TIMEZONE, service_label

__all__ = ["Caption", "day_text", "filters_in_words", "plan_range", "range_text"]

MONTHS = i18n.MONTHS
DASH = " – "
MEASURE_WORDS = {"created": "created", "changed": "last changed"}
PERIOD_WORDS = {code: noun for code, (_, noun) in PERIODS.items()}


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
        return i18n.text("caption.up_to", language, day=day_text(last, language))
    if last is None:
        return i18n.text("caption.from", language, day=day_text(first, language))
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

    def say(key: str, **values: Any) -> None:
        words.append(i18n.text(key, language, **values))

    if getattr(query, "agent_id", None):
        say("caption.agent", name=names.get("agent", {}).get(query.agent_id, query.agent_id))
    score = getattr(query, "lead_score", None)
    if score is not None:
        say("caption.lead_score", stars=_stars(int(score)), score=score)
    listed = getattr(query, "newsletter_list_id", None)
    if listed:
        say("caption.list", name=names.get("newsletter_list", {}).get(listed, listed))
    service = getattr(query, "scheduled_order_type", None)
    if service is not None:
        say("caption.service", name=service_label(int(service), language))
    field = getattr(query, "custom_field_name", None)
    if field:
        label = names.get("custom_field", {}).get(field, field)
        value = getattr(query, "custom_field_value", None)
        if value is not None:
            say("caption.field_value", name=label, value=value)
        else:
            say("caption.field", name=label)
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
        language: "en" or "sv": the words of `what`, `subtitle` and `lines()`.
        compare: with a comparison, its sentence ("+12 % on the same months of 2024").
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
    language: str = "en"
    compare: str = ""

    @property
    def what(self) -> str:
        """E.g. "contacts created per month by agent"."""
        if self.shows:
            return self.shows
        lang = self.language
        measure = (
            i18n.text(f"measure_words.{self.measure}", lang)
            if self.measure
            in (
                "created",
                "changed",
            )
            else self.measure
        )
        text = i18n.text("caption.what", lang, measure=measure, period=_period(self.period, lang))
        return text + (" " + i18n.text("caption.by", lang, split=self.split) if self.split else "")

    @property
    def subtitle(self) -> str:
        """The filters in one line, for a chart (which notes DEMO DATA itself)."""
        if not self.filters:
            return i18n.text("caption.no_filters", self.language)
        return i18n.text("summary.filters", self.language) + ": " + "; ".join(self.filters)

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
        lang = self.language

        def line(key: str, value: str) -> str:
            return f"{i18n.text(key, lang)}: {value}"

        out = [
            line("summary.office", self.office),
            line("lines.shows", self.what),
            line("lines.range", self.range or i18n.text("lines.default_range", lang)),
            line(
                "summary.filters",
                "; ".join(self.filters) if self.filters else i18n.text("summary.none", lang),
            ),
        ]
        if self.compare:
            out.append(line("field.compare", self.compare))
        if self.fetched_text:
            out.append(line("lines.fetched", self.fetched_text))
        if self.demo:
            out.append(line("lines.source", f"{DEMO_BANNER} ({i18n.text('lines.standin', lang)})"))
        return out

    def replace(self, **changes: Any) -> Caption:
        return dataclasses.replace(self, **changes)


def _period(code: str, language: str) -> str:
    return i18n.period_noun(code, language) if code in PERIOD_WORDS else code


def offices_text(offices: Sequence[str], office_names: Mapping[str, str] | None = None) -> str:
    """Offices with their names: "M30012 Kontor Söder, M30013"."""
    office_names = office_names or {}
    return ", ".join(f"{o} {office_names[o]}" if office_names.get(o) else o for o in offices)
