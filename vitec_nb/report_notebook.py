"""The report notebook's helpers: `Report` (what a report is about), its checks, `show_*`.

`notebooks/activity_report.ipynb` calls these and holds no logic itself; rendering it to
HTML is `report_render.py`, launching JupyterLab for the demo is `demo_launch.py`.
"""

from __future__ import annotations

import dataclasses
import html
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import pandas as pd

from vitec_nb import i18n, vocab
from vitec_nb.errors import InvalidQueryError

if TYPE_CHECKING:
    from vitec_nb.client import VitecClient

__all__ = [
    "DIMENSIONS",
    "DIMENSION_NAMES",
    "PERIODS",
    "Report",
    "check_parameters",
    "show_breakdown",
    "show_created_vs_changed",
    "show_header",
    "url_parameters",
]

DIMENSIONS = ("agent", "lead_score", "newsletter_list")
DIMENSION_NAMES = {name: vocab.dimension_label(name) for name in DIMENSIONS}
PERIODS = {code: noun for code, (_, noun) in vocab.PERIODS.items()}


@dataclasses.dataclass(frozen=True)
class Report:
    """What one report is about: client, office, period and the time range.

    Build it with `Report.create`, which fills defaults: the first configured office, and
    the twelve whole periods before the current one when start/end are not given.
    """

    client: Any
    offices: tuple[str, ...]
    period: str
    start: pd.Timestamp
    end: pd.Timestamp
    dimensions: tuple[str, ...]
    filters: tuple[tuple[str, Any], ...] = ()
    language: str = "en"

    @classmethod
    def create(
        cls,
        client: VitecClient,
        office: str | Sequence[str] | None = None,
        period: str = "M",
        start: Any = None,
        end: Any = None,
        dimensions: Sequence[str] = ("agent", "lead_score"),
        filters: dict[str, Any] | None = None,
        language: str | None = None,
    ) -> Report:
        """Check and complete the report's parameters (errors name the parameter).

        `filters` are further `ContactQuery` filters (agent_id, lead_score, ...), checked
        here; `end` given as a day is that whole day (included). `language`: "en" or
        "sv" (None: VITEC_NB_LANGUAGE, else the locale) for titles, charts and tables.
        """
        from vitec_nb.query import ContactQuery

        period, start_ts, end_ts, dims = check_parameters(period, start, end, dimensions)
        filters = dict(filters or {})
        for name in ("customer_id", "created_from", "created_to"):
            if name in filters:
                raise InvalidQueryError(
                    "filters", f"{name} is set by the report's own parameters", "other filters"
                )
        ContactQuery("M1", **filters)  # a bad filter fails here, naming its field
        offices = tuple(client.customer_ids)
        chosen: tuple[str, ...]
        if office is None or office == "" or office == []:
            chosen = offices[:1]
        elif isinstance(office, str):
            chosen = (vocab.normalize_customer_id(office),)
        else:
            chosen = tuple(vocab.normalize_customer_id(str(o)) for o in office)
        unknown = [o for o in chosen if o not in offices]
        if unknown or not chosen:
            raise InvalidQueryError(
                "office",
                f"{unknown[0] if unknown else office!r} is not a configured office",
                ", ".join(offices) or "configure an office (VITEC_CUSTOMER_IDS)",
            )
        lang = i18n.resolve_language(language)
        return cls(
            client, chosen, period, start_ts, end_ts, dims, tuple(sorted(filters.items())), lang
        )

    @property
    def range_text(self) -> str:
        """The range as people write it, both ends included: "1 Nov 2025 – 31 Oct 2026"."""
        from vitec_nb.captions import plan_range

        return plan_range(self.start, self.end, self.language)

    @property
    def title(self) -> str:
        """E.g. 'Contact activity · Office M30011 · month by month · 1 Jan – 31 Dec 2025'."""
        if self.language == "sv":
            noun = i18n.period_noun(self.period, "sv")
            where = "Kontor " + ", ".join(self.offices)
            return f"Kontaktaktivitet · {where} · {noun} för {noun} · {self.range_text}"
        where = ("Office " if len(self.offices) == 1 else "Offices ") + ", ".join(self.offices)
        return (
            f"Contact activity · {where} · {PERIODS[self.period]} by {PERIODS[self.period]} · "
            f"{self.range_text}"
        )

    @property
    def query(self) -> Any:
        from vitec_nb.query import ContactQuery

        offices = self.offices[0] if len(self.offices) == 1 else self.offices
        return ContactQuery(offices, **dict(self.filters))

    def breakdown(self, by: Sequence[str] = (), measure: str = "created") -> Any:
        """The breakdown of this report's office, filters and range (cached by the client)."""
        last_day = (self.end - pd.Timedelta(days=1)).date()  # a day: the whole day included
        return self.client.breakdown(
            self.query,
            by=tuple(by),
            measure=measure,
            period=self.period,
            start=self.start,
            end=last_day if self.end == self.end.normalize() else self.end,
            progress=False,  # a report has no one watching: no tqdm widget in its output
        )


