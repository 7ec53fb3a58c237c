"""Planning as a value: which calls a breakdown makes, decided from plain data, no network."""

from __future__ import annotations

import datetime as dt
import itertools

import pandas as pd
import pytest

from vitec_nb import ContactQuery, InvalidQueryError
from vitec_nb.lookups import OfficeLookups
from vitec_nb.plan import (
    NO_AGENT,
    NO_AGENT_OR_UNLISTED,
    NO_LEAD_SCORE,
    NO_LIST,
    NO_SERVICE,
    OTHER,
    BreakdownOptions,
    RunOptions,
    breakdown_options,
    plan_breakdown,
)
from vitec_nb.profile import ServerProfile

TZ = "Europe/Stockholm"
PAST = "2026-06-01"  # planning "now" after the ranges below: the end check is needed
YEAR = {"start": "2025-01-01", "end": "2025-12-31"}  # the whole of 2025
OFFICE = "M30011"


def agents(ids, archived=(), public=None):
    ids = list(ids)
    return pd.DataFrame(
        {
            "user_id": ids,
            "name": [f"Name {i}" for i in ids],
            "title": "",
            "archived": [i in archived for i in ids],
            "public": [True if public is None else i in public for i in ids],
            "customer_id": OFFICE,
        }
    )


ALL_USERS = OfficeLookups(OFFICE, agents=agents(["AG1", "AG2", "AG3"]), agents_complete=True)
PUBLIC_USERS = OfficeLookups(OFFICE, agents=agents(["AG1", "AG2"]), agents_complete=False)
LISTS = OfficeLookups(
    OFFICE, newsletter_lists=pd.DataFrame({"id": ["NL1", "NL2"], "name": ["A", "B"]})
)


def plan(query=None, by=("agent",), lookups=ALL_USERS, profile=None, **options):
    query = query or ContactQuery(OFFICE)
    options.setdefault("now", PAST)
    for key, value in YEAR.items():
        options.setdefault(key, value)
    opts, _ = breakdown_options(query, by, **options)
    return plan_breakdown(query, {OFFICE: lookups}, opts, profile)


