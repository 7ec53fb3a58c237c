"""Join: the answers' id sets, matched on integer codes, into one row of facts per contact."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vitec_nb import activity, vocab
from vitec_nb.activity import DATETIME_DTYPE
from vitec_nb.plan.checks import cap_checks, dimension_checks, window_check
from vitec_nb.plan.result import BreakdownResult, _Unknown
from vitec_nb.plan.values import (
    _NOUNS,
    CONFLICT,
    SPECIAL_LABELS,
    BreakdownPlan,
    BreakdownWarning,
    DimensionPlan,
    MissingCall,
    OfficePlan,
    PlannedCall,
    _dimension_order,
    empty_label,
)
from vitec_nb.query import ContactQuery

_FACT_BASE = ["kind", "id", "customer_id", "changed_at"]


def _arrow_ids(frame: pd.DataFrame) -> pa.Array:
    """The id column as one pyarrow array (zero-copy for pyarrow-backed strings)."""
    ids = pa.array(frame["id"], from_pandas=True)
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    return ids


class _Codes:
    """Integer codes for one office's contact ids across all its answers (same id, same code).

    Joining id sets by hashing strings once (pyarrow dictionary encoding) and then working
    on integer arrays keeps a 100 000-contact breakdown's join in tens of milliseconds.
    """

    def __init__(
        self,
        frames: Mapping[Any, pd.DataFrame],
        base_key: Any,
        ids: Mapping[Any, pa.Array] | None = None,
    ) -> None:
        keys = list(frames)
        ids = ids or {}
        arrays = [ids[k] if k in ids else _arrow_ids(frames[k]) for k in keys]
        lengths = [len(a) for a in arrays]
        kinds = {a.type for a in arrays}
        if len(kinds) > 1:  # concat_arrays needs one type; ids are usually all the same
            arrays = [a.cast(pa.large_string()) for a in arrays]
        joined = pa.concat_arrays(arrays) if arrays else pa.array([], pa.large_string())
        codes = pc.dictionary_encode(joined).indices.to_numpy(zero_copy_only=False)
        self.size = int(codes.max()) + 1 if len(codes) else 0
        bounds = np.cumsum([0, *lengths])
        self._codes = {k: codes[bounds[i] : bounds[i + 1]] for i, k in enumerate(keys)}
        base = self._codes[base_key]
        self.n = len(base)
        # position of each code in the base set, -1 when it is not in the base set
        self._pos = np.full(self.size, -1, dtype=np.int64)
        self._pos[base] = np.arange(self.n)

    def positions(self, key: Any) -> tuple[np.ndarray, int]:
        """Base-set positions of an answer's contacts, and how many are not in the base set."""
        pos = self._pos[self._codes[key]]
        inside = pos >= 0
        return pos[inside], int((~inside).sum())


@dataclasses.dataclass
class _Found:
    """What joining the offices found besides the facts."""

    conflicts: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    checks: list[str] = dataclasses.field(default_factory=list)
    unknowns: list[_Unknown] = dataclasses.field(default_factory=list)


def _join(
    plan: BreakdownPlan,
    answers: Mapping[ContactQuery, pd.DataFrame],
    failures: Mapping[ContactQuery, MissingCall],
    demo: bool,
    ids: Mapping[ContactQuery, pa.Array] | None = None,
) -> BreakdownResult:
    """Join every office's answers into facts and counts, with notes, checks and gaps."""
    found = _Found()
    categories = {
        name: _dimension_order(plan, name) for name in plan.by if name not in activity.MULTI_VALUED
    }
    parts = []
    for op in plan.offices:
        if op.base.query in failures:
            found.unknowns.append(_Unknown(op.office, op.base.label))
            continue
        parts.append(_join_office(plan, op, answers, failures, ids, categories, found))
    facts = _combine_facts(plan, parts, categories)
    conflicts = pd.DataFrame(found.conflicts, columns=["customer_id", "id", "dimension", "values"])
    for (office, dim), group in conflicts.groupby(["customer_id", "dimension"]):
        found.notes.append(
            f"{len(group)} contacts of {office} were found under two or more "
            f"{_NOUNS[dim][1]}; they are counted once, as {CONFLICT!r}, and listed in "
            "result.conflicts."
        )
    notes = [*found.checks, *found.notes]
    for note in notes:
        warnings.warn(note, BreakdownWarning, stacklevel=3)
    result = BreakdownResult(
        plan=plan,
        facts=facts,
        counts=pd.DataFrame(),
        calls=0,
        cached_calls=0,
        warnings=notes,
        conflicts=conflicts,
        incomplete=_incomplete(plan, failures),
        demo=demo,
        checks=found.checks,
        _unknowns=tuple(found.unknowns),
    )
    return dataclasses.replace(result, counts=result.activity())


