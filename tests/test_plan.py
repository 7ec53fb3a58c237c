"""Planning as a value: which calls a breakdown makes, decided with no network at all."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from vitec_nb import ContactQuery, InvalidQueryError
from vitec_nb.plan import plan_breakdown

TZ = "Europe/Stockholm"
PAST = "2026-06-01"  # planning "now" after the ranges below: the end check is needed
AGENTS = ["AG1", "AG2", "AG3"]
YEAR = {"start": "2025-01-01", "end": "2026-01-01"}


def plan(query=None, by=("agent",), **options):
    options.setdefault("now", PAST)
    if "agent" in by:
        options.setdefault("agent_ids", AGENTS)
    for key, value in YEAR.items():
        options.setdefault(key, value)
    return plan_breakdown(None, query or ContactQuery("M30011"), by, **options)


# (case, query kwargs, by, options, calls, words in describe())
CASES = [
    (
        "agents per month",
        {},
        ("agent",),
        {},
        1 + 12 + 1 + 3,
        "1 base + 12 months + 1 end check + 3 agents",
    ),
    (
        "end still in the future: no end check",
        {},
        ("agent",),
        {"now": "2025-12-15"},
        1 + 12 + 3,
        "12 months + 3 agents",
    ),
    ("changed: no windows", {}, ("agent",), {"measure": "changed"}, 1 + 3, "1 base + 3 agents"),
    ("lead score: six values", {}, ("lead_score",), {}, 1 + 12 + 1 + 6, "6 lead scores"),
    (
        "lead score inferred",
        {},
        ("lead_score",),
        {"infer_last": True},
        1 + 12 + 1 + 5,
        "5 lead scores",
    ),
    (
        "lead score fixed by the query",
        {"lead_score": 5},
        ("lead_score",),
        {},
        1 + 12 + 1,
        "0 lead scores (fixed by the query)",
    ),
    (
        "agent fixed by the query",
        {"agent_id": "AG2"},
        ("agent",),
        {},
        1 + 12 + 1,
        "0 agents (fixed by the query)",
    ),
    ("quarters", {}, ("agent",), {"period": "quarter"}, 1 + 4 + 1 + 3, "4 quarters"),
    (
        "partial first month",
        {},
        (),
        {"start": "2025-01-15", "end": "2025-04-01"},
        1 + 3 + 1,
        "3 months",
    ),
    (
        "one period: the window is the base call",
        {},
        (),
        {"start": "2025-03-01", "end": "2025-04-01"},
        1 + 1,
        "1 base + 1 end check",
    ),
    (
        "two dimensions",
        {},
        ("agent", "lead_score"),
        {},
        1 + 12 + 1 + 3 + 6,
        "3 agents + 6 lead scores",
    ),
    (
        "scheduled order types: the labelled ones",
        {},
        ("scheduled_order_type",),
        {},
        1 + 12 + 1 + 5,
        "5 scheduled order types",
    ),
    (
        "scheduled order types given",
        {},
        ("scheduled_order_type",),
        {"scheduled_order_types": [0, 7]},
        1 + 12 + 1 + 2,
        "2 scheduled order types",
    ),
    (
        "custom field values",
        {},
        ("custom_field",),
        {"custom_field_name": "Budget", "custom_field_values": ["1", "2"]},
        1 + 12 + 1 + 2,
        "2 custom field values",
    ),
    (
        "newsletter lists given",
        {},
        ("newsletter_list",),
        {"newsletter_list_ids": ["NL1"]},
        1 + 12 + 1 + 1,
        "1 newsletter list",
    ),
    ("no dimension", {}, (), {}, 1 + 12 + 1, "1 base + 12 months + 1 end check"),
]


@pytest.mark.parametrize(
    ("query_kw", "by", "options", "calls", "words"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_plan_makes_one_call_per_value_and_window(query_kw, by, options, calls, words):
    p = plan(ContactQuery("M30011", **query_kw), by, **options)
    assert p.n_calls == calls
    assert words in p.describe()
    assert p.describe().startswith(f"{calls} call")


def test_two_offices_are_planned_each_with_their_own_agents():
    query = ContactQuery(["M30011", "M30012"])
    p = plan(query, agent_ids={"M30011": ["A1", "A2"], "M30012": ["B1"]})
    assert p.n_calls == 2 * (1 + 12 + 1) + 2 + 1
    assert {c.query.customer_id for c in p.calls} == {"M30011", "M30012"}
    assert "M30011: 1 base + 12 months + 1 end check + 2 agents" in p.describe()


def test_every_call_is_the_base_query_plus_the_range_plus_one_value():
    base = ContactQuery("M30011", lead_score=4, newsletter_list_id="NL9")
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


def test_end_check_asks_for_exactly_the_end_instant():
    p = plan(by=())
    (check,) = [c for c in p.calls if c.dimension == "end"]
    assert check.query.created_from == check.query.created_to == pd.Timestamp("2026-01-01", tz=TZ)


def test_windows_start_at_stockholm_midnight_across_dst():
    p = plan(by=(), period="W", start="2025-03-24", end="2025-04-07")
    starts = [c.query.created_from for c in p.calls if c.dimension == "created"]
    assert [str(t) for t in starts] == ["2025-03-24 00:00:00+01:00", "2025-03-31 00:00:00+02:00"]


def test_default_range_is_twelve_periods_up_to_the_next_period_start():
    p = plan_breakdown(None, ContactQuery("M30011"), (), now="2025-05-17 10:00")
    assert p.start == pd.Timestamp("2024-06-01", tz=TZ)
    assert p.end == pd.Timestamp("2025-06-01", tz=TZ)
    assert len(p.periods) == 12


def test_query_created_bounds_give_the_range():
    query = ContactQuery("M30011", created_from="2025-02-01", created_to="2025-05-01")
    p = plan_breakdown(None, query, (), now=PAST)
    assert (p.start, p.end) == (
        pd.Timestamp("2025-02-01", tz=TZ),
        pd.Timestamp("2025-05-01", tz=TZ),
    )


def test_call_labels_say_what_each_call_is_for():
    labels = [c.label for c in plan().calls]
    assert "M30011 base set" in labels
    assert "M30011 created 2025-03" in labels
    assert "M30011 created at 2026-01-01" in labels
    assert "M30011 agent AG2" in labels


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
    ("agents without a client", ("agent",), {"agent_ids": None}, "agent_ids"),
    ("lists without a client", ("newsletter_list",), {}, "newsletter_list_ids"),
    (
        "negative order type",
        ("scheduled_order_type",),
        {"scheduled_order_types": [-1]},
        "scheduled_order_type",
    ),
    ("too many calls", (), {"period": "D", "start": "2020-01-01", "max_calls": 100}, "period"),
    ("agent id not text", ("agent",), {"agent_ids": [5]}, "agent_ids"),
]


@pytest.mark.parametrize(
    ("by", "options", "field"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_bad_breakdown_options_name_the_field(by, options, field):
    options = {"now": PAST, **YEAR, **options}
    with pytest.raises(InvalidQueryError) as info:
        plan_breakdown(None, ContactQuery("M30011"), by, **options)
    assert info.value.field == field


def test_custom_field_split_needs_the_field_the_query_filters_on():
    query = ContactQuery("M30011", custom_field_name="Budget")
    with pytest.raises(InvalidQueryError) as info:
        plan(query, ("custom_field",), custom_field_name="Boendeform", custom_field_values=["x"])
    assert info.value.field == "custom_field_name"


def test_given_range_is_narrowed_by_the_query_own_bounds():
    query = ContactQuery("M30011", changed_from="2025-03-15", changed_to="2025-09-01")
    p = plan_breakdown(None, query, (), measure="changed", start="2025-01-01", end="2026-01-01")
    assert (p.start, p.end) == (
        pd.Timestamp("2025-03-15", tz=TZ),
        pd.Timestamp("2025-09-01", tz=TZ),
    )
    (base,) = p.calls  # changed: no window calls, no end check
    assert base.query.to_params() == {
        "ChangedAtFrom": "2025-03-15T00:00:00",
        "ChangedAtTo": "2025-09-01T00:00:00",
    }
