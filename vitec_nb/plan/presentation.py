"""How a breakdown's result is shown: its charts, its summary in words, what a chart is about."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from vitec_nb import activity, vocab
from vitec_nb.errors import InvalidQueryError
from vitec_nb.plan import compare as compare_mod
from vitec_nb.plan.values import DIMENSIONS, BreakdownPlan, _fmt, empty_labels

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["chart_notes", "counts_by", "plot", "summary_text"]


def plot(result: Any, kind: str = "auto", **kwargs: Any) -> Figure:
    """`BreakdownResult.plot()`: the chart, with the earlier range's line under ``compare=``."""
    fig = _plot(result, kind, **kwargs)
    if result.previous is not None and kind not in ("created_vs_changed", "bar"):
        compare_mod.draw_previous(fig, result)
    return fig


def counts_by(result: Any, by: str) -> pd.DataFrame:
    """`result.activity(by=by)`: the counts already made when `by` is the plan's one dimension."""
    counts: pd.DataFrame = result.counts if result.plan.by == (by,) else result.activity(by=by)
    return counts


def _plot(result: Any, kind: str, **kwargs: Any) -> Figure:
    from vitec_nb import charts

    dims = result.plan.by
    if kind == "auto":
        kind = dims[0] if dims else "total"
    if kind == "agent":
        return charts.by_agent(counts_by(result, "agent"), **kwargs)
    if kind == "lead_score":
        return charts.by_lead_score(counts_by(result, "lead_score"), **kwargs)
    if kind == "created_vs_changed":
        if result.plan.measure != "created":
            raise InvalidQueryError(
                "kind", "needs a breakdown by creation (measure='created')", "agent, ..."
            )
        created = result.activity(measure="created", by=())
        changed = result.activity(measure="changed", by=(), end=result.plan.stop)
        return charts.created_vs_changed(created, changed, **kwargs)
    if kind == "bar":
        dimension = kwargs.pop("dimension", dims[0] if dims else "kind")
        return charts.bar(result.activity(by=dimension), dimension, **kwargs)
    if kind in DIMENSIONS:
        return charts.stacked(counts_by(result, kind), kind, **kwargs)
    if kind == "total":
        return charts.stacked(result.activity(by=()), None, **kwargs)
    raise InvalidQueryError(
        "kind",
        f"{kind!r} is not a chart",
        "auto, agent, lead_score, newsletter_list, created_vs_changed, bar, total",
    )


def chart_notes(
    result: Any, measure: str, code: str, start: pd.Timestamp, end: pd.Timestamp
) -> dict[str, Any]:
    """What a chart of `result.activity(...)` is about: its notes on the counts frame."""
    return {
        "measure": measure,
        "period": code,
        "start": start,
        "end": end,
        "offices": tuple(result.plan.query.customer_ids),
        "demo": result.demo,
        "names": result.labels,  # namesakes told apart in legends, as in counts_named
    }


# what the remainder of only some lists / services asked counts, for the summary
_PARTLY_ASKED = {
    "newsletter_list": "contacts on none of the lists asked: on no list, or only on lists "
    "not asked",
    "scheduled_order_type": "contacts holding none of the services asked: no active service, "
    "or only services not asked",
}


def _remainder_lines(plan: BreakdownPlan) -> list[str]:
    """A sentence per multi-valued dimension whose remainder is not "none at all"."""
    return [
        f"{label!r} counts {_PARTLY_ASKED[name]}."
        for name, label in empty_labels(plan).items()
        if label == activity.OTHER_OR_NONE_LABELS[name]
    ]


def summary_text(result: Any) -> str:
    """`BreakdownResult.summary()`: contacts, periods, calls, cache, comparison, warnings, gaps."""
    plan = result.plan
    n = len(result.facts)
    kinds = result.facts["kind"].value_counts()
    kind_text = ", ".join(f"{int(kinds.get(k, 0))} {n}" for k, n in vocab.KIND_PLURALS.items())
    edge = "included" if plan.end_included else "excluded"
    group = f" (office group {plan.office_group})" if plan.office_group else ""
    lines = [
        f"{n} contacts {plan.measure} {_fmt(plan.start)} → {_fmt(plan.end)} "
        f"(end {edge}) in {', '.join(plan.query.customer_ids)}{group}: {kind_text}.",
        f"{plan.n_calls} calls planned: {result.calls} made, {result.cached_calls} from the cache.",
    ]
    if "newsletter_list" in plan.by or "scheduled_order_type" in plan.by:
        lines.append(
            "A contact on several newsletter lists or with several active services counts "
            "under each: those counts can add up to more than the contacts."
        )
        lines.extend(_remainder_lines(plan))
    if result.partial_periods:
        cut = ", ".join(
            activity.period_label(p, plan.period, multiline=False) for p in result.partial_periods
        )
        lines.append(f"Partial periods (the range covers only part of them): {cut}.")
    if result.previous is not None:
        lines.append(compare_mod.comparison_sentence(result))
        lines.append(
            f"Earlier range: {result.previous.plan.n_calls} calls planned: "
            f"{result.previous.calls} made, {result.previous.cached_calls} from the cache."
        )
    if result.demo:
        lines.append(f"{vocab.DEMO_SOURCE}.")
    if result.warnings:
        lines.append(f"{len(result.warnings)} warnings: " + " ".join(result.warnings))
    if not result.is_complete:
        lines.append(
            f"INCOMPLETE: {len(result.incomplete)} calls failed; their counts are NaN: "
            + "; ".join(result.incomplete["call"])
        )
    return "\n".join(lines)
