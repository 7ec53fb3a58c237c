"""This period against the last: the earlier range of a breakdown, run and set side by side."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from vitec_nb import activity, vocab
from vitec_nb.errors import InvalidQueryError
from vitec_nb.plan.values import MEASURES, BreakdownPlan
from vitec_nb.provenance import provenance_of, set_provenance

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "COMPARE",
    "check_compare",
    "comparison_frame",
    "comparison_sentence",
    "draw_previous",
    "earlier_range",
    "run_compared",
]

COMPARE = {
    "previous": "the range just before, as many periods long",
    "year": "the same range a year earlier",
}
_ALLOWED = "'previous' (the range just before, same length) or 'year' (a year earlier)"
_PLURAL = vocab.PERIOD_PLURALS
_EARLIER_COLOR = "#8c8c8c"


def check_compare(value: Any) -> str:
    """'previous' or 'year' (any case); anything else is an error naming the choices."""
    if isinstance(value, str) and value.strip().lower() in COMPARE:
        return value.strip().lower()
    raise InvalidQueryError("compare", f"{value!r} is not a comparison", _ALLOWED)


def _check_bounds(query: Any, measure: Any) -> None:
    """The range must be the options' own: a query bounding it leaves no earlier range."""
    if measure not in MEASURES:
        return  # planning names the bad measure
    names = (
        ("created_from", "created_to") if measure == "created" else ("changed_from", "changed_to")
    )
    bound = [n for n in names if getattr(query, n, None) is not None]
    if bound:
        raise InvalidQueryError(
            "compare",
            f"the query's own {' and '.join(bound)} bound the range, so an earlier range "
            "would fall outside it",
            "the range given as start= and end= of the breakdown, not as filters",
        )


def _shift(ts: pd.Timestamp, offset: pd.DateOffset) -> pd.Timestamp:
    """`ts` moved by `offset` on the Stockholm wall clock (midnight stays midnight)."""
    local = ts.tz_convert(activity.TIMEZONE).tz_localize(None) + offset
    return local.tz_localize(activity.TIMEZONE, ambiguous=True, nonexistent="shift_forward")


def _offset(plan: BreakdownPlan, how: str) -> pd.DateOffset:
    if how == "year":  # weeks: 52 weeks back, so that weeks start on Mondays again
        return pd.DateOffset(weeks=-52) if plan.period == "W" else pd.DateOffset(years=-1)
    n = len(plan.periods)
    code = plan.period
    if code == "D":
        return pd.DateOffset(days=-n)
    if code == "W":
        return pd.DateOffset(weeks=-n)
    months = {"M": 1, "Q": 3, "Y": 12}[code]
    return pd.DateOffset(months=-n * months)


def earlier_range(plan: BreakdownPlan, how: str) -> tuple[pd.Timestamp, Any]:
    """(start, end) options of the earlier range: an end at midnight as the date before
    it (the whole day included), else the instant (included)."""
    offset = _offset(plan, check_compare(how))
    start = _shift(plan.start, offset)
    stop = _shift(plan.stop, offset)
    local = stop.tz_convert(activity.TIMEZONE).tz_localize(None)
    if local == local.normalize():
        return start, (local - pd.Timedelta(days=1)).date()
    return start, stop - pd.Timedelta(1, "ns")


def run_compared(
    client: Any,
    query: Any,
    by: str | Iterable[str] | None,
    how: Any,
    options: Mapping[str, Any],
    *,
    prepare: Callable[..., tuple[BreakdownPlan, Any]],
    run_plan: Callable[..., Any],
) -> Any:
    """The breakdown of `query` with `previous` set to the same breakdown of the earlier
    range. Both plans are made before either runs; overlapping answers come from the cache.
    `prepare` and `run_plan` are plan/prepare.py's and plan/execution.py's (passed in: this
    module sits below them)."""
    how = check_compare(how)
    if isinstance(query, BreakdownPlan):
        raise InvalidQueryError(
            "compare",
            "needs the query, not a plan made already",
            "client.breakdown(query, ..., compare='year')",
        )
    _check_bounds(query, options.get("measure", "created"))
    plan, run = prepare(client, query, by, **options)
    start, end = earlier_range(plan, how)
    earlier_plan, _ = prepare(client, query, by, **{**options, "start": start, "end": end})
    current = run_plan(client, plan, run)
    earlier = run_plan(client, earlier_plan, run)
    return dataclasses.replace(current, previous=earlier, compare=how)


# --- side by side ----------------------------------------------------------------------------


def _period_map(result: Any) -> dict[pd.Timestamp, pd.Timestamp]:
    """Earlier period start -> the current period at the same position."""
    return dict(zip(result.previous.plan.periods, result.plan.periods, strict=False))