_URL_NAMES = ("office", "period", "start", "end", "dimensions", "language")


def url_parameters(query_string: str | None = None, **params: Any) -> dict[str, Any]:
    """The report's parameters with those of the page's URL on top (a Voila page).

    Voila hands the URL's query string to the kernel as `QUERY_STRING`:
    `...?office=M30012&period=Q&dimensions=agent,lead_score&lead_score=4` sets the office,
    period and dimensions, and every other name is a filter (`lead_score`, `agent_id`, ...),
    checked like any other by `Report.create`. Outside Voila nothing changes.
    """
    text = os.environ.get("QUERY_STRING", "") if query_string is None else query_string
    out = dict(params)
    filters = dict(out.get("filters") or {})
    for name, value in parse_qsl(text, keep_blank_values=False):
        if name == "dimensions":
            out[name] = [d.strip() for d in value.split(",") if d.strip()]
        elif name == "office" and "," in value:
            out[name] = [o.strip() for o in value.split(",") if o.strip()]
        elif name in _URL_NAMES:
            out[name] = value
        else:
            filters[name] = value
    out["filters"] = filters
    return out


def check_parameters(
    period: str = "M",
    start: Any = None,
    end: Any = None,
    dimensions: Sequence[str] = ("agent", "lead_score"),
) -> tuple[str, pd.Timestamp, pd.Timestamp, tuple[str, ...]]:
    """Validate the report's parameters that need no server; fill the default range.

    Returns (period, start, end, dimensions); the range is half-open [start, end) and
    defaults to the twelve whole periods before the current (unfinished) one. An `end`
    given as a day is that whole day: the range stops at the next midnight.
    """
    if period not in PERIODS:
        raise InvalidQueryError("period", f"{period!r} is not a period", ", ".join(PERIODS))
    if isinstance(dimensions, str):
        dimensions = (dimensions,)
    bad = [d for d in dimensions if d not in DIMENSIONS]
    if bad:
        raise InvalidQueryError(
            "dimensions", f"{bad[0]!r} is not a dimension", ", ".join(DIMENSIONS)
        )
    end_ts = _timestamp(end, "end") if end is not None else _period_start(period, 0)
    if end is not None and _is_day(end):
        end_ts = end_ts + pd.Timedelta(days=1)
    start_ts = (
        _timestamp(start, "start") if start is not None else _period_start(period, -12, end_ts)
    )
    if start_ts >= end_ts:
        raise InvalidQueryError(
            "end", f"{end_ts:%Y-%m-%d} is not after start {start_ts:%Y-%m-%d}", "a later day"
        )
    return period, start_ts, end_ts, tuple(dimensions)


def _is_day(value: Any) -> bool:
    from vitec_nb.dates import is_whole_day

    return is_whole_day(value)


def _timestamp(value: Any, field: str) -> pd.Timestamp:
    from vitec_nb.query import to_stockholm

    return to_stockholm(value, field=field)


def _period_start(period: str, shift: int, anchor: pd.Timestamp | None = None) -> pd.Timestamp:
    """Start of the period `shift` periods after the one holding `anchor` (default now)."""
    now = anchor if anchor is not None else pd.Timestamp.now(tz=vocab.TIMEZONE)
    current = now.tz_localize(None).to_period(vocab.PERIODS[period][0])
    return (current + shift).start_time.tz_localize(vocab.TIMEZONE)


