"""Before planning: check the options, fetch the lookups a breakdown needs, then plan purely."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from vitec_nb.answers import run_concurrently
from vitec_nb.errors import IncompleteBreakdownError, InvalidQueryError, VitecError
from vitec_nb.lookups import OfficeLookups, fetch_office_name
from vitec_nb.plan.execution import run_plan
from vitec_nb.plan.options import BreakdownOptions, breakdown_options, normalize_by
from vitec_nb.plan.planning import plan_breakdown as plan_purely
from vitec_nb.plan.result import BreakdownResult
from vitec_nb.plan.values import (
    _PLAN_OPTIONS,
    _RUN_OPTIONS,
    BreakdownPlan,
    MissingCall,
    PlannedCall,
    RunOptions,
)
from vitec_nb.profile import ServerProfile
from vitec_nb.provenance import provenance_of
from vitec_nb.query import ContactQuery

__all__ = [
    "fetch_lookups",
    "plan_breakdown",
    "prepare",
    "profile_of",
    "resolve_office_group",
    "run_breakdown",
]

# what each dimension needs to know about an office: (lookup, client method, words)
_NEEDS = {
    "agent": ("agents", "agents", "users lookup (User/GetAllUsers, else User/GetUser)"),
    "newsletter_list": (
        "newsletter_lists",
        "newsletter_lists",
        "newsletter-lists lookup (CRM/Newsletter/{customerId}/NewsletterLists)",
    ),
}


def profile_of(client: Any) -> ServerProfile:
    """What is known about the client's server (nothing: the safe defaults)."""
    profile = getattr(client, "profile", None)
    return profile if isinstance(profile, ServerProfile) else ServerProfile()


def fetch_lookups(
    client: Any, query: ContactQuery, options: BreakdownOptions, run: RunOptions
) -> dict[str, OfficeLookups]:
    """The lookups the dimensions need, per office (cached calls), the offices concurrently
    under the client's one `concurrency` limit. A failed lookup raises
    `IncompleteBreakdownError` naming it; no contact call has been made then."""
    offices = query.customer_ids
    tasks = [lambda o=o: _office_lookups(client, query, o, options, run) for o in offices]
    if len(tasks) > 1 and hasattr(client, "settings"):
        found = run_concurrently(client, tasks)
    else:
        found = [task() for task in tasks]
    return dict(zip(offices, found, strict=True))


def _office_lookups(
    client: Any, query: ContactQuery, office: str, options: BreakdownOptions, run: RunOptions
) -> OfficeLookups:
    """One office's lookups: those its dimensions need, and its name when split by office."""
    found: dict[str, Any] = {}
    for name in options.by:
        if name not in _NEEDS:
            continue
        field, method, words = _NEEDS[name]
        try:
            found[field] = getattr(client, method)(office, refresh=run.refresh, offline=run.offline)
        except VitecError as exc:
            raise _lookup_failed(query, office, name, words, exc) from exc
    agents = found.get("agents")
    complete = provenance_of(agents).agents_complete if agents is not None else False
    name = None
    if "office" in options.by:  # a name is never worth failing: None gives the id alone
        name = fetch_office_name(client, office, refresh=run.refresh, offline=run.offline)
    return OfficeLookups(
        office,
        agents=agents,
        agents_complete=complete,
        newsletter_lists=found.get("newsletter_lists"),
        office_name=name,
    )


def resolve_office_group(
    client: Any, query: ContactQuery, group: str, run: RunOptions
) -> tuple[ContactQuery, str]:
    """The query over the offices of `group` (a name or id from `client.office_groups()`),
    and the group in words, "Stockholm (GRP12…)". Unknown names list the groups.

    The query's own offices are asked first (one lookup for one office); only a group they
    do not know sends the lookup for every configured office.
    """
    rows = _group_rows(client, query, query.customer_ids, run)
    matches = _matching(rows, group)
    configured = tuple(getattr(client, "customer_ids", ()) or ())
    if not matches and set(configured) - set(query.customer_ids):
        rows = _group_rows(client, query, None, run)
        matches = _matching(rows, group)
    if not matches:
        listed = ", ".join(f"{n!r} ({g})" for g, n, _ in rows) or "none: no groups are defined"
        raise InvalidQueryError("office_group", f"{group!r} is not an office group", listed)
    if len(matches) > 1:
        ids = ", ".join(g for g, _, _ in matches)
        raise InvalidQueryError("office_group", f"{group!r} names {len(matches)} groups", ids)
    gid, name, offices = matches[0]
    unknown = [o for o in offices if configured and o not in configured]
    if not offices or unknown:
        what = f"holds offices this client is not set up for: {', '.join(unknown)}"
        raise InvalidQueryError(
            "office_group",
            f"{name!r} ({gid}) " + (what if unknown else "holds no offices"),
            "a group of the configured offices: " + ", ".join(configured),
        )
    return query.replace(customer_id=tuple(offices)), f"{name} ({gid})"


def _group_rows(
    client: Any, query: ContactQuery, offices: Any, run: RunOptions
) -> list[tuple[str, str, tuple[str, ...]]]:
    """(id, name, offices) of the office groups `offices` see (None: every configured)."""
    try:
        groups = client.office_groups(offices, refresh=run.refresh, offline=run.offline)
    except VitecError as exc:
        words = "office groups lookup (CRM/Officegroups/{customerId})"
        raise _lookup_failed(query, query.customer_ids[0], "office_group", words, exc) from exc
    ids, names = map(str, groups["id"]), map(str, groups["name"])
    return [(g, n, tuple(o)) for g, n, o in zip(ids, names, groups["offices"], strict=True)]


