"""Breakdowns under every stand-in dialect that can change a clean server's answers
(`BREAKDOWN_DIALECTS`: not the presets differing in error bodies only): exact against the
truth and a naive loop."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import vitec_nb
from tests.plugins.breakdown import (
    NO_AGENT,
    NO_AGENT_OR_UNLISTED,
    NO_LEAD_SCORE,
    assert_counts_equal,
    ignoring_proxy,
    naive_counts,
    result_counts,
    truth_counts,
    ts,
)
from vitec_nb import ContactQuery, IncompleteBreakdownError, InvalidQueryError
from vitec_nb.plan import BreakdownWarning, breakdown_options, plan_breakdown, run_plan
from vitec_nb.profile import ServerProfile

START, END, STOP = "2025-01-01", "2025-12-31", "2026-01-01"  # the whole of 2025
QUARTERS = [ts(d) for d in ("2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01", STOP)]
DIMENSIONS = ("agent", "lead_score", "scheduled_order_type", "newsletter_list")


def contact_requests(standin) -> list:
    return [r for r in standin.requests if r.path.startswith("/CRM/Contact/")]


def breakdown(client, office, by, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error", BreakdownWarning)  # no check may fire on a clean server
        return client.breakdown(
            ContactQuery(office), by=(by,), period="Q", start=START, end=END, progress=False, **kw
        )


def listed_agents(s, office) -> tuple[list[str], set[str] | None, str]:
    """(agents the users lookup shows, the listed set for the truth, the remainder label)."""
    users = s.agents[s.agents["customer_id"] == office]
    if s.dialect.all_users:
        return list(users["user_id"]), None, NO_AGENT
    public = users[users["public"].astype(bool)]
    return list(public["user_id"]), set(public["user_id"]), NO_AGENT_OR_UNLISTED


def naive_values(s, office, by) -> tuple[list, str]:
    if by == "agent":
        values, _, rest = listed_agents(s, office)
        return values, rest
    if by == "lead_score":
        return [1, 2, 3, 4, 5], "rest"
    if by == "scheduled_order_type":
        return [1, 2, 3], ""
    lists = s.newsletter_lists
    return list(lists.loc[lists["customer_id"] == office, "id"]), ""


def as_naive(got: pd.Series, by: str) -> pd.Series:
    """The breakdown's cells in the naive loop's terms: lead score 0 and "(no lead score)"
    are one "rest" cell (the loop cannot ask for 0); multi-valued remainders left out."""
    frame = got.rename("contacts").reset_index()
    if by == "lead_score":
        frame[by] = frame[by].map(lambda v: "rest" if v in (0, NO_LEAD_SCORE) else v)
    elif by in ("scheduled_order_type", "newsletter_list"):
        frame = frame[~frame[by].astype(str).str.startswith("(")]
    series = frame.groupby(["period", by])["contacts"].sum()
    return series[series > 0].sort_index()


@pytest.mark.parametrize("by", DIMENSIONS)
def test_breakdown_is_exact_against_truth_and_a_naive_loop(
    breakdown_dialect_standin, make_breakdown_client, by
):
    s = breakdown_dialect_standin
    office = s.customer_ids[0]
    s.clear_requests()
    result = breakdown(make_breakdown_client(s), office, by)
    assert result.is_complete and result.checks == []
    if s.dialect.all_users:  # no error answer: the error-body presets would answer the same
        assert [r.status for r in s.requests if r.status != 200] == []
    _, listed, _ = listed_agents(s, office)
    expected = truth_counts(s.truth, [office], ts(START), ts(STOP), by, period="Q", listed=listed)
    got = result_counts(result.counts, by=by)
    assert_counts_equal(got, expected)
    values, rest = naive_values(s, office, by)
    naive = naive_counts(s, office, QUARTERS, values, by=by, rest=rest)
    assert_counts_equal(as_naive(got, by), naive)


def test_no_contact_of_a_non_public_agent_is_counted_as_no_agent(
    breakdown_dialect_standin, make_breakdown_client
):
    s = breakdown_dialect_standin
    office = s.customer_ids[0]
    result = breakdown(make_breakdown_client(s), office, "agent")
    users = s.agents[s.agents["customer_id"] == office]
    hidden = set(users.loc[~users["public"].astype(bool), "user_id"])
    truth = s.truth.set_index(s.truth["id"].astype(object))
    agent_of = truth.loc[list(result.facts["id"].astype(object)), "agent_id"].astype(object)
    of_hidden = agent_of.isin(hidden).to_numpy()
    assert of_hidden.sum() > 0, "the stand-in should give non-public users contacts"
    labels = result.facts["agent"].astype(object).to_numpy()
    assert NO_AGENT not in set(labels[of_hidden])
    if not s.dialect.all_users:
        assert set(labels[of_hidden]) == {NO_AGENT_OR_UNLISTED}


def test_lead_score_zero_is_never_sent_under_any_dialect(
    breakdown_dialect_standin, make_breakdown_client
):
    s = breakdown_dialect_standin
    s.clear_requests()
    breakdown(make_breakdown_client(s), s.customer_ids[0], "lead_score")
    sent = [r.params for r in contact_requests(s)]
    assert sent and all(p.get("LeadScore") not in ("0",) for p in sent)
    assert all(p.get("ContactScheduledOrderType") not in ("0", "4") for p in sent)


# -- the one limit of concurrency, a lookup failing, a plan run as it is -------------------


def test_breakdowns_use_the_client_concurrency_as_the_one_limit(
    make_standin, make_breakdown_client
):
    s = make_standin(seed=1, contacts=1500, offices=1, agents=6, latency=0.03)
    client = make_breakdown_client(s, concurrency=2)
    s.clear_requests()
    result = client.breakdown(
        ContactQuery(s.customer_ids[0]), start=START, end=END, progress=False, concurrency=8
    )
    assert result.calls == len(contact_requests(s)) > 6
    assert s.max_in_flight == 2


def test_a_failing_users_lookup_is_an_incomplete_breakdown_naming_it(
    make_standin, make_breakdown_client
):
    s = make_standin(seed=2, contacts=500, offices=1, agents=4)
    client = make_breakdown_client(s, max_retries=0)
    s.set_faults(error_rate=1.0, error_status=503, lookups=True)
    s.clear_requests()
    with pytest.raises(IncompleteBreakdownError) as info:
        client.breakdown(ContactQuery(s.customer_ids[0]), start=START, end=END, progress=False)
    s.set_faults()
    assert "users lookup" in str(info.value)
    assert [m.call.dimension for m in info.value.missing] == ["lookup"]
    assert contact_requests(s) == []


def test_bad_agent_ids_are_refused_before_the_users_lookup(standin, make_breakdown_client):
    client = make_breakdown_client(standin)
    standin.clear_requests()
    with pytest.raises(InvalidQueryError) as info:
        client.breakdown(ContactQuery(standin.customer_ids[0]), agent_ids=[None], end=END)
    assert info.value.field == "agent_ids"
    assert standin.requests == []


def test_client_breakdown_runs_a_given_plan(seed3_standin, make_breakdown_client):
    s = seed3_standin
    client = make_breakdown_client(s)
    plan = client.plan(ContactQuery(s.customer_ids[0]), by=("lead_score",), start=START, end=END)
    result = client.breakdown(plan, progress=False)
    assert result.plan is plan
    with pytest.raises(InvalidQueryError) as info:
        client.breakdown(plan, measure="changed")
    assert info.value.field == "measure"
    with pytest.raises(InvalidQueryError) as info:
        client.plan(ContactQuery(s.customer_ids[0]), progress=False)
    assert info.value.field == "progress"


def test_an_end_with_a_time_is_that_instant_included(seed3_standin, make_breakdown_client):
    s = seed3_standin
    office = s.customer_ids[0]
    truth = s.truth[s.truth["customer_id"] == office]
    inside = truth[truth["created_at"].between(ts("2025-06-01"), ts("2025-12-01"), "left")]
    last = inside["created_at"].max()
    result = make_breakdown_client(s).breakdown(
        ContactQuery(office), by=(), start="2025-06-01", end=last, progress=False
    )
    assert result.plan.end_included and result.plan.offices[0].end_check is None
    assert truth.loc[truth["created_at"] == last, "id"].iloc[0] in set(result.facts["id"])
    assert len(result.facts) == len(inside)
    assert result.partial_periods == (pd.Timestamp("2025-11-01", tz="Europe/Stockholm"),)
    assert "Partial periods" in result.summary()


# -- exact single queries (client.contacts) ------------------------------------------------


def test_a_whole_day_end_includes_the_day_and_not_the_next_midnight(
    breakdown_dialect_standin, make_breakdown_client
):
    """A date-only `created_to` is the whole day: sent as the next midnight (Vitec includes
    it) plus one end-check call for exactly that midnight, whose contacts are removed."""
    s = breakdown_dialect_standin
    truth = s.truth
    c = truth["created_at"]
    at_midnight = truth[(c == c.dt.normalize()) & (c > ts("2023-01-01"))]
    assert len(at_midnight) > 0, "the stand-in should hold contacts created at midnight"
    row = at_midnight.iloc[0]
    office, midnight = row["customer_id"], row["created_at"]
    last_day = (midnight.tz_localize(None) - pd.Timedelta(days=1)).date()
    start = ts("2023-01-01")
    client = make_breakdown_client(s)
    s.clear_requests()
    frame = client.contacts(ContactQuery(office, created_from=start, created_to=last_day))
    expected = truth[(truth["customer_id"] == office) & (c >= start) & (c < midnight)]
    assert sorted(frame["id"].astype(object)) == sorted(expected["id"].astype(object))
    assert row["id"] not in set(frame["id"])
    made = contact_requests(s)
    assert len(made) == 2  # the query and its end check
    assert any(r.params.get("CreatedAtFrom") == r.params.get("CreatedAtTo") for r in made)
    assert frame.attrs["query"].created_to == midnight


def test_lead_score_zero_alone_is_derived_exactly(breakdown_dialect_standin, make_breakdown_client):
    s = breakdown_dialect_standin
    office = s.customer_ids[1]
    client = make_breakdown_client(s)
    s.clear_requests()
    truth = s.truth[s.truth["customer_id"] == office]
    expected = truth[truth["lead_score"].fillna(-1) == 0]
    cap = s.dialect.answer_cap
    if cap is not None and len(truth) > cap:  # a silent cut: said plainly, never exact
        with pytest.warns(BreakdownWarning, match="cut short by the server"):
            frame = client.contacts(ContactQuery(office, lead_score=0))
        assert frame.attrs["checks"]
        return
    frame = client.contacts(ContactQuery(office, lead_score=0))
    assert frame.attrs["checks"] == []
    assert sorted(frame["id"].astype(object)) == sorted(expected["id"].astype(object))
    assert "deceased_estate" not in set(frame["kind"].astype(object))
    assert all(r.params.get("LeadScore") != "0" for r in contact_requests(s))


# -- plausibility checks: a server that does not behave as assumed ---------------------------


def test_a_server_that_ignores_a_filter_value_is_named_in_plain_words(
    seed3_standin, make_breakdown_client, tmp_path
):
    s = seed3_standin
    office = s.customer_ids[0]
    with ignoring_proxy(s, {"LeadScore": "3"}) as url:
        client = vitec_nb.connect(
            url, s.username, s.password, customer_ids=s.customer_ids, cache=tmp_path / "c.sqlite"
        )
        with pytest.warns(BreakdownWarning) as record:
            result = client.breakdown(
                ContactQuery(office), by=("lead_score",), start=START, end=END, progress=False
            )
        client.close()
    n = len(result.facts)
    assert (
        f"{office}: LeadScore=3 returned the whole base set ({n} contacts) while other values "
        "have contacts too: the server may ignore this filter."
    ) in result.checks
    assert any(
        "add up to" in c and f"more than the {n} of the base set" in c for c in result.checks
    )
    assert all(c in result.warnings for c in result.checks)
    assert {str(w.message) for w in record} == set(result.warnings)


def test_a_silently_capped_base_set_is_reported_not_hidden(make_standin, make_breakdown_client):
    s = make_standin(seed=2, contacts=3000, offices=1, agents=4, dialect="capped")
    cap = s.dialect.answer_cap
    office = s.customer_ids[0]
    assert (s.truth["customer_id"] == office).sum() > cap
    with pytest.warns(BreakdownWarning, match="creation windows hold"):
        result = make_breakdown_client(s).breakdown(
            ContactQuery(office), by=(), period="Y", start="2022-01-01", end="2026-12-31",
            progress=False,
        )  # fmt: skip
    assert len(result.facts) == cap
    assert any("not in it" in c for c in result.checks)


def test_answers_at_the_known_cap_are_named(make_standin, make_breakdown_client):
    """With the cap in the server profile (what vitec-nb doctor learns), answers that reach
    it are named as possibly cut."""
    s = make_standin(seed=2, contacts=3000, offices=1, agents=4, dialect="capped")
    query = ContactQuery(s.customer_ids[0])
    opts, run = breakdown_options(
        query, (), period="Y", start="2022-01-01", end="2026-12-31", progress=False
    )
    plan = plan_breakdown(query, {}, opts, ServerProfile(answer_cap=s.dialect.answer_cap))
    with pytest.warns(BreakdownWarning):
        result = run_plan(make_breakdown_client(s), plan, run)
    (cap,) = [c for c in result.checks if "cut answers silently" in c]
    assert f"{s.customer_ids[0]} base set" in cap


def test_infer_last_saves_the_five_star_call_only_on_a_server_known_to_be_total(
    make_standin, make_breakdown_client
):
    """With a profile saying LeadScore=0 filters and 0-5 is total, 0-4 are asked and 5 is
    derived; the counts equal the truth all the same."""
    s = make_standin(seed=2, contacts=2000, offices=1, agents=4, dialect="zero-is-filter")
    office = s.customer_ids[0]
    query = ContactQuery(office)
    opts, run = breakdown_options(
        query, ("lead_score",), infer_last=True, start=START, end=END, progress=False
    )
    total = ServerProfile(zero_filters=True, lead_scores_total=True)
    plan = plan_breakdown(query, {}, opts, total)
    asked = {c.value for c in plan.calls if c.dimension == "lead_score"}
    assert asked == {0, 1, 2, 3, 4}
    assert {
        c.value for c in plan_breakdown(query, {}, opts).calls if c.dimension == "lead_score"
    } == {1, 2, 3, 4, 5}
    result = run_plan(make_breakdown_client(s), plan, run)
    expected = truth_counts(s.truth, [office], ts(START), ts(STOP), "lead_score", period="Q")
    assert_counts_equal(result_counts(result.activity(period="Q"), by="lead_score"), expected)
