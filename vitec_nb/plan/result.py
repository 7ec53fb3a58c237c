"""Result: what a breakdown found (facts, counts, gaps); regroup, chart and summarise it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from vitec_nb import activity
from vitec_nb.errors import InvalidQueryError
from vitec_nb.plan import compare as compare_mod
from vitec_nb.plan import drill, presentation
from vitec_nb.plan import names as value_names
from vitec_nb.plan.values import (
    MEASURES,
    BreakdownPlan,
    _dimension_order,
    empty_labels,
)
from vitec_nb.provenance import provenance_of, set_provenance

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclasses.dataclass(frozen=True)
class _Unknown:
    """Cells a failed call leaves unknown: an office, and which periods or dimension values."""

    office: str
    call: str
    periods: frozenset[pd.Timestamp] | None = None  # created periods (measure "created")
    dimension: str | None = None
    values: frozenset[Any] | None = None
    # changed activity from this instant on (a failed end check: a contact created exactly
    # at the end may be among the facts, and it was last changed at or after the end)
    changed_from: pd.Timestamp | None = None

    @property
    def everything(self) -> bool:
        return self.periods is None and self.dimension is None and self.changed_from is None


@dataclasses.dataclass(frozen=True, eq=False)
class BreakdownResult:
    """What a breakdown found.

    Attributes:
        facts: one row per contact of the base set in the range: kind, id, customer_id,
            changed_at, period (start of the period of the plan's measure), created_period
            (measure "created"), and one column per dimension named as in `by` (agent ids
            with "(no agent)"/"(other)", plus agent_name; lead_score 0–5; newsletter_list a
            tuple of list ids). Dimension columns are categories in plan order.
            <NA> marks a value a failed call left unknown.
        counts: tidy contacts per period × dimension value; every period present, zeros
            where truly none, NaN where unknown (see `incomplete`).
        calls: API calls made (failed ones included; answers from the cache not counted).
        cached_calls: answers served by the cache.
        warnings: sentences on joins that did not add up (also issued as BreakdownWarning).
        checks: the plausibility checks that failed, in plain words (also in `warnings`):
            an answer for one value equal to the whole base set, single-valued answers
            adding up to more than the base set, creation windows not adding up to it.
        conflicts: contacts found under two values of a single-valued dimension.
        incomplete: the failed calls, what they were for, and the error (empty when complete).
        demo: the answers are the built-in stand-in's demo data.
        client: the client that ran the breakdown (`details()` asks it).
        previous: with ``compare="previous"`` or ``"year"``, the earlier range's result;
            `comparison` puts the two side by side.
        compare: "previous", "year" or None.
        fetched_at: when the oldest answer used was fetched (cached answers keep the time
            they were first fetched); also in ``facts.attrs``.
    """

    plan: BreakdownPlan
    facts: pd.DataFrame
    counts: pd.DataFrame
    calls: int
    cached_calls: int
    warnings: list[str]
    conflicts: pd.DataFrame
    incomplete: pd.DataFrame
    demo: bool = False
    fetched_at: pd.Timestamp | None = None
    checks: list[str] = dataclasses.field(default_factory=list)
    _unknowns: tuple[_Unknown, ...] = ()
    # the client that ran it (for details()); the earlier range's result with `compare=`
    client: Any = dataclasses.field(default=None, repr=False)
    previous: BreakdownResult | None = dataclasses.field(default=None, repr=False)
    compare: str | None = None

    @property
    def is_complete(self) -> bool:
        """True when every call of the plan succeeded."""
        return len(self.incomplete) == 0

    @property
    def partial_periods(self) -> tuple[pd.Timestamp, ...]:
        """Periods in the counts that the range covers only in part (first or last)."""
        return self.plan.partial_periods

    @property
    def names(self) -> dict[str, dict[Any, str]]:
        """Display names per dimension (agent id -> name, list id -> name, order type label)."""
        out: dict[str, dict[Any, str]] = {}
        for op in self.plan.offices:
            for dim in op.dimensions:
                out.setdefault(dim.name, {}).update(dim.names)
        return out

    @property
    def labels(self) -> dict[str, dict[Any, str]]:
        """`names` made unique per dimension: agents who share a name are told apart by
        their id's head ("Anna Berg (HAN1A2B…)"). What `counts_named` shows."""
        return value_names.labels(self.names)

    @property
    def counts_named(self) -> pd.DataFrame:
        """`counts` with a name column after each named dimension (`agent_name` after
        `agent`, `newsletter_list_name`, ...), from `labels`; ids stay in their columns."""
        return value_names.named(self.counts, self.labels)

    def activity(
        self,
        measure: str | None = None,
        by: str | Iterable[str] | None = None,
        period: str | None = None,
        start: Any = None,
        end: Any = None,
    ) -> pd.DataFrame:
        """Re-aggregate the same facts, without any call: tidy counts per period × `by`.

        `measure="changed"` on a "created" breakdown counts the contacts created in the range
        by the period of their LAST change (changed_at), from the range's start up to the
        latest change. Creation periods can only be regrouped onto a period whose starts are
        all window edges of the plan (months → quarters or years, days → weeks or months).
        `by` may name any fact column: a dimension, "kind" or "customer_id".
        """
        plan = self.plan
        measure = measure or plan.measure
        code = activity.normalize_period(period or plan.period)
        dims = plan.by if by is None else ((by,) if isinstance(by, str) else tuple(by))
        for name in dims:
            if name not in self.facts.columns or name in ("id", "changed_at", "period"):
                allowed = ", ".join([*plan.by, "kind", "customer_id"])
                raise InvalidQueryError("by", f"{name!r} is not in these facts", allowed)
        if measure not in MEASURES:
            raise InvalidQueryError("measure", f"{measure!r} is not a measure", "created, changed")
        start_ts = activity.to_timestamp(start, "start") if start is not None else plan.start
        end_ts = self._regroup_end(measure, code, end)
        values = {
            name: list(self.facts[name].cat.categories)
            for name in dims
            if isinstance(self.facts[name].dtype, pd.CategoricalDtype)
        }
        for name in dims:
            if name in activity.MULTI_VALUED:
                values[name] = [*_dimension_order(plan, name)]
        counts = activity.activity_counts(
            self.facts,
            measure,
            dims,
            code,
            start_ts,
            end_ts,
            values=values,
            empty_labels=empty_labels(plan),  # "(other or no list)" when some were asked
        )
        counts = self._mark_unknown(counts, measure, dims, code)
        about = presentation.chart_notes(self, measure, code, start_ts, end_ts)
        came = provenance_of(counts).noted(**about)
        return set_provenance(counts, came)

    def _regroup_end(self, measure: str, code: str, end: Any) -> pd.Timestamp:
        """The exclusive end of a regrouping, after checking it can be made from the facts."""
        plan = self.plan
        if measure == "created":
            if plan.measure != "created":
                raise InvalidQueryError(
                    "measure",
                    "this breakdown was by change time; creation times are unknown",
                    "'changed', or run a breakdown with measure='created'",
                )
            edges = set(plan.boundaries)
            grid = activity.period_index(plan.start, plan.stop, code)
            if any(p not in edges for p in grid if plan.start < p < plan.end):
                raise InvalidQueryError(
                    "period",
                    f"creation was fetched per {activity.period_name(plan.period)}; it cannot "
                    f"be regrouped per {activity.period_name(code)}",
                    "the fetched period or a coarser one that it divides",
                )
            return activity.to_timestamp(end, "end") if end is not None else plan.stop
        if end is not None:
            return activity.to_timestamp(end, "end")
        if plan.measure == "changed":
            return plan.stop
        latest = self.facts["changed_at"].max()
        if pd.notna(latest) and latest >= plan.stop:
            return activity.next_period_start(latest + pd.Timedelta(1, "ns"), code)
        return plan.stop

    def _mark_unknown(
        self, counts: pd.DataFrame, measure: str, dims: Sequence[str], code: str
    ) -> pd.DataFrame:
        if not self._unknowns or counts.empty:
            return counts
        mask = pd.Series(False, index=counts.index)
        for rule in self._unknowns:
            if rule.everything:
                mask[:] = True
                continue
            if rule.periods is not None or rule.changed_from is not None:
                if measure == "created" and rule.periods is not None:
                    cells = {activity.floor_period(p, code) for p in rule.periods}
                    mask |= counts["period"].isin(list(cells))
                if measure == "changed" and rule.changed_from is not None:
                    mask |= counts["period"] >= activity.floor_period(rule.changed_from, code)
            elif rule.dimension in dims and rule.values is not None:
                mask |= counts[rule.dimension].astype(object).isin(list(rule.values))
        counts = counts.copy()
        counts["contacts"] = counts["contacts"].astype("float64").mask(mask)
        return counts

    def contacts_in(self, **cell: Any) -> pd.DataFrame:
        """The facts rows of one cell: ``contacts_in(period="2025-03", agent="Anna Berg")``.

        Any dimension of the breakdown, plus `period`, `kind` and `customer_id` (or
        `office`); a value by id or by its label (an agent's name, "(no agent)", a list's
        name); a period as a Timestamp, a date in it or its label ("2025-03", "Mar 2025",
        "2025-Q1", "2025-W05"). A dimension left out (or None) keeps all its values: a row
        or column of cells. An unknown value is an `InvalidQueryError` listing the allowed.
        """
        return drill.contacts_in(self, cell)

    def details_calls(self, **cell: Any) -> drill.DetailsCalls:
        """How many contact-details calls ``details(**cell)`` makes (20 ids a call) and how
        many the cache already holds; sends nothing. ``str()`` says it in words."""
        return drill.details_calls(self, cell)

    def details(
        self,
        fields: Any = None,
        progress: Any = None,
        *,
        refresh: bool = False,
        offline: bool = False,
        **cell: Any,
    ) -> pd.DataFrame:
        """The contacts of a cell with their names and creation times.

        ``details(period="2025-03", agent="Anna Berg")``: the `contacts_in` rows plus
        `name` and `created_at` from `client.contact_details` (20 ids a call, concurrent,
        cached; the call count is logged before it runs, see `details_calls`). Personal data
        (`vitec_nb.details.PERSONAL_FIELDS`) only as `fields=` names it. `progress`: True
        for a bar, or a callable(done, total) over every call of every office.
        """
        return drill.details(self, cell, fields, progress, refresh=refresh, offline=offline)

    @property
    def comparison(self) -> pd.DataFrame | None:
        """With ``compare=``: per period (and value), current, previous, change, change_pct
        (contacts; change_pct in %, NaN where the earlier count is 0). None without."""
        return None if self.previous is None else compare_mod.comparison_frame(self)

    @property
    def comparison_summary(self) -> str | None:
        """With ``compare=``: "+12 % on the same months of 2024 (…)". None without."""
        return None if self.previous is None else compare_mod.comparison_sentence(self)

    def to_frame(self, by: str | None = None) -> pd.DataFrame:
        """Counts pivoted for export: one row per period, one column per value of `by`
        (default: the first dimension), each contact once per value (re-counted from the
        facts when the breakdown has other dimensions, never summed over them)."""
        by = by if by is not None or not self.plan.by else self.plan.by[0]
        return activity.wide(self.counts if by is None else presentation.counts_by(self, by), by)

    def plot(self, kind: str = "auto", **kwargs: Any) -> Figure:
        """A matplotlib Figure of the counts (the caller shows and closes it).

        `kind`: "auto" (by the first dimension, or totals), "agent", "lead_score",
        "created_vs_changed", "bar" (totals per value of `dimension=`), "total". With
        ``compare=``, charts over periods also draw the earlier range's contacts per period
        (a lighter dashed line). Save it with ``fig.savefig("chart.png", dpi=150)``.
        """
        return presentation.plot(self, kind, **kwargs)

    def summary(self) -> str:
        """A few lines for people: contacts, periods, calls, cache, comparison, warnings, gaps."""
        return presentation.summary_text(self)

    def __repr__(self) -> str:
        state = "complete" if self.is_complete else f"{len(self.incomplete)} calls missing"
        return (
            f"<BreakdownResult {len(self.facts)} contacts, by {list(self.plan.by)}, "
            f"{self.calls} calls made, {self.cached_calls} cached, {state}>"
        )