def _incomplete(plan: BreakdownPlan, failures: Mapping[ContactQuery, MissingCall]) -> pd.DataFrame:
    """The failed calls as a table: what each was for, and the error."""
    rows = [
        {
            "call": c.label,
            "customer_id": c.office,
            "dimension": c.dimension,
            "value": c.value,
            "error": f"{type(failures[c.query].error).__name__}: {failures[c.query].error}",
        }
        for c in plan.calls
        if c.query in failures
    ]
    return pd.DataFrame(rows, columns=["call", "customer_id", "dimension", "value", "error"])


def _join_office(
    plan: BreakdownPlan,
    op: OfficePlan,
    answers: Mapping[ContactQuery, pd.DataFrame],
    failures: Mapping[ContactQuery, MissingCall],
    ids: Mapping[ContactQuery, pa.Array] | None,
    categories: Mapping[str, list[Any]],
    found: _Found,
) -> pd.DataFrame:
    """One office's facts (rows in the range only), adding to `found`."""
    base = answers[op.base.query]
    mine = {c.query: answers[c.query] for c in op.all_calls() if c.query in answers}
    codes = _Codes(mine, op.base.query, ids)
    facts = base[_FACT_BASE].reset_index(drop=True)
    keep = _kept(plan, op, codes, facts, failures, found)
    sizes = {c.label: len(answers[c.query]) for c in op.all_calls() if c.query in answers}
    found.checks.extend(cap_checks(op.office, sizes, plan.answer_cap))
    if plan.measure == "changed":
        facts["period"] = activity.floor_series(facts["changed_at"], plan.period)
    else:
        facts["period"] = _created_periods(plan, op, codes, failures, keep, found)
        facts["created_period"] = facts["period"]
    kinds = facts["kind"].astype(object).to_numpy()
    for planned in op.dimensions:
        # a multi-valued remainder has one label across offices (values.empty_label)
        rest = empty_label(plan, planned.name) if planned.multi_valued else None
        dim = dataclasses.replace(planned, remainder=rest) if rest else planned
        column, dim_conflicts, dim_notes, dim_unknowns = _join_dimension(
            dim, op, codes, failures, categories.get(dim.name), kinds
        )
        facts[dim.name] = column
        for c in dim_conflicts:
            position = c.pop("position")
            found.conflicts.append({**c, "id": str(facts["id"].iloc[position])})
        found.notes.extend(dim_notes)
        found.unknowns.extend(dim_unknowns)
        found.checks.extend(_dimension_checks(op, dim, codes, failures, keep))
    return facts[keep].reset_index(drop=True)


def _kept(
    plan: BreakdownPlan,
    op: OfficePlan,
    codes: _Codes,
    facts: pd.DataFrame,
    failures: Mapping[ContactQuery, MissingCall],
    found: _Found,
) -> np.ndarray:
    """Which base-set contacts are in the breakdown: inside the range, not excluded."""
    keep = np.ones(codes.n, dtype=bool)
    changed = facts["changed_at"]
    if plan.measure == "changed":
        keep &= ((changed >= plan.start) & (changed < plan.stop)).to_numpy()
    if plan.changed_stop is not None:
        keep &= (changed < plan.changed_stop).to_numpy()
    if plan.exclude_kinds:
        keep &= ~facts["kind"].astype(object).isin(plan.exclude_kinds).to_numpy()
    if op.end_check is not None:
        if op.end_check.query in failures:
            last = activity.floor_period(plan.boundaries[-2], plan.period)
            found.unknowns.append(
                _Unknown(
                    op.office,
                    op.end_check.label,
                    periods=frozenset({last}),
                    changed_from=plan.end,
                )
            )
        else:
            keep[codes.positions(op.end_check.query)[0]] = False
    for call in op.exclusions:
        if call.query in failures:
            found.unknowns.append(_Unknown(op.office, call.label))
        else:
            keep[codes.positions(call.query)[0]] = False
    return keep


def _created_periods(
    plan: BreakdownPlan,
    op: OfficePlan,
    codes: _Codes,
    failures: Mapping[ContactQuery, MissingCall],
    keep: np.ndarray,
    found: _Found,
) -> Any:
    """Each contact's creation period, from the window whose answer holds it."""
    window_periods = [activity.floor_period(b, plan.period) for b in plan.boundaries[:-1]]
    window_of = np.full(codes.n, -1, dtype=np.int64)
    failed: list[int] = []
    outside = 0
    for k, call in enumerate(op.windows):
        if call.query in failures:
            failed.append(k)
            continue
        pos, extra = codes.positions(call.query)
        # windows go in order: a boundary contact, found in two adjacent windows, ends up
        # in the later one
        window_of[pos] = k
        outside += extra
    for k in failed:
        cells = {window_periods[k]} | ({window_periods[k - 1]} if k > 0 else set())
        found.unknowns.append(_Unknown(op.office, op.windows[k].label, periods=frozenset(cells)))
    in_any = window_of >= 0
    found.checks.extend(window_check(op.office, in_any[keep], outside, int(keep.sum()), failed))
    starts = pd.DatetimeIndex([*window_periods, pd.NaT]).astype(DATETIME_DTYPE)
    return starts[np.where(in_any, window_of, len(window_periods))]


