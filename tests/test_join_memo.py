"""The planner's join memo: a re-run from an unchanged cache skips the join, never its truth."""

from __future__ import annotations

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
    breakdown(client, office)
    remembered = breakdown(client, office)
    JOIN_MEMO.clear()
    joined_again = breakdown(client, office)
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
