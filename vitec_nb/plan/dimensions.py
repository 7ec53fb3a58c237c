"""Dimensions: which values of each dimension to ask in one office, and what the rest is."""

from __future__ import annotations

from typing import Any

import pandas as pd

from vitec_nb import vocab
from vitec_nb.errors import InvalidQueryError
from vitec_nb.lookups import OfficeLookups, office_label
from vitec_nb.plan.options import BreakdownOptions, values_for
from vitec_nb.plan.values import (
    ASKED_LEAD_SCORES,
    DEFAULT_SERVICES,
    DERIVED_LEAD_SCORE,
    NO_AGENT,
    NO_AGENT_OR_UNLISTED,
    NO_LEAD_SCORE,
    NO_LIST,
    NO_SERVICE,
    OTHER,
    OTHER_OR_NO_LIST,
    OTHER_OR_NO_SERVICE,
    DimensionPlan,
)
from vitec_nb.profile import ServerProfile
from vitec_nb.query import ContactQuery

__all__ = ["plan_dimension"]


def _names(lookup: pd.DataFrame | None, id_column: str) -> dict[Any, str]:
    """Display names by id from a lookup frame (none without a lookup)."""
    if lookup is None:
        return {}
    return dict(zip(map(str, lookup[id_column]), map(str, lookup["name"]), strict=True))


def _agent_remainder(lookups: OfficeLookups, asked: set[str]) -> str:
    """What the contacts in no asked agent's answer are, said honestly.

    Only when every user is listed (GetAllUsers) and asked is the rest "(no agent)"; with
    public users only (GetUser) it may hold an unlisted user's contacts.
    """
    frame = lookups.agents
    if frame is None or not asked >= set(map(str, frame["user_id"])):
        return OTHER
    return NO_AGENT if lookups.agents_complete else NO_AGENT_OR_UNLISTED


def _list_remainder(lookups: OfficeLookups, asked: set[str]) -> str:
    """What the contacts on none of the asked lists are: "(no list)" only when every list
    of the office's lookup was asked; else they may be on a list not asked."""
    frame = lookups.newsletter_lists
    if frame is None or not asked >= set(map(str, frame["id"])):
        return OTHER_OR_NO_LIST
    return NO_LIST


def _service_remainder(asked: set[Any]) -> str:
    """What the contacts holding none of the asked services are: "(no active service)"
    only when every published service (1-3) was asked; else they may hold another."""
    return NO_SERVICE if asked >= set(vocab.SCHEDULED_ORDER_TYPES) else OTHER_OR_NO_SERVICE


def _agent_dimension(
    office: str, query: ContactQuery, lookups: OfficeLookups, opts: BreakdownOptions
) -> DimensionPlan:
    given = values_for(opts.agent_ids, office)
    lookup = lookups.agents
    names = _names(lookup, "user_id")
    if query.agent_id is not None:
        if given is not None and query.agent_id not in given:
            raise InvalidQueryError(
                "agent_ids",
                f"the query already fixes agent {query.agent_id}, which is not among them",
                "leave agent_ids out, or include the query's agent",
            )
        return DimensionPlan("agent", office, (), names, NO_AGENT, fixed=query.agent_id)
    if given is None:
        if lookup is None:
            raise InvalidQueryError(
                "agent_ids", "are needed to plan without the users lookup", "a list of agent ids"
            )
        frame = lookup if opts.include_archived else lookup[~lookup["archived"].astype(bool)]
        given = tuple(map(str, frame["user_id"]))
    return DimensionPlan("agent", office, given, names, _agent_remainder(lookups, set(given)))


def _list_dimension(
    office: str, query: ContactQuery, lookups: OfficeLookups, opts: BreakdownOptions
) -> DimensionPlan:
    given = values_for(opts.newsletter_list_ids, office)
    names = _names(lookups.newsletter_lists, "id")
    fixed = query.newsletter_list_id
    if fixed is not None:
        # every contact is on the query's list; its other lists are still asked (multi-valued)
        if given is None and lookups.newsletter_lists is not None:
            given = tuple(map(str, lookups.newsletter_lists["id"]))
        others = tuple(v for v in given or () if v != fixed)
        rest = _list_remainder(lookups, {fixed, *others})
        return DimensionPlan("newsletter_list", office, others, names, rest, fixed=fixed)
    if given is None:
        if lookups.newsletter_lists is None:
            raise InvalidQueryError(
                "newsletter_list_ids",
                "are needed to plan without the newsletter-lists lookup",
                "a list of list ids",
            )
        given = tuple(map(str, lookups.newsletter_lists["id"]))
    rest = _list_remainder(lookups, set(given))
    return DimensionPlan("newsletter_list", office, given, names, rest)


