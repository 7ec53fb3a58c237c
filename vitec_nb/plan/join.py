"""Join: the answers' id sets, matched on integer codes, into one row of facts per contact."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vitec_nb import activity
from vitec_nb.activity import DATETIME_DTYPE
from vitec_nb.plan.result import BreakdownResult, _Unknown
from vitec_nb.plan.values import (
    _NOUNS,
    CONFLICT,
    NO_AGENT,
    NO_SCORE,
    OTHER,
    BreakdownPlan,
    BreakdownWarning,
    DimensionPlan,
    OfficePlan,
    _dimension_order,
)
from vitec_nb.query import ContactQuery

if TYPE_CHECKING:
    from vitec_nb.plan.execution import MissingCall

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


def _join(
    plan: BreakdownPlan,
    answers: Mapping[ContactQuery, pd.DataFrame],
    failures: Mapping[ContactQuery, MissingCall],
    demo: bool,
    ids: Mapping[ContactQuery, pa.Array] | None = None,
) -> BreakdownResult:
    facts_parts: list[pd.DataFrame] = []
    conflicts: list[dict[str, Any]] = []
    notes: list[str] = []
    unknowns: list[_Unknown] = []
    window_periods = [activity.floor_period(b, plan.period) for b in plan.boundaries[:-1]]
    categories = {
        name: _dimension_order(plan, name) for name in plan.by if name not in activity.MULTI_VALUED
    }

    for op in plan.offices:
        if op.base.query in failures:
            unknowns.append(_Unknown(op.office, op.base.label))
            continue
        base = answers[op.base.query]
        mine = {c.query: answers[c.query] for c in op.all_calls() if c.query in answers}
        codes = _Codes(mine, op.base.query, ids)
        facts = base[_FACT_BASE].reset_index(drop=True)
        keep = np.ones(codes.n, dtype=bool)

        # -- time axis ------------------------------------------------------------------
        if plan.measure == "changed":
            changed = facts["changed_at"]
            keep &= ((changed >= plan.start) & (changed < plan.end)).to_numpy()
            facts["period"] = activity.floor_series(changed, plan.period)
        else:
            if op.end_check is not None:
                if op.end_check.query in failures:
                    unknowns.append(
                        _Unknown(
                            op.office,
                            op.end_check.label,
                            periods=frozenset(window_periods[-1:]),
                            changed_from=plan.end,
                        )
                    )
                else:
                    keep[codes.positions(op.end_check.query)[0]] = False
            window_of = np.full(codes.n, -1, dtype=np.int64)
            failed_windows: list[int] = []
            for k, call in enumerate(op.windows):
                if call.query in failures:
                    failed_windows.append(k)
                    continue
                pos, extra = codes.positions(call.query)
                # windows go in order: a boundary contact, found in two adjacent windows,
                # ends up in the later one
                window_of[pos] = k
                if extra:
                    notes.append(
                        f"{extra} contacts in {call.label} are not in the base set of "
                        f"{op.office} (data changed during the run?); they are left out."
                    )
            for k in failed_windows:
                cells = {window_periods[k]} | ({window_periods[k - 1]} if k > 0 else set())
                unknowns.append(_Unknown(op.office, op.windows[k].label, periods=frozenset(cells)))
            in_any = window_of >= 0
            starts = pd.DatetimeIndex([*window_periods, pd.NaT]).astype(DATETIME_DTYPE)
            facts["period"] = starts[np.where(in_any, window_of, len(window_periods))]
            facts["created_period"] = facts["period"]
            lost = int((~in_any & keep).sum())
            if lost and not failed_windows:
                notes.append(
                    f"{lost} contacts of the base set of {op.office} were in no creation "
                    f"window (data changed during the run?): their period is unknown."
                )
        # -- dimensions -----------------------------------------------------------------
        for dim in op.dimensions:
            column, dim_conflicts, dim_notes, dim_unknowns = _join_dimension(
                dim, op, codes, failures, categories.get(dim.name)
            )
            facts[dim.name] = column
            for c in dim_conflicts:
                position = c.pop("position")
                conflicts.append({**c, "id": str(facts["id"].iloc[position])})
            notes.extend(dim_notes)
            unknowns.extend(dim_unknowns)
        facts_parts.append(facts[keep].reset_index(drop=True))

    facts = _combine_facts(plan, facts_parts, categories)
    conflicts_frame = pd.DataFrame(conflicts, columns=["customer_id", "id", "dimension", "values"])
    if len(conflicts_frame):
        for (office, dim), group in conflicts_frame.groupby(["customer_id", "dimension"]):
            notes.append(
                f"{len(group)} contacts of {office} were found under two or more "
                f"{_NOUNS[dim][1]} (data changed during the run?); they are counted once, "
                f"as {CONFLICT!r}, and listed in result.conflicts."
            )
    for note in notes:
        warnings.warn(note, BreakdownWarning, stacklevel=3)
    incomplete = pd.DataFrame(
        [
            {
                "call": c.label,
                "customer_id": c.office,
                "dimension": c.dimension,
                "value": c.value,
                "error": f"{type(failures[c.query].error).__name__}: {failures[c.query].error}",
            }
            for c in plan.calls
            if c.query in failures
        ],
        columns=["call", "customer_id", "dimension", "value", "error"],
    )
    result = BreakdownResult(
        plan=plan,
        facts=facts,
        counts=pd.DataFrame(),
        calls=0,
        cached_calls=0,
        warnings=notes,
        conflicts=conflicts_frame,
        incomplete=incomplete,
        demo=demo,
        _unknowns=tuple(unknowns),
    )
    return dataclasses.replace(result, counts=result.activity())


def _join_dimension(
    dim: DimensionPlan,
    op: OfficePlan,
    codes: _Codes,
    failures: Mapping[ContactQuery, MissingCall],
    categories: list[Any] | None,
) -> tuple[Any, list[dict[str, Any]], list[str], list[_Unknown]]:
    """One office's values of one dimension for each base-set contact, in base-set order.

    Single-valued dimensions give a Categorical over `categories`; newsletter lists give
    an object array of tuples. Conflicts carry the base-set position of the contact.
    """
    n = codes.n
    cats = [*(categories or []), CONFLICT] if not dim.multi_valued else []
    cats = list(dict.fromkeys(cats))
    if dim.fixed is not None:
        if dim.multi_valued:
            return _objects([(dim.fixed,)])[np.zeros(n, dtype=np.int64)], [], [], []
        return (
            pd.Categorical.from_codes(np.full(n, cats.index(dim.fixed)), categories=cats),
            [],
            [],
            [],
        )
    calls = [c for c in op.dimension_calls if c.dimension == dim.name]
    failed = [c for c in calls if c.query in failures]
    notes: list[str] = []
    unknowns: list[_Unknown] = []
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
    if outside:
        notes.append(
            f"{outside} answers for {_NOUNS[dim.name][1]} in {op.office} name contacts that "
            f"are not in its base set (data changed during the run?); they are left out."
        )
    if members is not None:
        for call in failed:
            unknowns.append(
                _Unknown(
                    op.office,
                    call.label,
                    dimension=dim.name,
                    values=frozenset({call.value, dim.remainder}),
                )
            )
        return _tuples(members, [c.value for c in calls]), [], notes, unknowns

    remainder: Any = dim.inferred if dim.inferred is not None else dim.remainder
    if remainder not in cats:
        cats.append(remainder)
    value_code = np.array([cats.index(c.value) for c in calls] or [0], dtype=np.int64)
    out = np.where(which >= 0, value_code[np.maximum(which, 0)], -1)
    out[hits > 1] = cats.index(CONFLICT)
    # nobody's answer: the remainder, or unknown (-1 = NaN) if a value's call failed
    out[hits == 0] = -1 if failed else cats.index(remainder)
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
    for call in failed:
        unknowns.append(
            _Unknown(
                op.office, call.label, dimension=dim.name, values=frozenset({call.value, remainder})
            )
        )
    if dim.name == "lead_score" and dim.inferred is None and not failed:
        none = int((hits == 0).sum())
        if none:
            notes.append(
                f"{none} contacts of {op.office} had none of the lead scores 0–5 "
                f"(counted as {NO_SCORE!r}); lead score was assumed to be always set."
            )
    return pd.Categorical.from_codes(out, categories=cats), conflicts, notes, unknowns


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


def _combine_facts(
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
    facts["kind"] = _categorical(facts["kind"], ["person", "company", "deceased_estate"])
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
        cats = [*categories[name], CONFLICT, NO_SCORE, OTHER, NO_AGENT]
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