# (case, query kwargs, by, lookups, options, calls, words in describe())
CASES = [
    (
        "agents per month",
        {},
        ("agent",),
        ALL_USERS,
        {},
        1 + 12 + 1 + 3,
        "12 months + 1 end check + 3 agents",
    ),
    (
        "end still in the future: no end check",
        {},
        ("agent",),
        ALL_USERS,
        {"now": "2025-12-15"},
        1 + 12 + 3,
        "12 months + 3 agents",
    ),
    (
        "an end with a time is included: no end check",
        {},
        (),
        ALL_USERS,
        {"end": "2025-12-31 12:00"},
        1 + 12,
        "1 base + 12 months",
    ),
    (
        "changed: no windows",
        {},
        ("agent",),
        ALL_USERS,
        {"measure": "changed"},
        1 + 3,
        "1 base + 3 agents",
    ),
    (
        "lead score: five values, 0 derived",
        {},
        ("lead_score",),
        ALL_USERS,
        {},
        1 + 12 + 1 + 5,
        "5 lead scores",
    ),
    (
        "infer_last on an unknown server: the same five",
        {},
        ("lead_score",),
        ALL_USERS,
        {"infer_last": True},
        1 + 12 + 1 + 5,
        "5 lead scores",
    ),
    (
        "lead score fixed by the query",
        {"lead_score": 5},
        ("lead_score",),
        ALL_USERS,
        {},
        1 + 12 + 1,
        "0 lead scores (fixed by the query)",
    ),
    (
        "lead score 0 in the query: base minus 1-5",
        {"lead_score": 0},
        (),
        ALL_USERS,
        {},
        1 + 12 + 1 + 5,
        "5 lead scores left out",
    ),
    (
        "agent fixed by the query",
        {"agent_id": "AG2"},
        ("agent",),
        ALL_USERS,
        {},
        1 + 12 + 1,
        "0 agents (fixed by the query)",
    ),
    ("quarters", {}, ("agent",), ALL_USERS, {"period": "quarter"}, 1 + 4 + 1 + 3, "4 quarters"),
    (
        "partial first month",
        {},
        (),
        ALL_USERS,
        {"start": "2025-01-15", "end": "2025-03-31"},
        1 + 3 + 1,
        "3 months",
    ),
    (
        "one period: the window is the base call",
        {},
        (),
        ALL_USERS,
        {"start": "2025-03-01", "end": "2025-03-31"},
        1 + 1,
        "1 base + 1 end check",
    ),
    (
        "two dimensions",
        {},
        ("agent", "lead_score"),
        ALL_USERS,
        {},
        1 + 12 + 1 + 3 + 5,
        "3 agents + 5 lead scores",
    ),
    (
        "services: the published 1-3",
        {},
        ("scheduled_order_type",),
        ALL_USERS,
        {},
        1 + 12 + 1 + 3,
        "3 scheduled order types",
    ),
    (
        "services given, an unknown number too",
        {},
        ("scheduled_order_type",),
        ALL_USERS,
        {"scheduled_order_types": ["EstateValue", 7]},
        1 + 12 + 1 + 2,
        "2 scheduled order types",
    ),
    (
        "a service fixed by the query: the others asked",
        {"scheduled_order_type": 2},
        ("scheduled_order_type",),
        ALL_USERS,
        {},
        1 + 12 + 1 + 2,
        "2 other scheduled order types (one fixed by the query)",
    ),
    (
        "a list fixed by the query: the others asked",
        {"newsletter_list_id": "NL1"},
        ("newsletter_list",),
        LISTS,
        {},
        1 + 12 + 1 + 1,
        "1 other newsletter list (one fixed by the query)",
    ),
    (
        "custom field values",
        {},
        ("custom_field",),
        ALL_USERS,
        {"custom_field_name": "Budget", "custom_field_values": ["1", 2]},
        1 + 12 + 1 + 2,
        "2 custom field values",
    ),
    (
        "newsletter lists from the lookup",
        {},
        ("newsletter_list",),
        LISTS,
        {},
        1 + 12 + 1 + 2,
        "2 newsletter lists",
    ),
    (
        "newsletter lists given",
        {},
        ("newsletter_list",),
        OfficeLookups(OFFICE),
        {"newsletter_list_ids": ["NL1"]},
        1 + 12 + 1 + 1,
        "1 newsletter list",
    ),
    ("no dimension", {}, (), ALL_USERS, {}, 1 + 12 + 1, "1 base + 12 months + 1 end check"),
]