def show_header(report: Report) -> None:
    """The report's first lines: title, filters, source, when generated and fetched."""
    from IPython.display import HTML, display

    from vitec_nb.captions import filters_in_words
    from vitec_nb.vocab import DEMO_BANNER, TIMEZONE

    client = report.client
    source = (
        f"<b>{DEMO_BANNER}</b> from the built-in stand-in (no credentials configured)"
        if getattr(client, "is_demo", False)
        else f"live data from {html.escape(str(getattr(client, 'base_url', 'Vitec Connect')))}"
    )
    result = report.breakdown((), "created")  # cached: the first chart's own breakdown
    now = pd.Timestamp.now(tz=TIMEZONE)
    fetched = result.fetched_at
    times = f"Generated {now:%Y-%m-%d %H:%M}"
    if fetched is not None and pd.notna(fetched):
        times += f" · data fetched {pd.Timestamp(fetched).tz_convert(TIMEZONE):%Y-%m-%d %H:%M}"
    words = filters_in_words(report.query, result.names, language=report.language)
    none = i18n.text("caption.no_filters", report.language)
    filters = (
        i18n.text("summary.filters", report.language) + ": " + "; ".join(words) if words else none
    )
    body = (
        f"<h1>{html.escape(report.title)}</h1><p>{html.escape(filters)}<br>{source}<br>"
        f"{times} (Swedish time)</p>"
    )
    display(HTML(body), metadata={"vitec_nb": {"title": report.title}})


def show_breakdown(report: Report, dimension: str, *, measure: str = "created") -> None:
    """Chart and table of activity split by one dimension (agent, lead score, list)."""
    from IPython.display import HTML, display

    words = i18n.text(f"dim.{dimension}", report.language)
    heading = f"Per {words}" if report.language == "sv" else f"By {DIMENSION_NAMES[dimension]}"
    display(HTML(f"<h3>{html.escape(heading)}</h3>"))
    result = report.breakdown((dimension,), measure)
    _show_figure(result.plot(query=report.query, language=report.language))
    # One row per value (agents can be many), periods across, and a total per row.
    table = _label_periods(result.to_frame(dimension), report.period).T
    names = result.names.get(dimension, {})
    table.index = pd.Index([names.get(v, v) for v in table.index], name=DIMENSION_NAMES[dimension])
    table.columns.name = None
    table["total"] = table.sum(axis=1, min_count=1)
    if dimension == "agent":  # busiest first; lead scores and lists keep their own order
        table = table.sort_values("total", ascending=False, kind="stable")
    _show_table(table)


def show_created_vs_changed(report: Report) -> None:
    """Contacts created per period and, of those, how many were last changed per period."""
    from IPython.display import HTML, display

    from vitec_nb import activity

    display(HTML(f"<h2>{html.escape(i18n.text('report.created_changed', report.language))}</h2>"))
    result = report.breakdown((), "created")
    _show_figure(result.plot("created_vs_changed", query=report.query, language=report.language))
    created = activity.wide(result.activity(measure="created", by=()))["contacts"]
    changed = activity.wide(result.activity(measure="changed", by=(), end=report.end))
    table = pd.DataFrame({"created": created, "last changed": changed["contacts"]})
    _show_table(_label_periods(table, report.period))


def _label_periods(table: pd.DataFrame, period: str) -> pd.DataFrame:
    """Period starts as readable labels ("2025-03", "2025-Q1", ...) for a table's rows."""
    from vitec_nb import activity

    out = table.copy()
    out.index = pd.Index(
        [activity.period_label(p, period, multiline=False) for p in out.index],
        name=PERIODS[period],
    )
    return out


def _show_figure(fig: Any) -> None:
    import matplotlib.pyplot as plt
    from IPython.display import display

    from vitec_nb.form_output import figure_image

    display(figure_image(fig, width=960))
    plt.close(fig)  # a no-op for charts' Figure(); stops pyplot figures piling up


def _show_table(frame: Any) -> None:
    from IPython.display import display

    with pd.option_context("display.max_rows", 500, "display.max_columns", 60):
        display(frame)  # every agent and period: a report is read, not scrolled
