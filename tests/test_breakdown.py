"""Breakdowns against the stand-in: exact counts, the fewest calls, caching, failures."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from tests.plugins.breakdown import (
    NO_AGENT,
    NO_LEAD_SCORE,
    assert_counts_equal,
    month_edges,
    naive_counts,
    result_counts,
    truth_counts,
    ts,
)
from vitec_nb import ContactQuery, IncompleteBreakdownError, InvalidQueryError
from vitec_nb.plan import BreakdownWarning, cached_calls, plan_breakdown, run_breakdown

# the whole of 2025: a date-only end is the whole of that day (up to 2026-01-01, excluded)
START, END = "2025-01-01", "2025-12-31"
END_TS = "2026-01-01"
TZ = "Europe/Stockholm"


def contact_requests(standin) -> list:
    return [r for r in standin.requests if r.path.startswith("/CRM/Contact/")]


def key(params: dict) -> tuple:
    """A request's parameters as a sortable key."""
    return tuple(sorted(params.items()))


def run(client, query, by=("agent",), **kw):
    if isinstance(query, ContactQuery):
        kw.setdefault("start", START)
        kw.setdefault("end", END)
    kw.setdefault("progress", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean stand-in run must raise no BreakdownWarning
        return run_breakdown(client, query, by, **kw)


# -- concurrency ---------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 3])
def test_the_server_never_sees_more_requests_at_once_than_the_concurrency(
    make_standin, make_breakdown_client, concurrency
):
    """Threads parse and store answers while others wait on the network; the number of
    requests in flight stays the `concurrency` asked for (and reaches it)."""
    s = make_standin(seed=1, contacts=1500, offices=1, agents=4, latency=0.03)
    s.clear_requests()
    result = run(make_breakdown_client(s), ContactQuery(s.customer_ids[0]), concurrency=concurrency)
    assert result.calls == len(contact_requests(s)) > 3 * concurrency
    assert s.max_in_flight == concurrency


# -- exactness -----------------------------------------------------------------------------


def test_agent_month_counts_equal_ground_truth(breakdown_standin, make_breakdown_client):
    s = breakdown_standin
    office = s.customer_ids[0]
    result = run(make_breakdown_client(s), ContactQuery(office))
    expected = truth_counts(s.truth, [office], ts(START), ts(END_TS))
    assert_counts_equal(result_counts(result.counts), expected)


def test_agent_month_counts_equal_naive_cell_by_cell_requests(
    breakdown_standin, make_breakdown_client
):
    s = breakdown_standin
    office = s.customer_ids[1]
    result = run(make_breakdown_client(s), ContactQuery(office))
    agents = list(s.agents.loc[s.agents["customer_id"] == office, "user_id"])
    naive = naive_counts(s, office, month_edges(START, END_TS), agents)
    assert_counts_equal(result_counts(result.counts), naive)


def test_two_offices_at_once_equal_ground_truth(breakdown_standin, make_breakdown_client):
    s = breakdown_standin
    result = run(make_breakdown_client(s), ContactQuery(s.customer_ids))
    expected = truth_counts(s.truth, s.customer_ids, ts(START), ts(END_TS))
    assert_counts_equal(result_counts(result.counts), expected)
    assert set(result.facts["customer_id"]) == set(s.customer_ids)


def test_contacts_created_exactly_on_month_starts_count_in_the_later_month(
    seed3_standin, make_breakdown_client
):
    s = seed3_standin
    office = s.customer_ids[1]
    truth = s.truth[s.truth["customer_id"] == office]
    c = truth["created_at"]
    on_edge = truth[(c == c.dt.normalize()) & (c.dt.day == 1) & (c > ts(START)) & (c < ts(END_TS))]
    assert len(on_edge) > 0, "the stand-in data should hold contacts exactly on month starts"
    result = run(make_breakdown_client(s), ContactQuery(office))
    facts = result.facts.set_index(result.facts["id"].astype(object))
    got = facts.loc[list(on_edge["id"].astype(object)), "period"]
    assert list(got) == list(on_edge["created_at"])


def test_contact_created_exactly_at_the_end_is_left_out(seed3_standin, make_breakdown_client):
    s = seed3_standin
    c = s.truth["created_at"]
    on_month_start = s.truth[(c == c.dt.normalize()) & (c.dt.day == 1)]
    assert len(on_month_start) > 0, "the stand-in data should hold contacts on month starts"
    row = on_month_start.sort_values("created_at").iloc[-1]
    end = row["created_at"]
    start = (end.tz_localize(None) - pd.DateOffset(months=6)).tz_localize(TZ)
    office = row["customer_id"]
    last_day = (end.tz_localize(None) - pd.Timedelta(days=1)).date()  # whole day: up to `end`
    result = run(make_breakdown_client(s), ContactQuery(office), start=start, end=last_day)
    assert result.plan.end == end and not result.plan.end_included
    assert row["id"] not in set(result.facts["id"])
    assert result.plan.n_calls == 1 + 6 + 1 + 8  # the end check is made
    expected = truth_counts(s.truth, [office], start, end)
    assert_counts_equal(result_counts(result.counts), expected)


def test_daily_counts_on_dst_change_days_equal_ground_truth(
    breakdown_standin, make_breakdown_client
):
    s = breakdown_standin
    client = make_breakdown_client(s)
    # the end day is included whole: the truth's range stops at the next midnight
    for lo, hi, stop in (
        ("2025-03-27", "2025-04-01", "2025-04-02"),
        ("2025-10-23", "2025-10-28", "2025-10-29"),
    ):
        dst = s.truth[
            s.truth["created_at"].dt.strftime("%Y-%m-%d").isin(["2025-03-30", "2025-10-26"])
        ]
        assert len(dst) > 0, "the stand-in data should hold contacts on DST change days"
        result = run(client, ContactQuery(s.customer_ids), by=(), period="D", start=lo, end=hi)
        expected = truth_counts(s.truth, s.customer_ids, ts(lo), ts(stop), by=None, period="D")
        pd.testing.assert_series_equal(
            result_counts(result.counts, by=None), expected, check_names=False
        )


def test_contacts_without_an_agent_are_counted_as_no_agent(seed3_standin, make_breakdown_client):
    s = seed3_standin
    office = s.customer_ids[0]
    truth = s.truth[
        (s.truth["customer_id"] == office)
        & s.truth["created_at"].between(ts(START), ts(END_TS), inclusive="left")
    ]
    assert truth["agent_id"].isna().sum() > 0
    result = run(make_breakdown_client(s), ContactQuery(office))
    no_agent = result.counts[result.counts["agent"] == NO_AGENT]["contacts"].sum()
    assert no_agent == truth["agent_id"].isna().sum()


def test_changed_activity_counts_equal_ground_truth(seed3_standin, make_breakdown_client):
    s = seed3_standin
    office = s.customer_ids[0]
    result = run(make_breakdown_client(s), ContactQuery(office), measure="changed")
    expected = truth_counts(s.truth, [office], ts(START), ts(END_TS), measure="changed")
    assert_counts_equal(result_counts(result.counts), expected)


def test_lead_score_counts_equal_ground_truth(seed3_standin, make_breakdown_client):
    s = seed3_standin
    office = s.customer_ids[1]
    result = run(make_breakdown_client(s), ContactQuery(office), by=("lead_score",))
    expected = truth_counts(s.truth, [office], ts(START), ts(END_TS), by="lead_score")
    got = result_counts(result.counts, by="lead_score")
    assert_counts_equal(got, expected)


def test_lead_score_zero_is_derived_and_never_asked(seed3_standin, make_breakdown_client):
    """LeadScore=0 may mean "no filter": 0 is the base set minus 1-5; infer_last changes
    nothing while the server is not known to filter on 0."""
    s = seed3_standin
    query = ContactQuery(s.customer_ids[1])
    s.clear_requests()
    full = run(make_breakdown_client(s), query, by=("lead_score",))
    inferred = run(make_breakdown_client(s), query, by=("lead_score",), infer_last=True)
    assert all(r.params.get("LeadScore") != "0" for r in contact_requests(s))
    assert {c.value for c in full.plan.calls if c.dimension == "lead_score"} == {1, 2, 3, 4, 5}
    assert inferred.calls == full.calls
    pd.testing.assert_frame_equal(inferred.counts, full.counts)


def test_deceased_estates_without_a_lead_score_have_their_own_label(
    seed3_standin, make_breakdown_client
):
    s = seed3_standin
    office = s.customer_ids[1]
    result = run(make_breakdown_client(s), ContactQuery(office), by=("lead_score",))
    truth = s.truth[
        (s.truth["customer_id"] == office)
        & s.truth["created_at"].between(ts(START), ts(END_TS), inclusive="left")
    ]
    unscored = truth[truth["lead_score"].isna()]
    assert len(unscored) > 0, "the stand-in should hold deceased estates"
    totals = result.counts.groupby("lead_score", observed=True)["contacts"].sum()
    assert totals[NO_LEAD_SCORE] == len(unscored)
    assert totals[0] == (truth["lead_score"] == 0).sum()
    facts = result.facts.set_index(result.facts["id"].astype(object))
    assert set(facts.loc[list(unscored["id"].astype(object)), "lead_score"]) == {NO_LEAD_SCORE}


def test_newsletter_list_counts_equal_ground_truth(seed3_standin, make_breakdown_client):
    s = seed3_standin
    office = s.customer_ids[0]
    result = run(make_breakdown_client(s), ContactQuery(office), by=("newsletter_list",))
    truth = s.truth[
        (s.truth["customer_id"] == office)
        & s.truth["created_at"].between(ts(START), ts(END_TS), inclusive="left")
    ]
    per_list = truth["newsletter_list_ids"].explode().dropna().value_counts()
    totals = result.counts.groupby("newsletter_list", observed=True)["contacts"].sum()
    for list_id, n in per_list.items():
        assert totals[list_id] == n
    assert totals["(no list)"] == (truth["newsletter_list_ids"].map(len) == 0).sum()


def test_a_service_fixed_by_the_query_still_shows_each_contact_s_other_services(
    seed3_standin, make_breakdown_client
):
    s = seed3_standin
    office = s.customer_ids[1]
    query = ContactQuery(office, scheduled_order_type="FinalPricesInArea")
    result = run(make_breakdown_client(s), query, by=("scheduled_order_type",))
    truth = s.truth[
        (s.truth["customer_id"] == office)
        & s.truth["created_at"].between(ts(START), ts(END_TS), inclusive="left")
    ]
    holders = truth[truth["scheduled_order_types"].map(lambda v: 2 in v)]
    assert len(result.facts) == len(holders) > 0
    totals = result.counts.groupby("scheduled_order_type", observed=True)["contacts"].sum()
    for service in (1, 2, 3):
        held = holders["scheduled_order_types"].map(lambda v, x=service: x in v).sum()
        assert totals.get(service, 0) == held


def test_quarterly_regrouping_of_monthly_facts_equals_ground_truth(
    seed3_standin, make_breakdown_client
):
    s = seed3_standin
    office = s.customer_ids[0]
    result = run(make_breakdown_client(s), ContactQuery(office))
    expected = truth_counts(s.truth, [office], ts(START), ts(END_TS), period="Q")
    got = result_counts(result.activity(period="Q"))
    assert_counts_equal(got, expected)


def test_weekly_regrouping_of_monthly_creation_is_refused(seed3_standin, make_breakdown_client):
    s = seed3_standin
    result = run(make_breakdown_client(s), ContactQuery(s.customer_ids[0]))
    with pytest.raises(InvalidQueryError, match="period"):
        result.activity(period="W")


# -- calls and cache -----------------------------------------------------------------------


def test_calls_made_are_one_base_plus_months_plus_agents_plus_end_check(
    seed3_standin, make_breakdown_client
):
    s = seed3_standin
    office = s.customer_ids[0]
    n_agents = int((s.agents["customer_id"] == office).sum())
    client = make_breakdown_client(s)
    plan = plan_breakdown(client, ContactQuery(office), ("agent",), start=START, end=END)
    s.clear_requests()
    result = run(client, ContactQuery(office))
    made = contact_requests(s)
    # 1 base + 12 months + 1 end check (the end is in the past) + one per agent
    assert len(made) == 1 + 12 + 1 + n_agents == plan.n_calls == result.calls
    assert len({tuple(sorted(r.params.items())) for r in made}) == len(made)


def test_second_run_makes_no_calls(seed3_standin, make_breakdown_client):
    s = seed3_standin
    client = make_breakdown_client(s)
    query = ContactQuery(s.customer_ids[0])
    first = run(client, query)
    s.clear_requests()
    second = run(client, query)
    assert contact_requests(s) == []
    assert second.calls == 0 and second.cached_calls == first.calls
    assert second.fetched_at == first.fetched_at  # cached answers keep their fetch time
    pd.testing.assert_frame_equal(second.counts, first.counts)


def test_plan_describe_counts_cached_calls(seed3_standin, make_breakdown_client):
    s = seed3_standin
    client = make_breakdown_client(s)
    query = ContactQuery(s.customer_ids[0])
    plan = plan_breakdown(client, query, ("agent",), start=START, end=END)
    assert cached_calls(client, plan) == 0
    run(client, query)
    assert cached_calls(client, plan) == plan.n_calls
    assert plan.describe(client).startswith(f"{plan.n_calls} calls ({plan.n_calls} already")


def test_progress_callback_sees_every_call(seed3_standin, make_breakdown_client):
    s = seed3_standin
    seen: list[tuple[int, int]] = []
    result = run(
        make_breakdown_client(s),
        ContactQuery(s.customer_ids[0]),
        progress=lambda done, total: seen.append((done, total)),
    )
    n = result.plan.n_calls
    assert seen == [(i, n) for i in range(n + 1)]


def test_offline_run_on_an_empty_cache_sends_nothing_and_names_what_is_missing(
    seed3_standin, make_breakdown_client
):
    s = seed3_standin
    client = make_breakdown_client(s)
    plan = plan_breakdown(client, ContactQuery(s.customer_ids[0]), (), start=START, end=END)
    s.clear_requests()
    with pytest.raises(IncompleteBreakdownError) as info:
        run(client, plan, offline=True)
    assert contact_requests(s) == []
    assert len(info.value.missing) == plan.n_calls
    assert f"{s.customer_ids[0]} created 2025-03" in str(info.value)


# -- failures ------------------------------------------------------------------------------


def test_failed_calls_are_named_and_a_rerun_fetches_only_them(make_standin, make_breakdown_client):
    s = make_standin(seed=4, contacts=2000, offices=1, agents=6, fault_seed=7)
    client = make_breakdown_client(s, max_retries=0)
    query = ContactQuery(s.customer_ids[0])
    s.set_faults(error_rate=0.3, error_status=500)
    with pytest.raises(IncompleteBreakdownError) as info:
        run(client, query)
    failed_params = [r.params for r in contact_requests(s) if r.status == 500]
    missing = info.value.missing
    assert sorted(key(m.call.query.to_params()) for m in missing) == sorted(
        key(p) for p in failed_params
    )
    for m in missing:
        assert m.call.label in str(info.value)
    partial = info.value.partial
    assert sorted(partial.incomplete["call"]) == sorted(m.call.label for m in missing)
    assert partial.counts["contacts"].isna().any()

    s.set_faults()
    s.clear_requests()
    result = run(client, query)
    refetched = [r.params for r in contact_requests(s)]
    assert sorted(key(p) for p in refetched) == sorted(key(p) for p in failed_params)
    expected = truth_counts(s.truth, s.customer_ids, ts(START), ts(END_TS))
    assert_counts_equal(result_counts(result.counts), expected)


def test_partial_result_marks_exactly_the_unknown_cells(make_standin, make_breakdown_client):
    s = make_standin(seed=5, contacts=2000, offices=1, agents=5)
    office = s.customer_ids[0]
    client = make_breakdown_client(s, max_retries=0)
    plan = plan_breakdown(client, ContactQuery(office), ("agent",), start=START, end=END)
    lost_agent = next(c for c in plan.calls if c.dimension == "agent")
    lost_window = next(c for c in plan.calls if c.dimension == "created" and c.value == 5)
    for call in plan.calls:  # fill the cache with every answer but two
        if call not in (lost_agent, lost_window):
            client.contacts(call.query)
    s.set_faults(down=True)
    result = run(client, plan, allow_partial=True)
    s.set_faults()

    assert sorted(result.incomplete["call"]) == sorted([lost_agent.label, lost_window.label])
    assert lost_agent.label in result.summary() and "INCOMPLETE" in result.summary()
    counts = result.counts
    months = sorted(counts["period"].unique())
    unknown = (
        counts["agent"].isin([lost_agent.value, NO_AGENT])
        | counts["period"].isin([months[4], months[5]])  # window 5 and its boundary neighbour
    )
    assert counts.loc[unknown, "contacts"].isna().all()
    known = counts[~unknown].set_index(["period", "agent"])["contacts"]
    expected = truth_counts(s.truth, [office], ts(START), ts(END_TS))
    for key, n in known.items():
        assert n == expected.get(key, 0)


def test_contact_moved_to_another_agent_mid_run_is_a_conflict_counted_once(
    make_standin, make_breakdown_client
):
    s = make_standin(seed=6, contacts=1500, offices=1, agents=4)
    office = s.customer_ids[0]
    client = make_breakdown_client(s)
    plan = plan_breakdown(client, ContactQuery(office), ("agent",), start=START, end=END)
    first, second = [c for c in plan.calls if c.dimension == "agent"][:2]
    truth = s.truth
    moved = truth[
        (truth["agent_id"] == first.value)
        & truth["created_at"].between(ts(START), ts(END_TS), inclusive="left")
    ]["id"].iloc[0]
    for call in plan.calls:  # every answer but the second agent's arrives before the edit
        if call is not second:
            client.contacts(call.query)
    # the CRM moves the contact to the second agent while the breakdown runs
    ds = s.dataset
    ds.agent[np.flatnonzero(ds.ids == moved.encode())[0]] = list(ds.agent_ids).index(second.value)
    with pytest.warns(BreakdownWarning, match="two or more agents"):
        result = run_breakdown(client, plan, progress=False)
    assert list(result.conflicts["id"]) == [moved]
    assert result.conflicts["values"].iloc[0] == (first.value, second.value)
    assert (result.facts["agent"] == "(conflict)").sum() == 1
    assert result.counts["contacts"].sum() == len(result.facts)  # counted once


def test_windows_that_do_not_add_up_to_the_base_set_are_reported_with_numbers(
    make_standin, make_breakdown_client
):
    s = make_standin(seed=6, contacts=1500, offices=1, agents=4)
    office = s.customer_ids[0]
    client = make_breakdown_client(s)
    plan = plan_breakdown(client, ContactQuery(office), (), start=START, end=END)
    client.contacts(plan.offices[0].base.query)  # the base set arrives first
    truth = s.truth
    moved = truth[truth["created_at"].between(ts(START), ts(END_TS), inclusive="left")]["id"].iloc[
        0
    ]
    # the contact's creation time is corrected in the CRM to before the range
    ds = s.dataset
    ds.created_ns[np.flatnonzero(ds.ids == moved.encode())[0]] = ts("2020-01-01").value
    with pytest.warns(BreakdownWarning, match="creation windows hold .* the base set"):
        result = run_breakdown(client, plan, progress=False)
    n = len(result.facts)
    assert any(f"hold {n - 1} of the {n} contacts" in w for w in result.checks)
    assert result.facts.loc[result.facts["id"] == moved, "period"].isna().all()


def test_leaving_out_archived_agents_counts_their_contacts_as_other(
    seed3_standin, make_breakdown_client
):
    s = seed3_standin
    office = s.customer_ids[1]  # the office with archived agents in seed 3
    agents = s.agents[s.agents["customer_id"] == office]
    archived = set(agents.loc[agents["archived"], "user_id"])
    assert archived, "the stand-in should have archived agents"
    result = run(make_breakdown_client(s), ContactQuery(office), include_archived=False)
    truth = s.truth[
        (s.truth["customer_id"] == office)
        & s.truth["created_at"].between(ts(START), ts(END_TS), inclusive="left")
    ]
    others = truth["agent_id"].isna() | truth["agent_id"].isin(archived)
    totals = result.counts.groupby("agent", observed=True)["contacts"].sum()
    assert totals["(other)"] == others.sum()
    assert NO_AGENT not in totals.index
    assert result.plan.n_calls == 1 + 12 + 1 + len(agents) - len(archived)


def test_failed_end_check_leaves_the_last_period_unknown(make_standin, make_breakdown_client):
    s = make_standin(seed=5, contacts=2000, offices=1, agents=5)
    office = s.customer_ids[0]
    client = make_breakdown_client(s, max_retries=0)
    plan = plan_breakdown(client, ContactQuery(office), (), start=START, end=END)
    for call in plan.calls:
        if call.dimension != "end":
            client.contacts(call.query)
    s.set_faults(down=True)
    result = run(client, plan, allow_partial=True)
    s.set_faults()
    assert list(result.incomplete["dimension"]) == ["end"]
    counts = result.counts.set_index("period")["contacts"]
    assert np.isnan(counts.iloc[-1])
    expected = truth_counts(s.truth, [office], ts(START), ts(END_TS), by=None)
    for period, n in counts.iloc[:-1].items():
        assert n == expected.get(period, 0)
    changed = result.activity(measure="changed", by=()).set_index("period")["contacts"]
    assert changed[changed.index >= ts(END_TS)].isna().all()
    assert changed[changed.index < ts(END_TS)].notna().all()


def test_client_plan_and_breakdown_methods_delegate_to_the_planner(
    seed3_standin, make_breakdown_client
):
    s = seed3_standin
    client = make_breakdown_client(s)
    query = ContactQuery(s.customer_ids[0])
    plan = client.plan(query, by=("lead_score",), period="Q", start=START, end=END)
    assert plan.n_calls == 1 + 4 + 1 + 5
    result = client.breakdown(
        query, by=("lead_score",), period="Q", start=START, end=END, progress=False
    )
    assert result.plan.calls == plan.calls
    expected = truth_counts(
        s.truth, [query.customer_id], ts(START), ts(END_TS), "lead_score", period="Q"
    )
    assert_counts_equal(result_counts(result.counts, by="lead_score"), expected)


def test_facts_have_the_documented_columns_and_dtypes(seed3_standin, make_breakdown_client):
    s = seed3_standin
    result = run(
        make_breakdown_client(s),
        ContactQuery(s.customer_ids[0]),
        by=("agent", "lead_score", "newsletter_list"),
    )
    facts = result.facts
    assert list(facts.columns) == [
        "kind", "id", "customer_id", "changed_at", "period", "created_period",
        "agent", "agent_name", "lead_score", "newsletter_list",
    ]  # fmt: skip
    stockholm = "datetime64[ns, Europe/Stockholm]"
    assert str(facts["changed_at"].dtype) == str(facts["period"].dtype) == stockholm
    assert list(facts["kind"].cat.categories) == ["person", "company", "deceased_estate"]
    assert facts["id"].dtype == "string"
    assert list(facts["lead_score"].cat.categories) == [0, 1, 2, 3, 4, 5, NO_LEAD_SCORE]
    assert all(isinstance(v, tuple) for v in facts["newsletter_list"])
    assert facts["id"].is_unique