@pytest.mark.parametrize(
    ("query_kw", "by", "lookups", "options", "calls", "words"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_plan_makes_one_call_per_value_and_window(query_kw, by, lookups, options, calls, words):
    p = plan(ContactQuery(OFFICE, **query_kw), by, lookups, **options)
    assert p.n_calls == calls
    assert words in p.describe()
    assert p.describe().startswith(f"{calls} call")


# (case, lookups, agent_ids, include_archived, remainder)
REMAINDERS = [
    ("every user listed and asked", ALL_USERS, None, True, NO_AGENT),
    ("public users only", PUBLIC_USERS, None, True, NO_AGENT_OR_UNLISTED),
    ("a subset given", ALL_USERS, ["AG1"], True, OTHER),
    ("all given, every user listed", ALL_USERS, ["AG1", "AG2", "AG3"], True, NO_AGENT),
    ("all given, public users only", PUBLIC_USERS, ["AG1", "AG2"], True, NO_AGENT_OR_UNLISTED),
    (
        "archived left out",
        OfficeLookups(
            OFFICE, agents=agents(["AG1", "AG2"], archived={"AG2"}), agents_complete=True
        ),
        None,
        False,
        OTHER,
    ),
    ("no lookup, ids given", OfficeLookups(OFFICE), ["AG1"], True, OTHER),
]


@pytest.mark.parametrize(
    ("lookups", "agent_ids", "archived", "remainder"),
    [c[1:] for c in REMAINDERS],
    ids=[c[0] for c in REMAINDERS],
)
def test_the_agent_remainder_is_labelled_by_what_the_lookup_can_know(
    lookups, agent_ids, archived, remainder
):
    p = plan(lookups=lookups, agent_ids=agent_ids, include_archived=archived)
    (dim,) = p.offices[0].dimensions
    assert dim.remainder == remainder
    assert dim.all_values[-1] == remainder


def test_derived_buckets_are_never_asked():
    p = plan(by=("lead_score", "scheduled_order_type", "newsletter_list"), lookups=LISTS)
    sent = [c.query.to_params() for c in p.calls]
    assert all(params.get("LeadScore") != "0" for params in sent)
    assert {params.get("ContactScheduledOrderType") for params in sent} == {None, "1", "2", "3"}
    lead, services, lists = p.offices[0].dimensions
    assert (lead.values, lead.inferred, lead.unscored) == ((1, 2, 3, 4, 5), 0, NO_LEAD_SCORE)
    assert services.multi_valued and services.remainder == NO_SERVICE
    assert services.names == {
        1: "Home valuation",
        2: "Final prices in the area",
        3: "Boneo search profile",
    }
    assert lists.multi_valued and lists.remainder == NO_LIST


def test_lead_score_zero_in_the_query_is_the_base_set_minus_one_to_five():
    p = plan(ContactQuery(OFFICE, lead_score=0), by=())
    office = p.offices[0]
    assert "LeadScore" not in office.base.query.to_params()
    assert [c.value for c in office.exclusions] == [1, 2, 3, 4, 5]
    assert p.exclude_kinds == ("deceased_estate",)  # they have no lead score, so not 0


def test_a_server_known_to_filter_on_zero_is_asked_for_zero():
    profile = ServerProfile(zero_filters=True)
    p = plan(ContactQuery(OFFICE, lead_score=0), by=(), profile=profile)
    assert p.offices[0].base.query.to_params()["LeadScore"] == "0"
    assert p.offices[0].exclusions == () and p.exclude_kinds == ()


def test_two_offices_are_planned_each_with_their_own_agents():
    query = ContactQuery(["M30011", "M30012"])
    opts, _ = breakdown_options(
        query, ("agent",), agent_ids={"M30011": ["A1", "A2"], "M30012": ["B1"]}, now=PAST, **YEAR
    )
    p = plan_breakdown(query, {}, opts)
    assert p.n_calls == 2 * (1 + 12 + 1) + 2 + 1
    assert {c.query.customer_id for c in p.calls} == {"M30011", "M30012"}
    assert "M30011: 1 base + 12 months + 1 end check + 2 agents" in p.describe()


def test_every_call_is_the_base_query_plus_the_range_plus_one_value():
    base = ContactQuery(OFFICE, lead_score=4, newsletter_list_id="NL9")
    p = plan(base, ("agent",))
    for call in p.calls:
        params = call.query.to_params()
        assert params["LeadScore"] == "4" and params["NewsletterListId"] == "NL9"
        if call.dimension == "agent":
            assert params["AgentId"] == call.value
            assert (params["CreatedAtFrom"], params["CreatedAtTo"]) == (
                "2025-01-01T00:00:00",
                "2026-01-01T00:00:00",
            )


def test_adjacent_windows_share_their_boundaries():
    p = plan(by=())
    windows = [c.query for c in p.calls if c.dimension == "created"]
    assert windows[0].created_from == pd.Timestamp("2025-01-01", tz=TZ)
    assert windows[-1].created_to == pd.Timestamp("2026-01-01", tz=TZ)
    for left, right in itertools.pairwise(windows):
        assert left.created_to == right.created_from


# (case, end option, exclusive stop, end included, end check made, partial periods)
ENDS = [
    ("date text: the whole day", "2025-12-31", "2026-01-01", False, True, ()),
    ("a date: the whole day", dt.date(2025, 12, 31), "2026-01-01", False, True, ()),
    ("mid-month date: December partial", "2025-12-14", "2025-12-15", False, True, ("2025-12-01",)),
    ("a time: that instant, included", "2025-12-31 23:30", None, True, False, ("2025-12-01",)),
    (
        "a datetime at midnight: included",
        dt.datetime(2026, 1, 1),
        None,
        True,
        False,
        ("2026-01-01",),
    ),
]


@pytest.mark.parametrize(
    ("end", "stop", "included", "end_check", "partial"),
    [c[1:] for c in ENDS],
    ids=[c[0] for c in ENDS],
)
def test_one_date_convention_for_the_end(end, stop, included, end_check, partial):
    p = plan(by=(), end=end)
    assert p.end_included is included
    if stop is not None:
        assert p.end == p.stop == pd.Timestamp(stop, tz=TZ)
    assert (p.offices[0].end_check is not None) is end_check
    assert p.partial_periods == tuple(pd.Timestamp(x, tz=TZ) for x in partial)
    last = [c.query for c in p.calls if c.dimension == "created"][-1]
    assert last.created_to == p.end


def test_end_check_asks_for_exactly_the_end_instant():
    p = plan(by=())
    (check,) = [c for c in p.calls if c.dimension == "end"]
    assert check.query.created_from == check.query.created_to == pd.Timestamp("2026-01-01", tz=TZ)


def test_a_partial_first_period_is_marked():
    p = plan(by=(), start="2025-01-15", end="2025-03-31")
    assert p.partial_periods == (pd.Timestamp("2025-01-01", tz=TZ),)


def test_windows_start_at_stockholm_midnight_across_dst():
    p = plan(by=(), period="W", start="2025-03-24", end="2025-04-06")
    starts = [c.query.created_from for c in p.calls if c.dimension == "created"]
    assert [str(t) for t in starts] == ["2025-03-24 00:00:00+01:00", "2025-03-31 00:00:00+02:00"]


def test_default_range_is_twelve_periods_up_to_the_next_period_start():
    query = ContactQuery(OFFICE)
    opts, _ = breakdown_options(query, (), now="2025-05-17 10:00")
    p = plan_breakdown(query, {}, opts)
    assert p.start == pd.Timestamp("2024-06-01", tz=TZ)
    assert p.end == pd.Timestamp("2025-06-01", tz=TZ)
    assert len(p.periods) == 12


def test_query_created_bounds_give_the_range():
    """A query's date-only created_to is its whole day, like the breakdown's own end."""
    query = ContactQuery(OFFICE, created_from="2025-02-01", created_to="2025-04-30")
    opts, _ = breakdown_options(query, (), now=PAST)
    p = plan_breakdown(query, {}, opts)
    assert (p.start, p.end, p.end_included) == (
        pd.Timestamp("2025-02-01", tz=TZ),
        pd.Timestamp("2025-05-01", tz=TZ),
        False,
    )
    assert p.offices[0].end_check is not None


def test_call_labels_say_what_each_call_is_for():
    labels = [c.label for c in plan().calls]
    assert "M30011 base set" in labels
    assert "M30011 created 2025-03" in labels
    assert "M30011 created at 2026-01-01" in labels
    assert "M30011 agent AG2 (Name AG2)" in labels


def test_run_options_stay_out_of_the_plan():
    query = ContactQuery(OFFICE)
    calls = []
    opts, run = breakdown_options(
        query, (), progress=lambda d, t: calls.append(d), concurrency=2, now=PAST, **YEAR
    )
    assert isinstance(opts, BreakdownOptions) and isinstance(run, RunOptions)
    assert run.concurrency == 2 and callable(run.progress)
    first = plan_breakdown(query, {}, opts)
    _, other_run = breakdown_options(query, (), progress=False, now=PAST, **YEAR)
    again = plan_breakdown(query, {}, opts)
    assert first == again and other_run != run  # a different progress never splits plans


def test_pure_planning_accepts_a_mapping_of_options():
    query = ContactQuery(OFFICE)
    p = plan_breakdown(query, {OFFICE: ALL_USERS}, {"by": ("agent",), "now": PAST, **YEAR})
    assert p.n_calls == 1 + 12 + 1 + 3


# (case, by, options, field named in the error)
INVALID = [
    ("unknown dimension", ("colour",), {}, "by"),
    ("dimension twice", ("agent", "agent"), {}, "by"),
    ("unknown period", (), {"period": "fortnight"}, "period"),
    ("unknown measure", (), {"measure": "deleted"}, "measure"),
    ("end before start", (), {"start": "2025-05-01", "end": "2025-04-01"}, "end"),
    ("too many threads", (), {"concurrency": 9}, "concurrency"),
    ("zero threads", (), {"concurrency": 0}, "concurrency"),
    ("unknown option", (), {"colour": "red"}, "colour"),
    (
        "custom field without a name",
        ("custom_field",),
        {"custom_field_values": ["a"]},
        "custom_field_name",
    ),
    (
        "custom field without values",
        ("custom_field",),
        {"custom_field_name": "Budget"},
        "custom_field_values",
    ),
    (
        "custom field value None",
        ("custom_field",),
        {"custom_field_name": "B", "custom_field_values": [None]},
        "custom_field_values",
    ),
    ("agents without a lookup", ("agent",), {"agent_ids": None}, "agent_ids"),
    ("lists without a lookup", ("newsletter_list",), {}, "newsletter_list_ids"),
    (
        "newsletter list None",
        ("newsletter_list",),
        {"newsletter_list_ids": [None]},
        "newsletter_list_ids",
    ),
    (
        "negative service",
        ("scheduled_order_type",),
        {"scheduled_order_types": [-1]},
        "scheduled_order_types",
    ),
    (
        "service 0",
        ("scheduled_order_type",),
        {"scheduled_order_types": [0, 1]},
        "scheduled_order_types",
    ),
    (
        "service given twice",
        ("scheduled_order_type",),
        {"scheduled_order_types": [2, "FinalPricesInArea"]},
        "scheduled_order_types",
    ),
    (
        "service 1 and '1'",
        ("scheduled_order_type",),
        {"scheduled_order_types": [1, "1"]},
        "scheduled_order_types",
    ),
    ("too many calls", (), {"period": "D", "start": "2020-01-01", "max_calls": 100}, "max_calls"),
    ("max_calls negative", (), {"max_calls": -1}, "max_calls"),
    ("max_calls text", (), {"max_calls": "x"}, "max_calls"),
    ("max_calls bool", (), {"max_calls": True}, "max_calls"),
    ("infer_last as text", ("lead_score",), {"infer_last": "no"}, "infer_last"),
    (
        "include_archived as text",
        ("agent",),
        {"include_archived": "no", "agent_ids": ["A"]},
        "include_archived",
    ),
    ("allow_partial as text", (), {"allow_partial": "no"}, "allow_partial"),
    ("agent id not text", ("agent",), {"agent_ids": [5]}, "agent_ids"),
    ("agent id empty", ("agent",), {"agent_ids": [" "]}, "agent_ids"),
    ("agent ids for another office", ("agent",), {"agent_ids": {"M99999": ["A"]}}, "agent_ids"),
    ("year 1", (), {"start": "0001-01-01"}, "start"),
    ("year 9999", (), {"end": "9999-12-31"}, "end"),
    (
        "1916: a midnight twice",
        (),
        {"start": "1916-09-01", "end": "1916-10-31", "period": "D"},
        "end",
    ),
]


@pytest.mark.parametrize(
    ("by", "options", "field"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_bad_breakdown_options_name_the_field(by, options, field):
    query = ContactQuery(OFFICE)
    options = {"now": PAST, **YEAR, **options}
    with pytest.raises(InvalidQueryError) as info:
        opts, _ = breakdown_options(query, by, **options)
        plan_breakdown(query, {OFFICE: OfficeLookups(OFFICE)}, opts)
    assert info.value.field == field
    assert field in str(info.value)


def test_custom_field_split_needs_the_field_the_query_filters_on():
    query = ContactQuery(OFFICE, custom_field_name="Budget")
    with pytest.raises(InvalidQueryError) as info:
        plan(query, ("custom_field",), custom_field_name="Boendeform", custom_field_values=["x"])
    assert info.value.field == "custom_field_name"


def test_given_range_is_narrowed_by_the_query_own_bounds():
    query = ContactQuery(OFFICE, changed_from="2025-03-15", changed_to="2025-08-31")
    opts, _ = breakdown_options(query, (), measure="changed", **YEAR)
    p = plan_breakdown(query, {}, opts)
    assert (p.start, p.end) == (
        pd.Timestamp("2025-03-15", tz=TZ),
        pd.Timestamp("2025-09-01", tz=TZ),
    )
    (base,) = p.calls  # changed: no window calls, no end check
    assert base.query.to_params() == {
        "ChangedAtFrom": "2025-03-15T00:00:00",
        "ChangedAtTo": "2025-09-01T00:00:00",
    }