def _lead_score_dimension(
    office: str, query: ContactQuery, opts: BreakdownOptions, profile: ServerProfile
) -> DimensionPlan:
    """Lead score: ask 1-5, derive 0 (never ask `LeadScore=0`: it may mean "no filter").

    Deceased estates have no lead score: in none of the answers, they are "(no lead
    score)", not 0. With `infer_last`, a server known to filter on 0 and to give every
    person and company a score of 0-5 lets 0-4 be asked and 5 be derived instead.
    """
    name = "lead_score"
    if query.lead_score is not None:
        return DimensionPlan(name, office, (), {}, NO_LEAD_SCORE, fixed=query.lead_score)
    total = profile.zero_filters is True and profile.lead_scores_total is True
    if opts.infer_last and total:
        return DimensionPlan(
            name, office, (0, 1, 2, 3, 4), {}, NO_LEAD_SCORE, inferred=5, unscored=NO_LEAD_SCORE
        )
    return DimensionPlan(
        name,
        office,
        ASKED_LEAD_SCORES,
        {},
        NO_LEAD_SCORE,
        inferred=DERIVED_LEAD_SCORE,
        unscored=NO_LEAD_SCORE,
    )


def _service_dimension(office: str, query: ContactQuery, opts: BreakdownOptions) -> DimensionPlan:
    """Scheduled order type: multi-valued (a contact can hold several services)."""
    name = "scheduled_order_type"
    given = values_for(opts.scheduled_order_types, office)
    values = DEFAULT_SERVICES if given is None else given
    fixed = query.scheduled_order_type
    labels = {v: vocab.service_label(v) for v in (*values, *((fixed,) if fixed else ()))}
    if fixed is not None:
        # every contact holds the query's service; its other services are still asked
        others = tuple(v for v in values if v != fixed)
        rest = _service_remainder({fixed, *others})
        return DimensionPlan(name, office, others, labels, rest, fixed=fixed)
    return DimensionPlan(name, office, tuple(values), labels, _service_remainder(set(values)))


def _custom_field_dimension(
    office: str, query: ContactQuery, opts: BreakdownOptions
) -> DimensionPlan:
    name = "custom_field"
    field_name = opts.custom_field_name or query.custom_field_name
    if field_name is None:
        raise InvalidQueryError(
            "custom_field_name", "is needed to split by custom field", "a custom field name"
        )
    if query.custom_field_name is not None and query.custom_field_name != field_name:
        raise InvalidQueryError(
            "custom_field_name",
            f"the query already filters on custom field {query.custom_field_name!r}; the API "
            f"takes one field per call, so it cannot also split by {field_name!r}",
            f"{query.custom_field_name!r} or no custom field in the query",
        )
    if query.custom_field_value is not None:
        return DimensionPlan(name, office, (), {}, OTHER, fixed=query.custom_field_value)
    given = values_for(opts.custom_field_values, office)
    if not given:
        raise InvalidQueryError(
            "custom_field_values",
            "are needed to split by custom field (the API cannot list a field's values)",
            "a list of values",
        )
    return DimensionPlan(name, office, tuple(given), {}, OTHER)


def _office_dimension(office: str, lookups: OfficeLookups) -> DimensionPlan:
    """The office: free, every answer carries its customerId; fixed per office (no call).

    Its display name is the office's name from `Office/GetOffice`: "Södermalm (M30011)".
    """
    names = {office: office_label(office, lookups.office_name)}
    return DimensionPlan("office", office, (), names, OTHER, fixed=office)


def plan_dimension(
    name: str,
    office: str,
    query: ContactQuery,
    lookups: OfficeLookups,
    opts: BreakdownOptions,
    profile: ServerProfile,
) -> DimensionPlan:
    """How one dimension is split in one office (pure: lookups are plain data)."""
    if name == "agent":
        return _agent_dimension(office, query, lookups, opts)
    if name == "newsletter_list":
        return _list_dimension(office, query, lookups, opts)
    if name == "lead_score":
        return _lead_score_dimension(office, query, opts, profile)
    if name == "scheduled_order_type":
        return _service_dimension(office, query, opts)
    if name == "office":
        return _office_dimension(office, lookups)
    return _custom_field_dimension(office, query, opts)
