"""What the contact form shows and writes: the run record, chart PNG, summary, rows, exports."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
import io
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from vitec_nb import captions, i18n
from vitec_nb.captions import Caption
from vitec_nb.errors import InvalidQueryError
from vitec_nb.form_summary import comparison_text
from vitec_nb.form_summary import summarize as summarize
from vitec_nb.form_summary import summary_html as summary_html
from vitec_nb.provenance import provenance_of, set_provenance
from vitec_nb.vocab import DIMENSIONS, KIND_LABELS, TIMEZONE

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CSV_STYLES",
    "RunRecord",
    "chart_html",
    "contacts_caption",
    "download_link",
    "export_contacts",
    "export_frame",
    "figure_image",
    "make_caption",
    "png_bytes",
    "summarize",
    "summary_html",
]

TABLE_ROWS = 10
CONTACT_ROWS = 500  # rows of a drill-down table shown in the form (all are exported)
SPLIT_WORDS = tuple(DIMENSIONS)  # the dimensions the form names through i18n ("dim.agent")
CHART_WIDTH = 840  # pixels on screen: the form's width less the output area's padding
CHART_DPI = 84  # the form's 10-inch charts drawn at the 840 px they are shown at
IMAGE_DPI = 100  # figure_image() (the report): 10-inch charts become 1000 px
DOWNLOAD_LINK_LIMIT = 20_000_000  # bytes; bigger exports are only written to the folder
CSV_STYLES: dict[str, str] = {
    "excel-sv": "CSV for Excel, Swedish settings (semicolons, UTF-8 with BOM, local times)",
    "plain": "plain CSV (commas, UTF-8, times with their UTC offset)",
}
HEADER_MARK = "# "  # export header lines start with this: read back with comment="#"
LINK_STYLE = (
    "display:inline-block;padding:3px 12px;margin-left:6px;border-radius:3px;"
    "background:#2f6fae;color:white;text-decoration:none;font-weight:600"
)


@dataclasses.dataclass(frozen=True, eq=False)
class RunRecord:
    """One run of the form: everything its outputs are drawn from, and nothing else.

    The chart, summary, first rows and exports of a run come from its record alone, so
    changing a control afterwards can never relabel them. `controls` is the form's state
    when it ran: when the controls differ, the output is out of date.
    """

    number: int
    query: Any
    plan: Any
    result: Any
    caption: Caption
    controls: tuple[Any, ...]
    names: Mapping[str, Mapping[Any, str]]
    language: str = "en"

    @property
    def office(self) -> str:
        return ", ".join(self.query.customer_ids)

    @property
    def fetched_at(self) -> pd.Timestamp | None:
        return self.caption.fetched_at

    def file_stem(self) -> str:
        """E.g. "contacts-M30012-run3-20260101-0930": office, run and fetch time."""
        when = self.fetched_at
        stamp = (
            pd.Timestamp(when).tz_convert(TIMEZONE).strftime("%Y%m%d-%H%M")
            if when is not None and pd.notna(when) and pd.Timestamp(when).tzinfo is not None
            else dt.datetime.now().strftime("%Y%m%d-%H%M")
        )
        return f"contacts-{self.office.replace(', ', '+')}-run{self.number}-{stamp}"

    def chart_stem(self) -> str:
        """E.g. "chart-M30012-contacts-created-per-month-by-agent-1-jan-31-dec-2025-run3":
        the office, what the chart shows and its range, as the run's caption says them."""
        words = f"{self.office} {self.caption.what} {self.caption.range}"
        slug = "-".join("".join(c if c.isalnum() else " " for c in words).lower().split())
        return f"chart-{slug[:150]}-run{self.number}"


