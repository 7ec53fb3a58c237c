"""This period against the last: compare="previous" / "year" against the stand-in."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from tests.plugins.breakdown import ts
from vitec_nb import ContactQuery, InvalidQueryError
from vitec_nb.plan import plan_breakdown, run_breakdown
from vitec_nb.plan.compare import earlier_range

TZ = "Europe/Stockholm"


def run(client, query, by=("agent",), **kw):
    kw.setdefault("progress", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return run_breakdown(client, query, by, **kw)


def contact_calls(standin) -> list[tuple[str, tuple]]:
    return [
        (r.path.rsplit("/", 1)[1], tuple(sorted(r.params.items())))
        for r in standin.requests
        if r.path.startswith("/CRM/Contact/")
    ]


def plan_keys(plan) -> set[tuple[str, tuple]]:
    return {(c.office, tuple(sorted(c.query.to_params().items()))) for c in plan.calls}


@pytest.fixture
def small(make_standin, make_breakdown_client):
    s = make_standin(seed=1, contacts=1500, offices=1, agents=5)
    return s, make_breakdown_client(s), ContactQuery(s.customer_ids[0])


def test_year_counts_equal_two_separate_breakdowns(breakdown_standin, make_breakdown_client):
    s = breakdown_standin
    query = ContactQuery(s.customer_ids[0])
    both = run(
        make_breakdown_client(s), query, start="2025-01-01", end="2025-12-31", compare="year"
    )
    alone = make_breakdown_client(s)
    now = run(alone, query, start="2025-01-01", end="2025-12-31")
    then = run(alone, query, start="2024-01-01", end="2024-12-31")
    pd.testing.assert_frame_equal(both.counts, now.counts)
    pd.testing.assert_frame_equal(both.previous.counts, then.counts)
    assert (both.previous.plan.start, both.previous.plan.stop) == (
        ts("2024-01-01"),
        ts("2025-01-01"),
    )
    frame = both.comparison
    assert list(frame.columns) == [
        "period", "previous_period", "agent", "current", "previous", "change", "change_pct",
    ]  # fmt: skip
    shifted = then.counts.assign(
        period=then.counts["period"].map(lambda p: p + pd.DateOffset(years=1))
    )
    expected = shifted.set_index(["period", "agent"])["contacts"]
    got = frame.set_index(["period", "agent"])["previous"]
    assert (got.loc[expected.index].to_numpy() == expected.to_numpy()).all()
    assert (frame["change"] == frame["current"] - frame["previous"]).all()
    grown = frame["previous"] > 0
    pct = (frame["current"] - frame["previous"]) / frame["previous"] * 100
    assert np.allclose(frame.loc[grown, "change_pct"], pct[grown])
    assert frame.loc[~grown, "change_pct"].isna().all()
    whole = (len(now.facts) - len(then.facts)) / len(then.facts) * 100
    assert both.comparison_summary.startswith(f"{whole:+.0f} % on the same months of 2024: ")
    assert f"{len(then.facts):,} in Jan 2024 – Dec 2024" in both.comparison_summary
    assert both.comparison_summary in both.summary()


def test_previous_after_an_overlapping_run_asks_only_the_new_calls(small):
    s, client, query = small
    first = run(client, query, start="2025-01-01", end="2025-12-31")
    s.clear_requests()
    both = run(client, query, start="2025-07-01", end="2025-12-31", compare="previous")
    assert (both.previous.plan.start, both.previous.plan.stop) == (
        ts("2025-01-01"),
        ts("2025-07-01"),
    )
    asked = contact_calls(s)
    assert len(asked) == len(set(asked)) == both.calls + both.previous.calls
    new = (plan_keys(both.plan) | plan_keys(both.previous.plan)) - plan_keys(first.plan)
    assert set(asked) == new
    # the twelve monthly windows were all answered by the first run: none is asked again
    assert not set(asked) & plan_keys(first.plan)
    assert both.cached_calls + both.previous.cached_calls >= 12
    assert "the previous 6 months" in both.comparison_summary


def test_the_chart_draws_the_earlier_range_lighter(small):
    _, client, query = small
    both = run(client, query, start="2025-01-01", end="2025-06-30", compare="year")
    fig = both.plot()
    (line,) = [ln for ln in fig.axes[0].get_lines() if "(earlier)" in ln.get_label()]
    earlier = both.previous.activity(by=())["contacts"].to_numpy(dtype=float)
    assert np.array_equal(line.get_ydata(), earlier)
    assert line.get_alpha() < 1 and line.get_linestyle() == "--"
    assert both.plot(kind="total").axes[0].get_lines()  # every period chart gets it
    plain = run(client, query, start="2025-01-01", end="2025-06-30").plot()
    assert not plain.axes[0].get_lines()


@pytest.mark.parametrize(
    ("options", "how", "start", "end"),
    [
        (
            {"start": "2025-07-01", "end": "2025-12-31"},
            "previous",
            "2025-01-01",
            dt.date(2025, 6, 30),
        ),
        ({"start": "2025-07-01", "end": "2025-12-31"}, "year", "2024-07-01", dt.date(2024, 12, 31)),
        (
            {"start": "2025-01-01", "end": "2025-12-31", "period": "Q"},
            "previous",
            "2024-01-01",
            dt.date(2024, 12, 31),
        ),
        (
            {"start": "2025-03-03", "end": "2025-03-16", "period": "W"},
            "previous",
            "2025-02-17",
            dt.date(2025, 3, 2),
        ),
        (
            {"start": "2025-03-15", "end": "2025-05-31"},
            "previous",
            "2024-12-15",
            dt.date(2025, 2, 28),
        ),
        (
            {"start": "2025-03-03", "end": "2025-03-30", "period": "W"},
            "year",
            "2024-03-04",
            dt.date(2024, 3, 31),
        ),
    ],
)
def test_the_earlier_range(options, how, start, end):
    plan = plan_breakdown(ContactQuery("M30011"), {}, {"by": (), **options})
    got_start, got_end = earlier_range(plan, how)
    assert (got_start, got_end) == (ts(start), end)


@pytest.mark.parametrize(
    ("query", "options", "field"),
    [
        (ContactQuery("M30011"), {"compare": "last year"}, "compare"),
        (ContactQuery("M30011"), {"compare": 1}, "compare"),
        (ContactQuery("M30011", created_from="2025-01-01"), {"compare": "year"}, "compare"),
        (ContactQuery("M30011"), {"compare": "year", "measure": "made"}, "measure"),
    ],
)
def test_bad_comparisons_fail_before_any_request(small, query, options, field):
    s, client, _ = small
    s.clear_requests()
    with pytest.raises(InvalidQueryError) as err:
        run(client, query, start="2025-01-01", end="2025-12-31", **options)
    assert err.value.field == field
    assert s.requests == []


def test_a_plan_made_already_cannot_compare(small):
    s, client, query = small
    plan = client.plan(query, start="2025-01-01", end="2025-12-31")
    s.clear_requests()
    with pytest.raises(InvalidQueryError) as err:
        client.breakdown(plan, compare="year")
    assert err.value.field == "compare" and "query" in str(err.value)
    assert s.requests == []


def test_without_compare_nothing_changes(small):
    _, client, query = small
    result = run(client, query, start="2025-01-01", end="2025-12-31")
    assert result.previous is None and result.comparison is None
    assert result.comparison_summary is None and "Earlier range" not in result.summary()
    assert str(result.counts["period"].dtype) == f"datetime64[ns, {TZ}]"