def comparison_frame(result: Any, by: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Contacts per period (and value of `by`, default the plan's) now and in the earlier
    range: period, previous_period, values, current, previous, change, change_pct (%)."""
    earlier = result.previous
    dims = list(result.plan.by if by is None else ((by,) if isinstance(by, str) else by))
    now = result.counts if by is None else result.activity(by=dims)
    then = earlier.counts if by is None else earlier.activity(by=dims)
    mapping = _period_map(result)
    back = {v: k for k, v in mapping.items()}
    then = then[then["period"].isin(list(mapping))].copy()
    then["period"] = then["period"].map(mapping).astype(now["period"].dtype)
    keys = ["period", *dims]
    left = _plain(now, dims).rename(columns={"contacts": "current"})
    right = _plain(then, dims).rename(columns={"contacts": "previous"})
    out = left.merge(right, on=keys, how="outer", indicator=True)
    out.loc[out["_merge"] == "right_only", "current"] = 0.0
    out.loc[out["_merge"] == "left_only", "previous"] = 0.0
    out.loc[~out["period"].isin(list(back)), "previous"] = np.nan
    out = out.drop(columns="_merge")
    out["current"] = out["current"].astype("float64")
    out["previous"] = out["previous"].astype("float64")
    out["change"] = out["current"] - out["previous"]
    base = out["previous"].where(out["previous"] > 0)
    out["change_pct"] = out["change"] / base * 100
    out.insert(1, "previous_period", out["period"].map(back).astype(now["period"].dtype))
    for name in dims:
        out[name] = pd.Categorical(out[name], categories=_order(now, then, name))
    out = out.sort_values(keys, kind="stable").reset_index(drop=True)
    return set_provenance(out, provenance_of(now).noted(compare=result.compare, counts="contacts"))


def _plain(counts: pd.DataFrame, dims: list[str]) -> pd.DataFrame:
    out = counts[["period", *dims, "contacts"]].copy()
    for name in dims:
        out[name] = out[name].astype(object)
    return out


def _order(now: pd.DataFrame, then: pd.DataFrame, name: str) -> list[Any]:
    values = [*pd.unique(now[name].astype(object)), *pd.unique(then[name].astype(object))]
    return list(dict.fromkeys(values))


def _range_words(plan: BreakdownPlan) -> str:
    periods = plan.periods
    first = activity.period_label(periods[0], plan.period, multiline=False)
    last = activity.period_label(periods[-1], plan.period, multiline=False)
    return first if first == last else f"{first} – {last}"


def _years(plan: BreakdownPlan) -> str:
    first = plan.start.tz_convert(activity.TIMEZONE).year
    last = (plan.stop - pd.Timedelta(1, "ns")).tz_convert(activity.TIMEZONE).year
    return str(first) if first == last else f"{first}–{last}"


def _pct(change: float) -> str:
    text = f"{change:+.0f} %"
    return "±0 %" if text in ("+0 %", "-0 %") else text


def comparison_sentence(result: Any) -> str:
    """ "+12 % on the same months of 2024: 1,234 contacts created in Jan 2025 – Dec 2025,
    against 1,102 in Jan 2024 – Dec 2024." (contacts of the base set in each range)."""
    earlier = result.previous
    plan = result.plan
    nouns = _PLURAL[activity.period_name(plan.period)]
    if result.compare == "year":
        against = f"the same {nouns} of {_years(earlier.plan)}"
    else:
        against = f"the previous {len(plan.periods)} {nouns}"
    now, then = len(result.facts), len(earlier.facts)
    counts = (
        f"{now:,} contacts {plan.measure} in {_range_words(plan)}, "
        f"against {then:,} in {_range_words(earlier.plan)}"
    )
    if then == 0:
        text = f"No contacts {plan.measure} in {against} to compare with: {counts}."
    else:
        text = f"{_pct((now - then) / then * 100)} on {against}: {counts}."
    if not (result.is_complete and earlier.is_complete):
        text += " Some calls failed: the counts are incomplete."
    return text


def draw_previous(fig: Figure, result: Any) -> Figure:
    """The earlier range's contacts per period on a chart of the current counts: a lighter,
    dashed line over the bars, its own legend entry."""
    ax = fig.axes[0]
    earlier = result.previous.activity(by=())
    totals = earlier.set_index("period")["contacts"].astype("float64")
    values = [totals.get(p, np.nan) for p in result.previous.plan.periods]
    n = len(result.plan.periods)
    values = (values + [np.nan] * n)[:n]
    legend = ax.get_legend()
    label = f"{_range_words(result.previous.plan)} (earlier): all contacts {result.plan.measure}"
    then = len(result.previous.facts)
    if then:
        label += f"; now {_pct((len(result.facts) - then) / then * 100)}"
    (line,) = ax.plot(
        range(n), values, color=_EARLIER_COLOR, alpha=0.8, linestyle="--", marker="o",
        markersize=3, linewidth=1.5, label=label, zorder=5,
    )  # fmt: skip
    ax.legend(handles=[line], loc="upper left", fontsize=8, frameon=False)
    if legend is not None:
        ax.add_artist(legend)
    top = np.nanmax([*values, 0.0])
    if top * 1.08 > ax.get_ylim()[1]:
        ax.set_ylim(top=top * 1.08)
    return fig