def make_caption(
    result: Any,
    *,
    names: Mapping[str, Mapping[Any, str]],
    ranges: Mapping[str, tuple[Any, Any]],
    office_names: Mapping[str, str] | None = None,
    language: str = "en",
    demo: bool = False,
) -> Caption:
    """What a finished run shows, in words, from its plan and the dates as written.

    `ranges` maps "created" and "changed" to the (first day, last day) the analyst gave
    (None for an open end, filled from the plan for the measured pair). The pair not
    measured, when given, is a filter and listed as one.
    """
    plan = result.plan
    query = plan.query
    first, last = ranges.get(plan.measure, (None, None))
    default_first, default_last = _plan_days(plan.start, plan.end)
    shown = captions.range_text(first or default_first, last or default_last, language)
    filters = captions.filters_in_words(query, names, language=language)
    for pair, (a, b) in ranges.items():
        if pair != plan.measure and (a is not None or b is not None):
            words = captions.range_text(a, b, language)
            pair_words = i18n.text(f"measure.{pair}", language)
            filters.append(
                i18n.text("caption.also_applies", language, pair=pair_words, range=words)
            )
    split = ", ".join(
        i18n.text(f"dim.{d}", language) if d in SPLIT_WORDS else d.replace("_", " ")
        for d in plan.by
    )
    return Caption(
        office=captions.offices_text(query.customer_ids, office_names),
        filters=tuple(filters),
        measure=plan.measure,
        period=plan.period,
        range=shown,
        demo=demo,
        fetched_at=getattr(result, "fetched_at", None) or provenance_of(result.facts).fetched_at,
        split=split,
        language=language,
        compare=comparison_text(result, language) or "",
    )


def contacts_caption(frame: pd.DataFrame) -> Caption:
    """What a contacts frame (`client.contacts()`) holds, from its query and provenance."""
    from vitec_nb.dates import describe_range

    came = provenance_of(frame)
    query = came.query
    if query is None:
        return Caption(office="", shows="contacts", demo=bool(came.demo))
    filters = captions.filters_in_words(query)
    ranges = []
    for pair in ("created", "changed"):
        lo, hi = getattr(query, f"{pair}_from"), getattr(query, f"{pair}_to")
        if lo is not None or hi is not None:
            is_open = bool(getattr(query, f"{pair}_to_open", False))
            ranges.append(f"{pair} {describe_range(lo, hi, is_open)}")
    return Caption(
        office=", ".join(query.customer_ids),
        filters=tuple(filters),
        range="; ".join(ranges) or "any time",
        demo=bool(came.demo),
        fetched_at=came.fetched_at,
        shows="contacts matching the query (ids and last change)",
    )


def _plan_days(start: Any, end: Any) -> tuple[dt.datetime, dt.datetime]:
    """A plan's half-open [start, end) as its first and last (included) local days."""
    first = pd.Timestamp(start).tz_convert(TIMEZONE).tz_localize(None)
    stop = pd.Timestamp(end).tz_convert(TIMEZONE).tz_localize(None)
    last = stop - pd.Timedelta(days=1) if stop == stop.normalize() else stop
    return first.to_pydatetime(), last.to_pydatetime()


def figure_image(fig: Figure, width: int = CHART_WIDTH, dpi: int = IMAGE_DPI) -> Any:
    """The figure as a PNG `IPython.display.Image`, `width` pixels wide on screen.

    Rendered here rather than left to a display formatter: charts are built with the
    object API (`Figure()`), for which no front end has a formatter unless pyplot's inline
    backend was activated, and then JupyterLab, Voila and nbclient would each show
    something else. A PNG is the same everywhere.
    """
    from IPython.display import Image

    return Image(data=png_bytes(fig, dpi), format="png", width=width)


def chart_html(png: bytes, alt: str, width: int = CHART_WIDTH) -> Any:
    """The chart PNG as an HTML image whose alt text is its title (front ends show a PNG
    output without one; readers, tests and screen readers get the title as text)."""
    from IPython.display import HTML

    data = base64.b64encode(png).decode("ascii")
    return HTML(
        f'<img class="vnb-chart" alt="{html.escape(alt)}" width="{width}" '
        f'src="data:image/png;base64,{data}">'
    )


def png_bytes(fig: Figure, dpi: float = CHART_DPI) -> bytes:
    """The figure rendered to PNG in a single draw.

    `savefig` draws a figure with a layout engine twice (a layout pass, then the picture);
    drawing the Agg canvas once lays out and paints in the same pass: the same pixels,
    about a fifth less time per form run (docs/benchmarks.md, benchmark 6). The canvas is
    a `ChartCanvas`, whose renderer every chart of this thread shares, so the text of a
    redrawn chart is measured once. Figures with a canvas of their own (pyplot's) keep
    `savefig`.
    """
    from matplotlib.backend_bases import FigureCanvasBase
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from vitec_nb.chart_layout import ChartCanvas

    buffer = io.BytesIO()
    if type(fig.canvas) not in (FigureCanvasBase, FigureCanvasAgg, ChartCanvas):
        fig.savefig(buffer, format="png", dpi=dpi)
        return buffer.getvalue()
    import numpy as np
    from PIL import Image as PILImage

    original = fig.dpi
    if dpi != original:  # charts made for the form are made at CHART_DPI: nothing to change
        fig.set_dpi(dpi)
    try:
        canvas = fig.canvas if isinstance(fig.canvas, ChartCanvas) else ChartCanvas(fig)
        canvas.draw()
        # encoded before anything else draws: the pixels are the shared renderer's
        PILImage.fromarray(np.asarray(canvas.buffer_rgba())).save(
            buffer, format="png", compress_level=1
        )
    finally:
        if dpi != original:
            fig.set_dpi(original)
    return buffer.getvalue()


