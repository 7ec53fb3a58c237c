"""Breakdowns: plan the fewest exact API calls for a cross-tab, run them concurrently, join.

The contact endpoint returns only ids and change times and takes one value per filter.
Counting contacts per agent per month naively costs one request per (agent, month) cell.
The planner instead asks once per *value of each dimension* (each agent, each creation
window) plus once for the base set, all restricted by the user's filter and range, and
joins the id sets locally: 1 + Σ|values| calls per office (docs/breakdowns.md).

Decide purely, act separately: `plan_breakdown()` returns a frozen `BreakdownPlan` (no
requests except the cached lookups needed to list agents or newsletter lists);
`run_plan()` / `run_breakdown()` execute it through the cached client and return a
`BreakdownResult`.

One job per module, each importing only those above it in this list:

    values.py     the frozen plan (PlannedCall, DimensionPlan, OfficePlan, BreakdownPlan),
                  dimensions, special labels ("(no agent)", ...), option names
    planning.py   plan_breakdown() and its helpers (range, windows, dimension values)
    result.py     BreakdownResult: facts, counts, re-aggregation, charts, summary
    join.py       answers' id sets -> facts per contact (integer codes, conflicts, gaps)
    execution.py  run_plan() / run_breakdown(): the pool, progress, failures, JOIN_MEMO
"""

from __future__ import annotations

# `X as X`: names outside `__all__` still importable from here, as from the former single
# module: the one join memo (tests clear it) and the constants.
from vitec_nb.plan.execution import JOIN_MEMO as JOIN_MEMO
from vitec_nb.plan.execution import MissingCall, run_breakdown, run_plan
from vitec_nb.plan.planning import plan_breakdown
from vitec_nb.plan.result import BreakdownResult
from vitec_nb.plan.values import CONFLICT as CONFLICT
from vitec_nb.plan.values import DEFAULT_CONCURRENCY as DEFAULT_CONCURRENCY
from vitec_nb.plan.values import DEFAULT_MAX_CALLS as DEFAULT_MAX_CALLS
from vitec_nb.plan.values import DEFAULT_PERIODS_BACK as DEFAULT_PERIODS_BACK
from vitec_nb.plan.values import (
    DIMENSIONS,
    BreakdownPlan,
    BreakdownWarning,
    DimensionPlan,
    OfficePlan,
    PlannedCall,
)
from vitec_nb.plan.values import MAX_CONCURRENCY as MAX_CONCURRENCY
from vitec_nb.plan.values import MEASURES as MEASURES
from vitec_nb.plan.values import NO_AGENT as NO_AGENT
from vitec_nb.plan.values import NO_LIST as NO_LIST
from vitec_nb.plan.values import NO_SCORE as NO_SCORE
from vitec_nb.plan.values import OTHER as OTHER

__all__ = [
    "DIMENSIONS",
    "BreakdownPlan",
    "BreakdownResult",
    "BreakdownWarning",
    "DimensionPlan",
    "MissingCall",
    "OfficePlan",
    "PlannedCall",
    "plan_breakdown",
    "run_breakdown",
    "run_plan",
]
