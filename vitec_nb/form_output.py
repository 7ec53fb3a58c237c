"""What the contact form shows and writes: the chart as PNG, summary, first rows, exports."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from vitec_nb.errors import InvalidQueryError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "download_link",
    "export_frame",
    "figure_image",
    "png_bytes",
    "summarize",
    "summary_html",
]

KINDS: list[tuple[str, str]] = [
    ("person", "persons"),
    ("company", "companies"),
    ("deceased_estate", "deceased estates"),
]
TABLE_ROWS = 10
MIDNIGHT = dt.time(0)
CHART_WIDTH = 840  # pixels on screen: the form's width less the output area's padding
CHART_DPI = 100  # 10-inch charts become 1000 px, shown at 840: crisp, and a small PNG
DOWNLOAD_LINK_LIMIT = 20_000_000  # bytes; bigger exports are only written to the folder


def figure_image(fig: Figure, width: int = CHART_WIDTH) -> Any:
    """The figure as a PNG `IPython.display.Image`, `width` pixels wide on screen.

    Rendered here rather than left to a display formatter: charts are built with the
    object API (`Figure()`), for which no front end has a formatter unless pyplot's inline
    backend was activated, and then JupyterLab, Voila and nbclient would each show
    something else. A PNG is the same everywhere.
    """
    from IPython.display import Image

    return Image(data=png_bytes(fig), format="png", width=width)


def png_bytes(fig: Figure, dpi: int = CHART_DPI) -> bytes:
    """The figure rendered to PNG in a single draw.

    `savefig` draws a constrained-layout figure twice (a layout pass, then the picture);
    drawing the Agg canvas once lays out and paints in the same pass: the same pixels,
    about a fifth less time per form run (docs/benchmarks.md, benchmark 6). Figures with
    a canvas of their own (pyplot's) keep `savefig`.
    """
    from matplotlib.backend_bases import FigureCanvasBase
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    if type(fig.canvas) not in (FigureCanvasBase, FigureCanvasAgg):
        fig.savefig(buffer, format="png", dpi=dpi)
        return buffer.getvalue()
    import numpy as np
    from PIL import Image as PILImage

    original = fig.dpi
    fig.set_dpi(dpi)
    try:
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        pixels = np.asarray(canvas.buffer_rgba())
    finally:
        fig.set_dpi(original)
    PILImage.fromarray(pixels).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def summarize(result: Any, client: Any, office: Any) -> dict[str, Any]:
    """The numbers of the summary line: counts per kind, calls, cache, fetch time, source."""
    facts = result.facts
    counts = facts["kind"].value_counts()
    summary: dict[str, Any] = {k: int(counts.get(k, 0)) for k, _ in KINDS}
    plan = result.plan
    summary.update(
        total=len(facts),
        calls=int(result.calls),
        cached=int(result.cached_calls),
        planned=int(plan.n_calls),
        # the oldest answer's fetch time: a cached answer keeps the time it was fetched
        fetched_at=getattr(result, "fetched_at", None) or facts.attrs.get("fetched_at"),
        demo=bool(getattr(result, "demo", False) or getattr(client, "is_demo", False)),
        office=office,
        start=plan.start,
        end=plan.end,
        measure=plan.measure,
        warnings=list(getattr(result, "warnings", [])),
    )
    return summary


def summary_html(s: dict[str, Any]) -> str:
    """The summary as HTML; numbers sit in spans with class vnb-count for tests to read."""
    kinds = ", ".join(f"{_count(s[k], k)} {label}" for k, label in KINDS)
    source = (
        '<b style="color:#c77c02">DEMO DATA</b>'
        if s["demo"]
        else '<b style="color:#3c763d">live data</b>'
    )
    last_day = s["end"] - pd.Timedelta(microseconds=1)
    span = f"{s['measure']} {_local(s['start'])[:10]} to {_local(last_day)[:10]}"
    fetched = _local(s["fetched_at"])
    warnings = "".join(
        f'<br><span style="color:#b94a48">⚠ {html.escape(w)}</span>' for w in s["warnings"]
    )
    return (
        '<div style="padding:4px 2px;line-height:1.6">'
        f"<b>{_count(s['total'], 'total')} contacts</b> {html.escape(span)}: {kinds}<br>"
        f"Office {html.escape(str(s['office']))} · {source} · "
        f'<span class="vnb-calls">{s["calls"]}</span> calls made, '
        f'<span class="vnb-cached">{s["cached"]}</span> answered from the cache'
        + (
            f" · {'oldest answer ' if s['cached'] else ''}fetched {fetched} (Swedish time)"
            if fetched
            else ""
        )
        + warnings
        + "</div>"
    )


def _table(frame: pd.DataFrame) -> Any:
    """The first rows as an HTML table (times in Swedish local time, blanks for missing).

    Written out directly: `DataFrame.to_html` and the per-column `strftime` took ~14 ms of
    each form run for ten rows (docs/benchmarks.md, benchmark 6); this takes well under one.
    The markup is pandas' (`class="dataframe"`), so front ends style it the same way.
    """
    from IPython.display import HTML

    head = frame.head(TABLE_ROWS)
    head.attrs = {}  # pandas deep-copies attrs on every column access
    columns = [_cell_texts(head[col]) for col in head.columns]
    header = "".join(f"<th>{html.escape(str(col))}</th>" for col in head.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{cells[i]}</td>" for cells in columns) + "</tr>"
        for i in range(len(head))
    )
    return HTML(
        f"<p>First {len(head)} of {len(frame)} rows.</p>"
        '<table border="1" class="dataframe"><thead><tr style="text-align: right;">'
        f"{header}</tr></thead><tbody>{rows}</tbody></table>"
    )


def _cell_texts(column: pd.Series) -> list[str]:
    """A column's values as escaped text; dates without a time of day show the date only."""
    values = column.tolist()
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        known = [v for v in values if not pd.isna(v)]
        dates_only = all(v.time() == MIDNIGHT and not v.nanosecond for v in known)
        fmt = "%Y-%m-%d" if dates_only else "%Y-%m-%d %H:%M:%S"
        return ["" if pd.isna(v) else v.strftime(fmt) for v in values]
    return ["" if pd.isna(v) else html.escape(str(v)) for v in values]


def export_frame(frame: pd.DataFrame, folder: Path, fmt: str, office: Any = None) -> Path:
    """Write `frame` as CSV or Excel into `folder`; Excel gets naive Swedish local times."""
    if fmt not in ("csv", "xlsx"):
        raise InvalidQueryError("format", f"unknown export format {fmt!r}", "csv, xlsx")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"contacts-{office or 'all'}-{stamp}.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:  # Excel has no time zones: write Swedish wall-clock time
        out = frame.copy()
        for col in out.columns:
            if isinstance(out[col].dtype, pd.DatetimeTZDtype):
                out[col] = out[col].dt.tz_localize(None)
            elif isinstance(out[col].dtype, pd.PeriodDtype):
                out[col] = out[col].astype(str)
        out.to_excel(path, index=False)
    return path.resolve()


def download_link(path: Path) -> str:
    """HTML: the path written, plus a data-URI download anchor when the file is small."""
    shown = f"Saved to <code>{html.escape(str(path))}</code>"
    size = path.stat().st_size
    if size > DOWNLOAD_LINK_LIMIT:
        return shown + " (too large for a download link)."
    mime = (
        "text/csv"
        if path.suffix == ".csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'{shown} · <a download="{html.escape(path.name)}" href="data:{mime};base64,{data}">'
        f"download {html.escape(path.name)}</a>"
    )


def _local(ts: Any) -> str:
    """A timestamp as Swedish local time, minutes precision ('' when unknown)."""
    if ts is None or ts is pd.NaT:
        return ""
    ts = pd.Timestamp(ts)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("Europe/Stockholm")
    return ts.strftime("%Y-%m-%d %H:%M")


def _count(n: int, kind: str) -> str:
    return f'<span class="vnb-count" data-kind="{kind}">{n}</span>'
