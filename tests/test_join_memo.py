"""The planner's join memo: a re-run from an unchanged cache skips the join, never its truth."""

from __future__ import annotations

import time

import pandas as pd

from vitec_nb import ContactQuery
from vitec_nb.plan import JOIN_MEMO

START, END = "2025-01-01", "2026-01-01"


def breakdown(client, office: str):
    return client.breakdown(
        ContactQuery(office), by=("agent",), start=START, end=END, progress=False
    )


def test_rerun_from_the_memo_equals_a_fresh_join(seed3_standin, make_breakdown_client):
    office = seed3_standin.customer_ids[0]
    client = make_breakdown_client(seed3_standin)
    first = breakdown(client, office)
    assert first.calls > 0 and first.cached_calls == 0
    seed3_standin.clear_requests()
    hits, misses = JOIN_MEMO.hits, JOIN_MEMO.misses
    remembered = breakdown(client, office)
    assert seed3_standin.requests == []  # every answer from the cache: 0 requests
    assert remembered.calls == 0 and remembered.cached_calls == first.calls
    assert (JOIN_MEMO.hits, JOIN_MEMO.misses) == (hits + 1, misses)  # the memo answered
    JOIN_MEMO.clear()
    joined_again = breakdown(client, office)
    assert seed3_standin.requests == []
    assert (JOIN_MEMO.hits, JOIN_MEMO.misses) == (hits + 1, misses + 1)  # joined afresh
    pd.testing.assert_frame_equal(remembered.facts, joined_again.facts)
    pd.testing.assert_frame_equal(remembered.counts, joined_again.counts)


def test_changing_a_result_does_not_change_the_next_run(seed3_standin, make_breakdown_client):
    office = seed3_standin.customer_ids[0]
    client = make_breakdown_client(seed3_standin)
    first = breakdown(client, office)
    expected = first.counts.copy()
    first.counts["contacts"] = 0
    first.facts["agent"] = first.facts["agent"].iloc[0]  # every contact to one agent
    first.facts.attrs["demo"] = "changed"
    second = breakdown(client, office)
    pd.testing.assert_frame_equal(second.counts, expected)
    assert len(second.facts) == int(expected["contacts"].sum())
    assert second.facts["agent"].value_counts().to_dict() == (
        expected.groupby("agent", observed=True)["contacts"].sum().loc[lambda c: c > 0].to_dict()
    )
    assert second.facts.attrs["demo"] != "changed"


def test_rerun_after_the_cache_was_cleared_fetches_every_call_again(
    seed3_standin, make_breakdown_client
):
    """Answers held in memory are used only while the cache still holds them."""
    s = seed3_standin
    office = s.customer_ids[0]
    client = make_breakdown_client(s)
    first = breakdown(client, office)
    s.clear_requests()
    assert breakdown(client, office).calls == 0
    assert s.requests == []
    client.clear_cache()
    again = breakdown(client, office)
    contact_calls = [r for r in s.requests if r.path.startswith("/CRM/Contact/")]
    assert again.calls == first.calls == len(contact_calls)
    assert again.cached_calls == 0
    pd.testing.assert_frame_equal(again.counts, first.counts)


def test_users_lookup_frame_is_rebuilt_when_its_answer_changes(standin, make_client):
    """The client reuses a lookup's frame only for the very answer it was built from."""
    office = standin.customer_ids[0]
    client = make_client(standin)
    first = client.agents(office)
    first["name"] = "changed"  # a caller's change never reaches the next answer
    again = client.agents(office)
    assert again.attrs["from_cache"] is True
    assert (again["name"] != "changed").all()
    refreshed = client.agents(office, refresh=True)
    assert refreshed.attrs["from_cache"] is False
    pd.testing.assert_frame_equal(refreshed, again, check_like=False)


def test_an_expired_entry_is_never_answered_from_the_memo(
    seed3_standin, make_breakdown_client, tmp_path
):
    """The backend's clock (faked) past the entries' expiry: every call is asked again."""
    from vitec_nb import cache as cache_mod
    from vitec_nb.cache_sqlite import VitecSQLiteCache

    now = [time.time()]
    backend = VitecSQLiteCache(
        tmp_path / "clocked.sqlite", serializer=cache_mod.SERIALIZER, clock=lambda: now[0]
    )
    s = seed3_standin
    office = s.customer_ids[0]
    client = make_breakdown_client(s, cache=backend, expire_after=60)
    first = breakdown(client, office)
    hits = JOIN_MEMO.hits
    assert breakdown(client, office).calls == 0 and JOIN_MEMO.hits == hits + 1  # fresh: kept
    s.clear_requests()
    now[0] = time.time() + 61  # past every stored expiry (the backend's clock only)
    hits = JOIN_MEMO.hits
    expired = breakdown(client, office)
    assert JOIN_MEMO.hits == hits  # not answered from the memo
    assert all(client.cached_answer(c.query) is None for c in first.plan.calls)  # nor parsed
    pd.testing.assert_frame_equal(expired.counts, first.counts)


def test_a_refreshed_breakdown_asks_every_call_and_keeps_the_new_join(
    seed3_standin, make_breakdown_client
):
    s = seed3_standin
    office = s.customer_ids[0]
    client = make_breakdown_client(s)
    first = breakdown(client, office)
    hits, misses = JOIN_MEMO.hits, JOIN_MEMO.misses
    s.clear_requests()
    refreshed = client.breakdown(
        ContactQuery(office), by=("agent",), start=START, end=END, progress=False, refresh=True
    )
    contact_calls = [r for r in s.requests if r.path.startswith("/CRM/Contact/")]
    assert refreshed.calls == first.calls == len(contact_calls)
    assert (JOIN_MEMO.hits, JOIN_MEMO.misses) == (hits, misses)  # the memo not even asked
    again = breakdown(client, office)
    assert again.calls == 0 and JOIN_MEMO.hits == hits + 1  # the refreshed entries' join
    pd.testing.assert_frame_equal(again.counts, refreshed.counts)