def _matching(rows: list[tuple[str, str, tuple[str, ...]]], group: str) -> list[Any]:
    """The groups whose id is `group` (any case), else those it names (any case)."""
    wanted = group.casefold()
    by_id = [r for r in rows if r[0].casefold() == wanted]
    return by_id or [r for r in rows if r[1].strip().casefold() == wanted]


def _lookup_failed(
    query: ContactQuery, office: str, name: str, words: str, exc: VitecError
) -> IncompleteBreakdownError:
    call = PlannedCall(office, "lookup", name, query.for_office(office), f"{office} {words}")
    missing = MissingCall(call, exc)
    return IncompleteBreakdownError(
        f"The breakdown could not be planned: the {missing}. No contact call was made; run "
        "it again when the lookup answers (or give the values, e.g. agent_ids=[...]).",
        missing=[missing],
    )


def prepare(
    client: Any, query: ContactQuery, by: str | Iterable[str] | None = ("agent",), **options: Any
) -> tuple[BreakdownPlan, RunOptions]:
    """Check every option (before any request), resolve an office group, fetch the
    lookups, plan (pure).

    `office_group=` (a name or id) replaces the query's offices by the group's. Every
    option is checked before the groups are asked; options per office are checked against
    the group's offices once it is known.
    """
    grouped = options.get("office_group") is not None
    checked = _with_configured(client, query) if grouped else query
    plan_opts, run = breakdown_options(checked, by, **options)
    group = None
    if plan_opts.office_group is not None:
        if client is None:
            raise InvalidQueryError(
                "office_group", "needs a client to look the group up", "a connected client"
            )
        query, group = resolve_office_group(client, query, plan_opts.office_group, run)
        options = {k: v for k, v in options.items() if k != "office_group"}  # resolved
        plan_opts, run = breakdown_options(query, by, **options)
    found = fetch_lookups(client, query, plan_opts, run) if client is not None else {}
    profile = profile_of(client) if client is not None else ServerProfile()
    plan = plan_purely(query, found, plan_opts, profile)
    return (dataclasses.replace(plan, office_group=group) if group else plan), run


def _with_configured(client: Any, query: ContactQuery) -> ContactQuery:
    """The query over its offices and the client's, to check per-office options early."""
    configured = tuple(getattr(client, "customer_ids", ()) or ())
    offices = tuple(dict.fromkeys((*query.customer_ids, *configured)))
    return query.replace(customer_id=offices) if len(offices) > 1 else query


def run_breakdown(
    client: Any,
    query: ContactQuery | BreakdownPlan,
    by: str | Iterable[str] | None = ("agent",),
    **options: Any,
) -> BreakdownResult:
    """Plan and run a breakdown; given a plan, run it (only run options then).
    `compare="previous"` or `"year"` also runs the earlier range (plan/compare.py)."""
    if options.get("compare") is not None:
        from vitec_nb.plan.compare import run_compared

        how = options.pop("compare")
        return run_compared(client, query, by, how, options, prepare=prepare, run_plan=run_plan)
    options.pop("compare", None)
    if isinstance(query, BreakdownPlan):
        plan_opts = [k for k in options if k in _PLAN_OPTIONS]
        if plan_opts or (by != ("agent",) and normalize_by(by) != query.by):
            raise InvalidQueryError(
                (plan_opts or ["by"])[0],
                "cannot change a plan that is already made",
                "only run options with a plan: " + ", ".join(sorted(_RUN_OPTIONS)),
            )
        return run_plan(client, query, **options)
    plan, run = prepare(client, query, by, **options)
    return run_plan(client, plan, run)


def plan_breakdown(*args: Any, **kwargs: Any) -> BreakdownPlan:
    """Plan a breakdown.

    Pure: ``plan_breakdown(query, lookups, options, profile=None)`` with `lookups` a
    mapping office -> `OfficeLookups`, `options` a `BreakdownOptions` (or a mapping of
    options, `by` among them) and `profile` a `ServerProfile`; it does no I/O.

    Also, as before: ``plan_breakdown(client, query, by=("agent",), **options)`` checks
    the options, fetches the lookups through `client` (None: none) and plans.
    """
    first = args[0] if args else kwargs.get("query")
    if isinstance(first, ContactQuery):
        query, lookups, options, profile = _pure_args(args, kwargs)
        return plan_purely(query, lookups, options, profile)
    client, query, *rest = args
    by = rest[0] if rest else kwargs.pop("by", ("agent",))
    return prepare(client, query, by, **kwargs)[0]


def _pure_args(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[ContactQuery, Mapping[str, OfficeLookups], BreakdownOptions, ServerProfile | None]:
    names = ("query", "lookups", "options", "profile")
    given = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key not in names:
            raise InvalidQueryError(key, "is not an argument of plan_breakdown", ", ".join(names))
        given[key] = value
    query = given["query"]
    options = given.get("options")
    if options is None:
        options = BreakdownOptions()
    elif isinstance(options, Mapping):
        options = dict(options)
        options = breakdown_options(query, options.pop("by", ("agent",)), **options)[0]
    elif not isinstance(options, BreakdownOptions):
        raise InvalidQueryError(
            "options", f"{type(options).__name__} is not allowed", "BreakdownOptions or a mapping"
        )
    return query, given.get("lookups") or {}, options, given.get("profile")