def _dimension_checks(
    op: OfficePlan,
    dim: DimensionPlan,
    codes: _Codes,
    failures: Mapping[ContactQuery, MissingCall],
    keep: np.ndarray,
) -> list[str]:
    calls = [c for c in op.dimension_calls if c.dimension == dim.name]
    if any(c.query in failures for c in calls):
        return []
    sizes = {c: int(keep[codes.positions(c.query)[0]].sum()) for c in calls}
    return dimension_checks(op.office, dim, sizes, int(keep.sum()))


_Joined = tuple[Any, list[dict[str, Any]], list[str], list[_Unknown]]


def _join_dimension(
    dim: DimensionPlan,
    op: OfficePlan,
    codes: _Codes,
    failures: Mapping[ContactQuery, MissingCall],
    categories: list[Any] | None,
    kinds: np.ndarray,
) -> _Joined:
    """One office's values of one dimension for each base-set contact, in base-set order.

    Single-valued dimensions give a Categorical over `categories`; multi-valued ones
    (newsletter lists, services) an object array of tuples. Conflicts carry the base-set
    position of the contact.
    """
    n = codes.n
    cats = list(dict.fromkeys([*(categories or []), CONFLICT])) if not dim.multi_valued else []
    if dim.fixed is not None and not dim.multi_valued:
        codes_ = np.full(n, cats.index(dim.fixed))
        return pd.Categorical.from_codes(codes_, categories=cats), [], [], []
    calls = [c for c in op.dimension_calls if c.dimension == dim.name]
    failed = [c for c in calls if c.query in failures]
    hits = np.zeros(n, dtype=np.int64)
    which = np.full(n, -1, dtype=np.int64)  # index into `calls` of the (last) answer found
    members = np.zeros((n, len(calls)), dtype=bool) if dim.multi_valued else None
    outside = 0
    for i, call in enumerate(calls):
        if call.query in failures:
            continue
        pos, extra = codes.positions(call.query)
        outside += extra
        np.add.at(hits, pos, 1)
        which[pos] = i
        if members is not None:
            members[pos, i] = True
    notes = []
    # with a value fixed by the query the others are asked without it (one value per
    # filter), so their answers reach beyond the base set: expected, not a change
    if outside and dim.fixed is None:
        notes.append(
            f"{outside} answers for {_NOUNS[dim.name][1]} in {op.office} name contacts that "
            f"are not in its base set (data changed during the run?); they are left out."
        )
    if members is not None and dim.fixed is not None:  # the query's value: every contact
        members = np.column_stack([np.ones(n, dtype=bool), members])
        calls = [PlannedCall(op.office, dim.name, dim.fixed, op.base.query, op.base.label), *calls]
    if members is not None:
        unknowns = [
            _Unknown(
                op.office, c.label, dimension=dim.name, values=frozenset({c.value, dim.remainder})
            )
            for c in failed
        ]
        return _tuples(members, [c.value for c in calls]), [], notes, unknowns
    column, conflicts, unknowns = _single_valued(
        dim, op, codes, failures, calls, cats, hits, which, kinds
    )
    return column, conflicts, notes, unknowns