COLUMN_LABELS = {c: i18n.text(f"col.{c}") for c in (
    "kind", "id", "customer_id", "changed_at", "created_at", "name", "period",
    "created_period", "agent_name", "lead_score", "newsletter_list_name",
    "scheduled_order_type_name", "custom_field", "office",
)}  # fmt: skip


def column_label(column: str, language: str = "en") -> str:
    """A table's column heading in `language` ("Senast ändrad (svensk tid)")."""
    if column in COLUMN_LABELS:
        return i18n.text(f"col.{column}", language)
    return column.replace("_", " ")


HIDDEN_IN_TABLE = ("agent", "newsletter_list", "scheduled_order_type")  # shown by name


def _table(
    frame: pd.DataFrame,
    names: Mapping[str, Mapping[Any, str]] | None = None,
    language: str = "en",
    *,
    rows: int = TABLE_ROWS,
    caption: str | None = None,
) -> Any:
    """The first `rows` rows as an HTML table: labels for columns, names for ids, no wrapping.

    Written out directly: `DataFrame.to_html` took ~14 ms of each form run for ten rows
    (docs/benchmarks.md, benchmark 6). The markup is pandas' (`class="dataframe"`), so
    front ends style it the same way.
    """
    from IPython.display import HTML

    head = frame.head(rows)
    set_provenance(head, None)  # pandas deep-copies attrs on every column access
    names = names or {}
    kind_words = KIND_LABELS.get(language, KIND_LABELS["en"])
    cells: dict[str, list[str]] = {}
    for col in head.columns:
        values = head[col].tolist()
        if col in HIDDEN_IN_TABLE and (col in names or f"{col}_name" in head.columns):
            if f"{col}_name" not in head.columns:  # shown by name in place of the id
                known = names.get(col, {})
                cells[f"{col}_name"] = [_cell(_names_of(v, known)) for v in values]
            continue
        if col == "kind":
            values = [kind_words.get(v, v) for v in values]
        cells[col] = [_cell(v, dates_only=col.endswith("period")) for v in values]
    header = "".join(f"<th>{html.escape(column_label(c, language))}</th>" for c in cells)
    rows = "".join(
        "<tr>" + "".join(f"<td>{column[i]}</td>" for column in cells.values()) + "</tr>"
        for i in range(len(head))
    )
    if caption is None:
        caption = i18n.text("rows.first", language, shown=len(head), total=len(frame))
    return HTML(
        f"<p>{html.escape(caption)}</p>"
        '<table border="1" class="dataframe vnb-rows" style="white-space:nowrap">'
        f'<thead><tr style="text-align: right;">{header}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def export_columns(
    frame: pd.DataFrame,
    names: Mapping[str, Mapping[Any, str]] | None = None,
    *,
    local_times: bool = True,
    language: str = "en",
) -> pd.DataFrame:
    """The columns people receive: kinds in words, names next to ids, readable times.

    Times become Swedish wall-clock text without an offset (`local_times`, for Excel) or
    ISO 8601 with the offset; period starts become dates; multi-valued cells (a contact's
    newsletter lists) are joined with ", "; each id column of a dimension with `names`
    gets a `<dimension>_name` column right after it.
    """
    names = names or {}
    kind_words = KIND_LABELS.get(language, KIND_LABELS["en"])
    out: dict[str, Any] = {}
    for col in frame.columns:
        values = frame[col]
        if col == "kind":
            values = values.astype(object).map(lambda k: kind_words.get(k, k))
        elif isinstance(values.dtype, pd.DatetimeTZDtype):
            local = values.dt.tz_convert(TIMEZONE)
            dates_only = col.endswith("period") or col == "period"
            fmt = "%Y-%m-%d" if dates_only else "%Y-%m-%d %H:%M:%S"
            values = local.dt.strftime(fmt if local_times or dates_only else "%Y-%m-%dT%H:%M:%S%z")
        elif values.dtype == object and values.map(lambda v: isinstance(v, tuple)).any():
            values = values.map(lambda v: ", ".join(map(str, v)) if isinstance(v, tuple) else v)
        out[col] = (
            values.astype(object) if isinstance(values.dtype, pd.CategoricalDtype) else values
        )
        known = names.get(col)
        if known and f"{col}_name" not in frame.columns:
            out[f"{col}_name"] = frame[col].map(lambda v, k=known: _names_of(v, k))
    return pd.DataFrame(out, index=frame.index)


