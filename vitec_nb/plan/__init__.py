"""Breakdowns: plan the fewest exact API calls for a cross-tab, run them concurrently, join.

The contact endpoint returns only ids and change times and takes one value per filter.
Counting contacts per agent per month naively costs one request per (agent, month) cell.
The planner instead asks once per *value of each dimension* (each agent, each creation
window) plus once for the base set, all restricted by the user's filter and range, and
joins the id sets locally: 1 + Σ|values| calls per office (docs/breakdowns.md).

Decide purely, act separately: `breakdown_options()` checks every option before any
request; the lookups are fetched first (`prepare.fetch_lookups`); `plan_breakdown(query,
lookups, options, profile)` decides from that plain data with no I/O and returns a frozen
`BreakdownPlan`; `run_plan()` executes it through the cached client with its own
`RunOptions` (kept out of the plan and out of the join memo's key).

One job per module, each importing only those above it in this list:

    values.py      the frozen plan (PlannedCall, DimensionPlan, OfficePlan, BreakdownPlan),
                   RunOptions, MissingCall, dimensions, special labels, option names
    options.py     BreakdownOptions: every option checked and normalised
    dimensions.py  which values of a dimension to ask, and what the rest is called
    planning.py    plan_breakdown() (pure): range, windows, end check, exclusions
    result.py      BreakdownResult: facts, counts, re-aggregation, charts, summary
    checks.py      plausibility checks in plain words
    join.py        answers' id sets -> facts per contact (integer codes, derived buckets)
    execution.py   run_plan(): fetch, join (or the memo), finish; JOIN_MEMO
    prepare.py     options + lookups + plan; run_breakdown(); the public plan_breakdown()
    exact.py       exact single queries (end check, lead score 0 derived)
"""

from __future__ import annotations

# `X as X`: names outside `__all__` still importable from here (tests clear the memo).
from vitec_nb.plan.exact import exact_contacts, needs_exact
from vitec_nb.plan.execution import JOIN_MEMO as JOIN_MEMO
from vitec_nb.plan.execution import cached_calls, run_plan
from vitec_nb.plan.options import BreakdownOptions, breakdown_options
from vitec_nb.plan.prepare import plan_breakdown, run_breakdown
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
    MissingCall,
    OfficePlan,
    PlannedCall,
    RunOptions,
)
from vitec_nb.plan.values import MAX_CONCURRENCY as MAX_CONCURRENCY
from vitec_nb.plan.values import MEASURES as MEASURES
from vitec_nb.plan.values import NO_AGENT as NO_AGENT
from vitec_nb.plan.values import NO_AGENT_OR_UNLISTED as NO_AGENT_OR_UNLISTED
from vitec_nb.plan.values import NO_LEAD_SCORE as NO_LEAD_SCORE
from vitec_nb.plan.values import NO_LIST as NO_LIST
from vitec_nb.plan.values import NO_SCORE as NO_SCORE
from vitec_nb.plan.values import NO_SERVICE as NO_SERVICE
from vitec_nb.plan.values import OTHER as OTHER
from vitec_nb.plan.values import OTHER_OR_NO_LIST as OTHER_OR_NO_LIST
from vitec_nb.plan.values import OTHER_OR_NO_SERVICE as OTHER_OR_NO_SERVICE

__all__ = [
    "DIMENSIONS",
    "BreakdownOptions",
    "BreakdownPlan",
    "BreakdownResult",
    "BreakdownWarning",
    "DimensionPlan",
    "MissingCall",
    "OfficePlan",
    "PlannedCall",
    "RunOptions",
    "breakdown_options",
    "cached_calls",
    "exact_contacts",
    "needs_exact",
    "plan_breakdown",
    "run_breakdown",
    "run_plan",
]