def _single_valued(
    dim: DimensionPlan,
    op: OfficePlan,
    codes: _Codes,
    failures: Mapping[ContactQuery, MissingCall],
    calls: Sequence[PlannedCall],
    cats: list[Any],
    hits: np.ndarray,
    which: np.ndarray,
    kinds: np.ndarray,
) -> tuple[pd.Categorical, list[dict[str, Any]], list[_Unknown]]:
    """The value code of each contact: its one answer, "(conflict)", or the remainder.

    The remainder is derived (lead score 0), or a label; a kind that has no value at all
    (a deceased estate has no lead score) gets `dim.unscored` instead.
    """
    failed = [c for c in calls if c.query in failures]
    remainder: Any = dim.inferred if dim.inferred is not None else dim.remainder
    for label in (remainder, dim.unscored):
        if label is not None and label not in cats:
            cats.append(label)
    value_code = np.array([cats.index(c.value) for c in calls] or [0], dtype=np.int64)
    out = np.where(which >= 0, value_code[np.maximum(which, 0)], -1)
    out[hits > 1] = cats.index(CONFLICT)
    # nobody's answer: the remainder, or unknown (-1 = NaN) if a value's call failed
    nobody = hits == 0
    out[nobody] = -1 if failed else cats.index(remainder)
    if dim.unscored is not None and not failed:
        out[nobody & (kinds == vocab.DECEASED_ESTATE)] = cats.index(dim.unscored)
    conflicts: list[dict[str, Any]] = []
    twice = np.flatnonzero(hits > 1)
    if len(twice):
        found = {
            c.value: set(codes.positions(c.query)[0].tolist())
            for c in calls
            if c.query not in failures
        }
        for p in twice.tolist():
            values = tuple(v for v, where in found.items() if p in where)
            conflicts.append(
                {"customer_id": op.office, "position": p, "dimension": dim.name, "values": values}
            )
    gaps = {remainder, *((dim.unscored,) if dim.unscored else ())}
    unknowns = [
        _Unknown(op.office, c.label, dimension=dim.name, values=frozenset({c.value, *gaps}))
        for c in failed
    ]
    return pd.Categorical.from_codes(out, categories=cats), conflicts, unknowns


def _tuples(members: np.ndarray, values: Sequence[Any]) -> np.ndarray:
    """Per row of a membership matrix, the tuple of values it holds (in `values` order)."""
    n, m = members.shape
    if m == 0:
        return _objects([()])[np.zeros(n, dtype=np.int64)]
    # rows with the same membership pattern share one tuple: find the distinct patterns
    patterns, inverse = np.unique(members, axis=0, return_inverse=True)
    shared = [tuple(v for v, on in zip(values, row, strict=True) if on) for row in patterns]
    return _objects(shared)[np.asarray(inverse).ravel()]


def _objects(items: Sequence[Any]) -> np.ndarray:
    """An object array holding `items` as they are (tuples stay elements, not rows)."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def _combine_facts(  # noqa: C901 (one branch per dimension kind; known debt)
    plan: BreakdownPlan, parts: list[pd.DataFrame], categories: Mapping[str, list[Any]]
) -> pd.DataFrame:
    columns = [*_FACT_BASE, "period"]
    if plan.measure == "created":
        columns.append("created_period")
    for name in plan.by:
        columns.append(name)
        if name == "agent":
            columns.append("agent_name")
    facts = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    facts = facts.reindex(columns=columns)
    facts["kind"] = _categorical(facts["kind"], list(vocab.KINDS))
    if facts["id"].dtype != "string":
        facts["id"] = facts["id"].astype("string")
    facts["customer_id"] = _categorical(facts["customer_id"], list(plan.query.customer_ids))
    for column in ("changed_at", "period", "created_period"):
        if column in facts:
            facts[column] = facts[column].astype(DATETIME_DTYPE)
    for name in plan.by:
        if name in activity.MULTI_VALUED:
            if facts[name].dtype != object:
                facts[name] = facts[name].astype(object)
            continue
        cats = [*categories[name], *SPECIAL_LABELS]
        column = facts[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            cat = column.array
        else:
            cat = pd.Categorical(column.astype(object), categories=list(dict.fromkeys(cats)))
        # special labels not planned (a conflict, a missing lead score) stay only if used
        used = set(cat.categories[np.unique(cat.codes[cat.codes >= 0])])
        planned = set(categories[name])
        kept = [c for c in cat.categories if c in planned or c in used]
        facts[name] = _categorical(pd.Series(cat), kept)
    if "agent_name" in facts:
        names: dict[Any, str] = {}
        for op in plan.offices:
            for dim in op.dimensions:
                if dim.name == "agent":
                    names.update(dim.names)
        # a categorical of names, built from the agent codes (names may repeat: two agents
        # can share a name, so the agent categories cannot simply be renamed)
        agent = facts["agent"].cat
        labels = [names.get(v, v) for v in agent.categories]
        unique = list(dict.fromkeys(labels))
        remap = np.append(pd.Index(unique, dtype=object).get_indexer(labels), -1)
        facts["agent_name"] = pd.Categorical.from_codes(
            remap[agent.codes.to_numpy()], categories=unique
        )
    return facts


def _categorical(column: pd.Series, categories: list[Any]) -> pd.Categorical:
    """`column` as a Categorical over exactly `categories` (others become NaN), by codes."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        old = column.cat.categories
        remap = pd.Index(categories, dtype=object).get_indexer(pd.Index(old, dtype=object))
        codes = column.cat.codes.to_numpy()
        new = np.where(codes >= 0, remap[np.maximum(codes, 0)] if len(remap) else -1, -1)
        return pd.Categorical.from_codes(new, categories=categories)
    return pd.Categorical(column.astype(object), categories=categories)
