"""Matplotlib figures from activity tables: by agent, by lead score, created vs changed, bars.

Every function takes tidy counts (``activity_counts()`` or ``BreakdownResult.activity()``:
``period``, optional dimension columns, ``contacts``) and returns a
``matplotlib.figure.Figure`` built with the object API (``Figure()``), so nothing is
registered with pyplot: nothing shows twice in a notebook and nothing piles up. Display it
(``display(fig)`` or as a cell's last value) or save it (``fig.savefig("x.png")``); never
``plt.show()``.

What the chart is about (measure, period, offices, range, demo data, agent names) comes from
the counts' ``attrs`` when a `BreakdownResult` made them, and can be given as keywords.
Unknown cells (NaN: a call failed) are drawn as hatched "unknown" bars, never as zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import AutoLocator, ScalarFormatter

from vitec_nb import activity, i18n
from vitec_nb.captions import filters_in_words, plan_range
from vitec_nb.chart_layout import LEGEND_GAP, MARGIN_TOP, MarginLayout
from vitec_nb.provenance import provenance_of
from vitec_nb.vocab import DEMO_NOTE, SCHEDULED_ORDER_TYPES, service_label

__all__ = ["bar", "by_agent", "by_lead_score", "created_vs_changed", "stacked"]

FIGSIZE = (10.0, 5.0)
BAR_WIDTH = 0.8
MAX_TICKS = 16
OTHERS_COLOR = "#9e9e9e"
SPECIAL_COLOR = "#cfcfcf"
UNKNOWN_HATCH = "////"
SPECIAL_HATCH = "\\\\"  # a light hatch: sets special values apart; "..." cost ~35 ms a draw
LEAD_SCORE_NAMES = {v: f"{v} " + "★" * v if v else "0 (no stars)" for v in range(6)}
SUBTITLE_ROOM = 0.24  # inches added to the top margin for the line of filters
EMPTY_TEXT = i18n.text("chart.empty")
# dimensions with words of their own in the translation table ("dim.<name>")
_DIMENSIONS = (
    "agent",
    "lead_score",
    "newsletter_list",
    "scheduled_order_type",
    "custom_field",
    "kind",
    "customer_id",
    "office",
)


def lead_score_names(language: str = "en") -> dict[int, str]:
    """Lead scores for legends: "3 ★★★", "0 (no stars)" ("0 (inga stjärnor)")."""
    return {v: f"{v} " + "★" * v if v else i18n.text("lead.none", language) for v in range(6)}


def _dim_words(dimension: str, language: str, *, plural: bool = False) -> str:
    if dimension not in _DIMENSIONS:
        return dimension.replace("_", " ")
    return i18n.text(f"dim.{dimension}{'s' if plural else ''}", language)


def _measure_words(measure: str, language: str) -> str:
    if measure not in ("created", "changed"):
        return measure
    return i18n.text(f"measure_words.{measure}", language)


# ------------------------------------------------------------------------------------ helpers


def _meta(counts: pd.DataFrame, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """What the chart is about: attrs of the counts, overridden by keywords."""
    meta: dict[str, Any] = {
        "measure": "created",
        "period": "M",
        "offices": (),
        "demo": False,
        "names": {},
        "start": None,
        "end": None,
        "query": None,  # the ContactQuery: its filters become the subtitle
        "where": None,  # the offices as shown, e.g. "M30012 Kontor Söder"
        "when": None,  # the range as the analyst wrote it, e.g. "1 Jan – 31 Dec 2025"
        "subtitle": None,  # the filters in words (default: from `query`)
        "language": "en",
        "dpi": None,  # the figure's resolution (None: matplotlib's); the form's is its own
    }
    meta.update({k: v for k, v in provenance_of(counts).attrs().items() if k in meta})
    meta.update({k: v for k, v in overrides.items() if v is not None})
    meta["period"] = activity.normalize_period(meta["period"])
    return meta


def _where(offices: Sequence[str] | str) -> str:
    if isinstance(offices, str):
        return offices
    offices = list(offices)
    if not offices:
        return ""
    if len(offices) > 3:
        return f"{len(offices)} offices"
    return ", ".join(offices)


def _when(periods: Sequence[pd.Timestamp], code: str, language: str = "en") -> str:
    if len(periods) == 0:
        return ""
    first = i18n.period_label(periods[0], code, language, multiline=False)
    last = i18n.period_label(periods[-1], code, language, multiline=False)
    return first if first == last else f"{first} {i18n.text('chart.to', language)} {last}"


def _title(what: str, meta: Mapping[str, Any], periods: Sequence[pd.Timestamp]) -> str:
    when = meta["when"]
    if not when and meta["start"] is not None and meta["end"] is not None:
        when = plan_range(meta["start"], meta["end"], meta["language"])
    fallback = _when(periods, meta["period"], meta["language"])
    parts = [what, meta["where"] or _where(meta["offices"]), when or fallback]
    return " — ".join(p for p in parts if p)


def _subtitle(meta: Mapping[str, Any]) -> str:
    """The active filters in words: given, or read from the query; "" for none."""
    if meta["subtitle"] is not None:
        return str(meta["subtitle"])
    if meta["query"] is None:
        return ""
    language = meta["language"]
    words = filters_in_words(meta["query"], meta["names"], language=language)
    return i18n.text("summary.filters", language) + ": " + "; ".join(words) if words else ""


def _new_figure(
    meta: Mapping[str, Any], title: str, top: float = MARGIN_TOP, reuse: Figure | None = None
) -> tuple[Figure, Axes]:
    """The figure and its axes, titled: `reuse` emptied when it is a chart of this module's
    (see `_emptied`), else a new one."""
    subtitle = _subtitle(meta)
    if subtitle:
        top += SUBTITLE_ROOM
    emptied = _emptied(reuse, meta.get("dpi")) if reuse is not None else None
    if emptied is not None:
        fig, ax = emptied
        fig.set_layout_engine(MarginLayout(top=top))
    else:
        fig = Figure(figsize=FIGSIZE, dpi=meta.get("dpi"), layout=MarginLayout(top=top))
        ax = fig.add_subplot()
    fig.suptitle(title, fontsize=12)
    if subtitle:
        y = 1 - (MARGIN_TOP + 0.04) / FIGSIZE[1]
        fig.text(0.5, y, subtitle, fontsize=9, color="#444444", ha="center", va="top")
    if meta.get("demo"):
        language = meta.get("language", "en")
        note = DEMO_NOTE if language == "en" else i18n.text("chart.demo", language)
        # bottom right, under the legend: clear of the axis label, whatever its language
        fig.text(0.995, 0.005, note, fontsize=8, color="#b00020", ha="right", va="bottom")
    return fig, ax


def _emptied(fig: Figure, dpi: float | None) -> tuple[Figure, Axes] | None:
    """A stacked chart drawn before, emptied to be drawn again (None: not one of ours).

    Building the axes, their ticks and spines is about a third of making a chart; the form
    draws a new one on every run, so it hands its last figure back (`figure=`). What the
    charts add is removed (bars, lines, notes, legends, titles) and what they set is reset
    (limits, the count axis' locator), so the chart is drawn as on a new figure.
    """
    if not isinstance(fig.get_layout_engine(), MarginLayout) or len(fig.axes) != 1:
        return None
    ax = fig.axes[0]
    legend = ax.get_legend()
    if legend is not None:
        legend.remove()
    for container in list(ax.containers):  # the hatched "unknown" bars
        container.remove()
    for artist in [*ax.collections, *ax.patches, *ax.lines, *ax.texts, *ax.artists]:
        artist.remove()
    for artist in list(fig.texts):
        artist.remove()
    for loc in ("left", "center", "right"):
        ax.set_title("", loc=loc)
    ax.relim()  # no data left: the limits start again from the new bars
    ax.set_autoscaley_on(True)  # the earlier range's line may have fixed the top
    ax.yaxis.set_major_locator(AutoLocator())
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.set_axis_on()  # an empty chart turned it off
    if dpi is not None and dpi != fig.dpi:
        fig.set_dpi(dpi)
    return fig, ax


def partial_periods(periods: Sequence[pd.Timestamp], code: str, start: Any, end: Any) -> set[int]:
    """Positions of the first and last periods the range [start, end) covers only in part."""
    if not len(periods) or start is None or end is None:
        return set()
    out = set()
    if periods[0] < pd.Timestamp(start):
        out.add(0)
    if activity.next_period_start(periods[-1] + pd.Timedelta(1, "ns"), code) > pd.Timestamp(end):
        out.add(len(periods) - 1)
    return out


def _period_axis(
    ax: Axes, periods: Sequence[pd.Timestamp], code: str, meta: Mapping[str, Any] | None = None
) -> None:
    n = len(periods)
    step = max(1, math.ceil(n / MAX_TICKS))
    ticks = sorted(set(range(0, n, step)) | ({n - 1} if n else set()))
    if len(ticks) > 1 and ticks[-1] - ticks[-2] < step:
        ticks.pop(-2)  # the last period always gets its label
    meta = meta or {}
    language = meta.get("language", "en")
    partial = partial_periods(periods, code, meta.get("start"), meta.get("end"))
    labels = [
        i18n.period_label(periods[i], code, language) + ("*" if i in partial else "") for i in ticks
    ]
    ax.set_xticks(ticks, labels, fontsize=8)
    ax.set_xlim(-0.6, n - 0.4)
    noun = i18n.period_noun(code, language)
    label = i18n.text("chart.axis_period", language, Period=noun.capitalize())
    if partial:
        label += "  · " + i18n.text("chart.partial", language, period=noun)
    ax.set_xlabel(label)


def _is_empty(counts: pd.DataFrame) -> bool:
    """No contact at all and nothing unknown: there is nothing to draw."""
    values = counts["contacts"] if "contacts" in counts else pd.Series(dtype=float)
    return bool(values.fillna(0).sum() == 0 and not values.isna().any())


def _draw_empty(ax: Axes, language: str = "en") -> None:
    ax.set_axis_off()
    empty = i18n.text("chart.empty", language)
    ax.text(0.5, 0.5, empty, ha="center", va="center", fontsize=13, transform=ax.transAxes)


def _count_axis(ax: Axes, measure: str, language: str = "en") -> None:
    words = _measure_words(measure, language)
    ax.set_ylabel(i18n.text("chart.axis_count", language, measure=words))
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.margins(y=0.06)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)


def _legend(ax: Axes, title: str | None, handles: list[Any] | None = None) -> None:
    kwargs: dict[str, Any] = {
        "loc": "upper left",
        "bbox_to_anchor": (1 + LEGEND_GAP, 1.0),
        "frameon": False,
        "fontsize": 8,
        "title": title,
        "title_fontsize": 9,
    }
    if handles is not None:
        kwargs["handles"] = handles
    ax.legend(**kwargs)


def _periods(counts: pd.DataFrame) -> list[pd.Timestamp]:
    return list(pd.unique(counts["period"]))


def _matrix(counts: pd.DataFrame, dimension: str | None) -> pd.DataFrame:
    """Periods down, values across; NaN (unknown) stays NaN."""
    periods = _periods(counts)
    if dimension is None:
        table = counts.groupby("period", sort=False)["contacts"].sum(min_count=1)
        unknown = counts["contacts"].isna().groupby(counts["period"], sort=False).any()
        table = table.mask(unknown.reindex(table.index).to_numpy())
        return table.reindex(periods).to_frame("contacts")
    return activity.wide(counts, dimension).reindex(periods)


def _draw_stack(
    ax: Axes,
    table: pd.DataFrame,
    labels: Sequence[str],
    colors: Sequence[Any],
    hatches: Sequence[str | None] | None = None,
    language: str = "en",
) -> list[Any]:
    """Stacked bars, one segment per column; periods with an unknown cell are hatched.

    Each column is one `PolyCollection` of rectangles rather than `ax.bar`'s one patch per
    bar: the same picture, about three times faster to build and draw (the form redraws
    on every run; docs/benchmarks.md). `bar_segments()` reads the heights back.
    """
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    handles: list[Any] = []
    values = table.to_numpy(dtype=float)
    unknown_rows = np.isnan(values).any(axis=1)
    left, right = x - BAR_WIDTH / 2, x + BAR_WIDTH / 2
    for j, (label, color) in enumerate(zip(labels, colors, strict=True)):
        heights = np.nan_to_num(values[:, j])
        hatch = hatches[j] if hatches else None
        top = bottom + heights
        corners = [(left, bottom), (left, top), (right, top), (right, bottom)]
        verts = np.stack([np.column_stack(c) for c in corners], axis=1)
        style = {"edgecolor": "white", "linewidth": 0.4, "hatch": hatch, "label": label}
        segments = PolyCollection(verts, facecolor=color, **style)
        segments.sticky_edges.y.append(0)  # like bars: no margin below zero
        # limits once for all columns below: each autolim re-scaled the view (~5 ms a chart)
        ax.add_collection(segments, autolim=False)
        handles.append(Patch(facecolor=color, **style))
        bottom = top
    if len(table):
        ax.update_datalim([(left[0], 0.0), (right[-1], float(bottom.max()))])
    ax.autoscale_view()
    if unknown_rows.any():
        top = max(float(bottom.max()), 1.0)
        for i in np.flatnonzero(unknown_rows):
            ax.bar(
                i,
                top * 1.05 - bottom[i],
                BAR_WIDTH,
                bottom=bottom[i],
                color="none",
                edgecolor="#555555",
                hatch=UNKNOWN_HATCH,
                linewidth=0.6,
            )
            ax.annotate("?", (i, top * 1.05), ha="center", va="bottom", fontsize=9)
        handles.append(
            Patch(
                facecolor="none",
                edgecolor="#555555",
                hatch=UNKNOWN_HATCH,
                label=i18n.text("chart.unknown", language),
            )
        )
    return handles


def bar_segments(ax: Axes) -> np.ndarray:
    """Heights of the stacked segments `stacked()` drew on `ax` (for checks and tests)."""
    heights = [
        path.vertices[1, 1] - path.vertices[0, 1]
        for collection in ax.collections
        if isinstance(collection, PolyCollection)
        for path in collection.get_paths()
    ]
    return np.array(heights, dtype=float)


def _qualitative(n: int) -> list[Any]:
    """`n` distinct colours without greys (grey means "others" and special values)."""
    if n <= 9:
        base = colormaps["tab10"]
        return [base(i) for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)[:n]]
    base = colormaps["tab20"]
    picks = [i for i in range(20) if i not in (14, 15)]
    return [base(picks[i % len(picks)]) for i in range(n)]


def _display_name(value: Any, names: Mapping[Any, str], taken: set[str]) -> str:
    name = names.get(value)
    text = name or str(value)
    if text in taken and name:
        text = f"{name} ({value})"
    taken.add(text)
    return text


def _names(info: Mapping[str, Any], dimension: str, values: Any = ()) -> Mapping[Any, str]:
    """Display names of a dimension's values; services always in words (vocab)."""
    names = dict(info["names"].get(dimension, {}))
    if dimension == "scheduled_order_type":
        numbers = [v for v in [*names, *values] if isinstance(v, (int, np.integer))]
        for number in {*numbers, *SCHEDULED_ORDER_TYPES}:
            names[number] = service_label(int(number), info["language"])
    return names


def _is_special(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("(")


# -------------------------------------------------------------------------------------- charts


def _draw_by(
    ax: Axes,
    table: pd.DataFrame,
    names: Mapping[Any, str],
    top: int | None,
    cmap: str | None,
    dimension: str,
    language: str = "en",
    keep: Sequence[Any] | None = None,
) -> list[Any]:
    """Stacked segments per value: the `top` by volume (or the values in `keep`), "others",
    special values last."""
    table = table.loc[:, (table.fillna(0).sum() > 0) | table.isna().any()]
    regular = [c for c in table.columns if not _is_special(c)]
    special = [c for c in table.columns if _is_special(c)]
    volume = table[regular].sum().sort_values(ascending=False, kind="stable")
    picked = [v for v in volume.index if v in set(keep or ())]
    # An "others" group of one would hide a name for nothing: show it instead.
    if (keep and len(picked) < len(regular)) or (
        not keep and top is not None and len(regular) > top + 1
    ):
        keep = picked if keep else list(volume.index[:top])
        rest = [v for v in volume.index if v not in set(keep)]
        others = table[rest].sum(axis=1, min_count=1).mask(table[rest].isna().any(axis=1))
        plural = _dim_words(dimension, language, plural=True)
        label = i18n.text("chart.others", language, n=len(rest), dimensions=plural)
        table = pd.concat([table[keep], others.rename(label), table[special]], axis=1)
        regular, extra = keep, [label]
    else:
        table = table[regular + special]  # the order colours and hatches assume
        extra = []
    taken: set[str] = set()
    labels = [_display_name(v, names, taken) for v in regular] + extra
    labels += [i18n.special_value(v, language) for v in special]
    if cmap:
        palette = colormaps[cmap](np.linspace(0.15, 0.95, max(len(regular), 1)))
    else:
        palette = _qualitative(len(regular))
    colors = [*palette[: len(regular)], *[OTHERS_COLOR] * len(extra)]
    colors += [SPECIAL_COLOR] * len(special)
    hatches = [None] * (len(regular) + len(extra)) + [SPECIAL_HATCH] * len(special)
    handles = _draw_stack(ax, table, labels, colors, hatches, language)
    _legend(ax, _dim_words(dimension, language).capitalize(), handles[::-1])
    return handles


def stacked(
    counts: pd.DataFrame,
    dimension: str | None = None,
    *,
    top: int | None = 10,
    names: Mapping[Any, str] | None = None,
    cmap: str | None = None,
    title: str | None = None,
    keep: Sequence[Any] | None = None,
    figure: Figure | None = None,
    **meta: Any,
) -> Figure:
    """Contacts per period as stacked bars, one colour per value of `dimension`.

    Args:
        counts: tidy counts with ``period``, `dimension` (if any) and ``contacts``.
        dimension: the column to stack by, or None for one bar per period.
        top: keep the `top` values by volume and sum the rest as "others" (special values
            like "(no agent)" are always kept); None keeps every value.
        names: display names for values (agent id -> name); ids are the fallback.
        cmap: a sequential colormap name (ordered values), default a qualitative palette.
        title: overrides the generated title.
        keep: show these values by name (in volume order) and sum every other as "others"
            (the analyst's pick; `top` is then not used). Empty or None: `top` decides.
        figure: a chart this function drew before, emptied and drawn into (the form's
            redraws: cheaper than a new figure); anything else is left alone.
        measure, period, offices, demo: what the chart is about (default: counts.attrs);
            dpi: the figure's resolution (default: matplotlib's).
    """
    info = _meta(counts, meta)
    code, language = info["period"], info["language"]
    periods = _periods(counts)
    words = {
        "measure": _measure_words(info["measure"], language),
        "period": i18n.period_noun(code, language),
        "dimension": _dim_words(dimension or "", language),
    }
    what = i18n.text("chart.what_by" if dimension else "chart.what", language, **words)
    fig, ax = _new_figure(info, title or _title(what, info, periods), reuse=figure)
    if _is_empty(counts):
        _draw_empty(ax, language)
        return fig
    table = _matrix(counts, dimension)
    if dimension is None:
        total = [i18n.text("chart.contacts", language)]
        _draw_stack(ax, table, total, ["#3b75af"], None, language)
        handles = None
    else:
        names = names if names is not None else _names(info, dimension, table.columns)
        handles = _draw_by(ax, table, names, top, cmap, dimension, language, keep)
    _period_axis(ax, periods, code, info)
    _count_axis(ax, info["measure"], language)
    if handles is None and table.isna().to_numpy().any():
        _legend(ax, None)
    return fig


def by_agent(counts: pd.DataFrame, *, top: int = 8, **kw: Any) -> Figure:
    """Activity over time by agent: the `top` agents by volume, the rest as "others".

    Agent names come from the users lookup (``counts.attrs["names"]["agent"]`` or
    ``names=``); an agent without a name is shown by id. "(no agent)" is its own segment.
    """
    return stacked(counts, "agent", top=top, **kw)


def by_lead_score(counts: pd.DataFrame, **kw: Any) -> Figure:
    """Activity over time by lead score, ordered 0–5 with a sequential colormap (viridis)."""
    kw.setdefault("cmap", "viridis")
    kw.setdefault("top", None)
    kw.setdefault("names", lead_score_names(kw.get("language") or "en"))
    return stacked(counts, "lead_score", **kw)


def created_vs_changed(
    created: pd.DataFrame, changed: pd.DataFrame, *, title: str | None = None, **meta: Any
) -> Figure:
    """Contacts created and contacts last changed per period, side by side.

    `created` and `changed` are counts without dimensions over the same periods (e.g.
    ``result.activity("created", by=())`` and ``result.activity("changed", by=())``).
    ``changed_at`` is each contact's LAST change, so "changed" counts contacts by the period
    of their latest change, not every change.
    """
    info = _meta(created, meta)
    code, language = info["period"], info["language"]
    a = _matrix(created, None)["contacts"]
    b = _matrix(changed, None)["contacts"]
    periods = sorted(set(a.index) | set(b.index))
    a, b = a.reindex(periods), b.reindex(periods)
    noun = i18n.period_noun(code, language)
    what = i18n.text("chart.created_vs_changed", language, period=noun)
    subtitle = info["measure"] == "created"  # a line under the title, see below
    top = MARGIN_TOP + (0.2 if subtitle else 0.0)
    fig, ax = _new_figure(info, title or _title(what, info, periods), top=top)
    x = np.arange(len(periods))
    width = 0.4
    handles = []
    for series, offset, color, label in (
        (a, -width / 2, "#3b75af", _measure_words("created", language)),
        (b, width / 2, "#ef8636", _measure_words("changed", language)),
    ):
        values = series.to_numpy(dtype=float)
        handles.append(ax.bar(x + offset, np.nan_to_num(values), width, color=color, label=label))
        for i in np.flatnonzero(np.isnan(values)):
            ax.annotate("?", (i + offset, 0), ha="center", va="bottom", fontsize=9)
    _period_axis(ax, periods, code, info)
    ax.set_ylabel(i18n.text("chart.axis_contacts", language))
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    _legend(ax, None, handles)
    if subtitle:
        ax.set_title(
            i18n.text("chart.last_changed_note", language),
            fontsize=9,
            loc="left",
            color="#444444",
        )
    return fig


def bar(
    counts: pd.DataFrame,
    dimension: str,
    *,
    names: Mapping[Any, str] | None = None,
    top: int | None = 25,
    title: str | None = None,
    **meta: Any,
) -> Figure:
    """Total contacts per value of one dimension over the whole range (horizontal bars).

    Values keep their order for lead score (0–5) and are sorted by volume otherwise.
    """
    info = _meta(counts, meta)
    language = info["language"]
    periods = _periods(counts)
    names = names if names is not None else _names(info, dimension, counts[dimension].unique())
    if dimension == "lead_score" and not names:
        names = lead_score_names(language)
    grouped = counts.groupby(dimension, observed=True, sort=False)["contacts"]
    totals = grouped.sum(min_count=1).mask(grouped.apply(lambda s: s.isna().any()))
    if dimension != "lead_score":
        totals = totals.sort_values(ascending=False, kind="stable")
    dim_words = _dim_words(dimension, language)
    measure = _measure_words(info["measure"], language)
    what = i18n.text("chart.total_by", language, measure=measure, dimension=dim_words)
    if top is not None and len(totals) > top:
        what += " " + i18n.text("chart.top_of", language, top=top, n=len(totals))
        totals = totals.iloc[:top]
    fig, ax = _new_figure(info, title or _title(what, info, periods))
    taken: set[str] = set()
    labels = [_display_name(v, names, taken) for v in totals.index]
    y = np.arange(len(totals))[::-1]
    values = totals.to_numpy(dtype=float)
    colors = [SPECIAL_COLOR if _is_special(v) else "#3b75af" for v in totals.index]
    ax.barh(y, np.nan_to_num(values), 0.7, color=colors)
    for yi, v in zip(y, values, strict=True):
        ax.annotate(
            i18n.text("chart.unknown_value", language) if np.isnan(v) else i18n.number(v, language),
            (0 if np.isnan(v) else v, yi),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel(i18n.text("chart.axis_count", language, measure=measure))
    ax.set_ylabel(dim_words.capitalize())
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    return fig