def _cell(value: Any, *, dates_only: bool = False) -> str:
    """One table cell as escaped text: local times on one line, tuples joined, blanks."""
    if isinstance(value, tuple):
        return html.escape(", ".join(map(str, value)))
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        local = value.tz_convert(TIMEZONE) if value.tzinfo is not None else value
        return local.strftime("%Y-%m-%d" if dates_only else "%Y-%m-%d %H:%M:%S")
    return html.escape(str(value))


def _names_of(value: Any, names: Mapping[Any, str]) -> Any:
    if isinstance(value, tuple):
        return ", ".join(str(names.get(v, v)) for v in value)
    return names.get(value, value) if not pd.isna(value) else value


def export_contacts(
    frame: pd.DataFrame,
    path: Path | str,
    *,
    caption: Caption | None = None,
    csv_style: str = "plain",
    names: Mapping[str, Mapping[Any, str]] | None = None,
    language: str = "en",
) -> Path:
    """Write contacts (or a breakdown's facts) to `path`: .csv or .xlsx, with a header.

    The one export of the form, the CLI and the API. CSV starts with "# " lines saying
    what the file holds (office, filters, range, fetched time, time zone); `csv_style`
    "excel-sv" is for Excel with Swedish settings: semicolons, UTF-8 with BOM, decimal
    commas, Swedish local times without offsets. "plain" is commas, UTF-8, ISO times with
    offsets. Excel files get local times and the header on a second sheet, "about".
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("csv", "xlsx"):
        raise InvalidQueryError("format", f"unknown export format {fmt!r}", "csv, xlsx")
    if csv_style not in CSV_STYLES:
        raise InvalidQueryError(
            "csv_style", f"{csv_style!r} is not a CSV style", ", ".join(CSV_STYLES)
        )
    local = fmt == "xlsx" or csv_style == "excel-sv"
    table = export_columns(frame, names, local_times=local, language=language)
    lines = [*(caption.lines() if caption is not None else []), _times_line(local, language)]
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        with pd.ExcelWriter(path) as writer:
            table.to_excel(writer, sheet_name="contacts", index=False)
            pd.DataFrame({"about": lines}).to_excel(writer, sheet_name="about", index=False)
        return path.resolve()
    swedish = csv_style == "excel-sv"
    sep = ";" if swedish else ","
    with path.open("w", encoding="utf-8-sig" if swedish else "utf-8", newline="") as handle:
        for line in lines:  # the separator never appears in a header line
            handle.write(HEADER_MARK + line.replace(sep, ",") + "\r\n")
        table.to_csv(
            handle, index=False, sep=sep, decimal="," if swedish else ".", lineterminator="\r\n"
        )
    return path.resolve()


def _times_line(local: bool, language: str = "en") -> str:
    key = "lines.times_local" if local else "lines.times_iso"
    return i18n.text(key, language, tz=TIMEZONE)


def export_frame(frame: pd.DataFrame, folder: Path, fmt: str, office: Any = None) -> Path:
    """Write `frame` as CSV or Excel into `folder` under a timestamped name (plain CSV)."""
    if fmt not in ("csv", "xlsx"):
        raise InvalidQueryError("format", f"unknown export format {fmt!r}", "csv, xlsx")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return export_contacts(frame, Path(folder) / f"contacts-{office or 'all'}-{stamp}.{fmt}")


def download_link(path: Path, language: str = "en") -> str:
    """HTML: the path written, plus a data-URI download anchor when the file is small."""
    shown = f"{i18n.text('saved_to', language)} <code>{html.escape(str(path))}</code>"
    size = path.stat().st_size
    if size > DOWNLOAD_LINK_LIMIT:
        return shown + f" ({i18n.text('too_large', language)})."
    mime = MIME_TYPES.get(path.suffix.lower(), "application/octet-stream")
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'{shown} <a class="vnb-download" download="{html.escape(path.name)}" '
        f'href="data:{mime};base64,{data}" style="{LINK_STYLE}">⬇ '
        f"{i18n.text('download', language)} {html.escape(path.name)}</a>"
    )


MIME_TYPES = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
