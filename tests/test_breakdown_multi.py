"""Breakdowns by two dimensions, one or both multi-valued: each cell vs the truth, a naive loop."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import requests

from tests.plugins.breakdown import (
    API_NAME,
    NO_AGENT,
    NO_LEAD_SCORE,
    NO_VALUE,
    TRUTH_COLUMN,
    month_edges,
    ts,
)
from vitec_nb import ContactQuery, InvalidQueryError
from vitec_nb.activity import wide
from vitec_nb.charts import bar_segments
from vitec_nb.plan import BreakdownWarning, plan_breakdown, run_breakdown

START, END = "2025-01-01", "2025-12-31"  # the whole of 2025 (a date-only end is its day)
END_TS = "2026-01-01"
TZ = "Europe/Stockholm"
SERVICES = (1, 2, 3)
LEAD_SCORES = (1, 2, 3, 4, 5)
PAIRS = [
    ("newsletter_list", "scheduled_order_type"),
    ("lead_score", "newsletter_list"),
    ("agent", "scheduled_order_type"),
]
Cells = dict[tuple[Any, ...], int]


def run(client: Any, query: ContactQuery, by: Sequence[str], **kw: Any) -> Any:
    kw.setdefault("start", START)
    kw.setdefault("end", END)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean stand-in run raises no BreakdownWarning
        return run_breakdown(client, query, tuple(by), progress=False, **kw)


def result_cells(counts: pd.DataFrame, by: Sequence[str]) -> Cells:
    """The breakdown's non-zero cells: (period start, value, value) -> contacts."""
    keys = ["period", *by]
    rows = counts[counts["contacts"] > 0]
    columns = [rows[k].astype(object) for k in keys]
    return {tuple(key): int(n) for *key, n in zip(*columns, rows["contacts"], strict=True)}


def _truth_labels(rows: pd.DataFrame, by: str) -> pd.Series:
    """Each truth row's values of `by` as a list, labelled as a breakdown labels them
    (every user of the stand-in is listed and asked: no agent is "(no agent)")."""
    column = rows[TRUTH_COLUMN[by]]
    if by == "agent":
        return column.astype(object).map(lambda v: [NO_AGENT if pd.isna(v) else v])
    if by == "lead_score":
        return column.astype(object).map(lambda v: [NO_LEAD_SCORE if pd.isna(v) else int(v)])
    return column.map(lambda v: list(v) if len(v) else [NO_VALUE[by]])


def truth_cells(truth: pd.DataFrame, office: str, by: Sequence[str], period: str = "M") -> Cells:
    """Ground truth: contacts created in 2025 per (period, value, value), a contact once in
    each cell it belongs to (every pair of its values)."""
    at = truth["created_at"]
    rows = truth[(truth["customer_id"] == office) & (at >= ts(START)) & (at < ts(END_TS))]
    when = rows["created_at"].dt.tz_localize(None).dt.to_period(period).dt.start_time
    frame = pd.DataFrame({"period": when.dt.tz_localize(TZ)})
    for name in by:
        frame[name] = _truth_labels(rows, name)
    for name in by:
        frame = frame.explode(name)
    sizes = frame.groupby(["period", *by]).size()
    return {key: int(n) for key, n in sizes.items()}


class NaiveLoop:
    """What an analyst's loop gets from the API for one office, with plain requests: the
    base set, the ids under each value, and one request per (value, value) cell."""

    def __init__(self, standin: Any, office: str) -> None:
        self.session = requests.Session()
        self.session.auth = (standin.username, standin.password)
        self.url = f"{standin.url}/CRM/Contact/{office}"
        agents = standin.agents[standin.agents["customer_id"] == office]
        lists = standin.newsletter_lists[standin.newsletter_lists["customer_id"] == office]
        self.values = {
            "agent": list(agents["user_id"]),
            "lead_score": list(LEAD_SCORES),
            "newsletter_list": list(lists["id"]),
            "scheduled_order_type": list(SERVICES),
        }

    def ids(self, params: dict[str, Any]) -> dict[str, str]:
        """The ids of an answer, each with its kind's key (persons, companies, ...)."""
        response = self.session.get(self.url, params=params, timeout=30)
        response.raise_for_status()
        body = response.json()
        return {c["id"]: key for key, items in body.items() if items for c in items}

    def cells(self, edges: Sequence[pd.Timestamp], by: Sequence[str]) -> Cells:
        """Non-zero cells per [edge, next edge − 1 µs] window (exact on the stand-in)."""
        first, second = by
        out: Cells = {}
        for lo, hi in itertools.pairwise(edges):
            window = {
                "CreatedAtFrom": lo.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                "CreatedAtTo": (hi - pd.Timedelta(1, "us")).strftime("%Y-%m-%dT%H:%M:%S.%f"),
            }
            base = self.ids(window)
            rests = {name: self._rest(window, base, name) for name in by}
            for v1, v2 in itertools.product(self.values[first], self.values[second]):
                both = {**window, API_NAME[first]: v1, API_NAME[second]: v2}
                out[(lo, v1, v2)] = len(self.ids(both))
            for (label1, set1), (label2, set2) in itertools.product(
                self._sets(window, first, rests), self._sets(window, second, rests)
            ):
                if (lo, label1, label2) not in out:  # a cell with a derived bucket
                    out[(lo, label1, label2)] = len(set1 & set2)
        self.session.close()
        return {key: n for key, n in out.items() if n > 0}

    def _rest(self, window: dict[str, Any], base: dict[str, str], name: str) -> dict[Any, set]:
        """The derived buckets: base-set contacts under none of the values."""
        under: set[str] = set()
        for value in self.values[name]:
            under |= set(self.ids({**window, API_NAME[name]: value}))
        rest = set(base) - under
        if name == "agent":
            return {NO_AGENT: rest}
        if name == "lead_score":  # 0 is derived; deceased estates have no score at all
            estates = {i for i in rest if base[i] == "deceasedEstates"}
            return {0: rest - estates, NO_LEAD_SCORE: estates}
        return {NO_VALUE[name]: rest}

    def _sets(
        self, window: dict[str, Any], name: str, rests: dict[str, dict[Any, set]]
    ) -> list[tuple[Any, set]]:
        asked = [(v, set(self.ids({**window, API_NAME[name]: v}))) for v in self.values[name]]
        return [*asked, *rests[name].items()]


@pytest.mark.parametrize("by", PAIRS, ids=lambda by: " x ".join(by))
def test_every_cell_equals_the_ground_truth(breakdown_standin, make_breakdown_client, by):
    s = breakdown_standin
    office = s.customer_ids[0]
    result = run(make_breakdown_client(s), ContactQuery(office), by)
    assert result_cells(result.counts, by) == truth_cells(s.truth, office, by)
    assert list(result.counts.columns) == ["period", *by, "contacts"]
    # every combination of month and values is listed, zeros included
    sizes = [len(result.counts[name].cat.categories) for name in by]
    assert len(result.counts) == 12 * sizes[0] * sizes[1]


@pytest.mark.parametrize("by", PAIRS, ids=lambda by: " x ".join(by))
def test_every_cell_equals_a_naive_cell_by_cell_loop(seed3_standin, make_breakdown_client, by):
    """One seed (the truth test runs every seed): a loop of ~150 plain requests per pair."""
    s = seed3_standin
    office = s.customer_ids[1]
    result = run(make_breakdown_client(s), ContactQuery(office), by, period="Q")
    edges = month_edges(START, END_TS)[::3]  # quarter starts and 2026-01-01
    assert result_cells(result.counts, by) == NaiveLoop(s, office).cells(edges, by)


def test_a_contact_on_two_lists_with_two_services_counts_once_in_each_pair(
    breakdown_standin, make_breakdown_client
):
    s = breakdown_standin
    office = s.customer_ids[0]
    by = ("newsletter_list", "scheduled_order_type")
    result = run(make_breakdown_client(s), ContactQuery(office), by)
    t = s.truth
    created = (t["created_at"] >= ts(START)) & (t["created_at"] < ts(END_TS))
    many = t[
        created
        & (t["customer_id"] == office)
        & (t["newsletter_list_ids"].map(len) >= 2)
        & (t["scheduled_order_types"].map(len) >= 2)
    ]
    assert len(many) > 0, "the stand-in data should hold such contacts"
    contact = many.iloc[0]
    month = contact["created_at"].tz_localize(None).to_period("M").start_time.tz_localize(TZ)
    assert (result.facts["id"] == contact["id"]).sum() == 1  # one row of facts
    pairs = set(itertools.product(contact["newsletter_list_ids"], contact["scheduled_order_types"]))
    for cell in result.counts[result.counts["period"] == month].itertuples():
        rows = result.contacts_in(
            period=month,
            newsletter_list=cell.newsletter_list,
            scheduled_order_type=cell.scheduled_order_type,
        )
        inside = (rows["id"] == contact["id"]).sum()
        assert inside == ((cell.newsletter_list, cell.scheduled_order_type) in pairs)
        assert len(rows) == cell.contacts


def test_no_list_and_no_service_combine(breakdown_standin, make_breakdown_client):
    """The derived buckets cross: "(no list)" x a service, a list x "(no active service)",
    and both; each equals the contacts that have exactly that."""
    s = breakdown_standin
    office = s.customer_ids[1]
    by = ("newsletter_list", "scheduled_order_type")
    result = run(make_breakdown_client(s), ContactQuery(office), by)
    totals = result.counts.groupby(list(by), observed=True)["contacts"].sum()
    t = s.truth
    t = t[(t["customer_id"] == office) & (t["created_at"] >= ts(START))]
    t = t[t["created_at"] < ts(END_TS)]
    no_list = t["newsletter_list_ids"].map(len) == 0
    no_service = t["scheduled_order_types"].map(len) == 0
    assert totals[("(no list)", "(no active service)")] == (no_list & no_service).sum() > 0
    for service in SERVICES:
        holds = t["scheduled_order_types"].map(lambda v, x=service: x in v)
        assert totals[("(no list)", service)] == (no_list & holds).sum()
    some = t.loc[~no_list, "newsletter_list_ids"].explode()
    for list_id, on in some.groupby(some).groups.items():
        expected = (no_service.loc[list(dict.fromkeys(on))]).sum()
        assert totals[(list_id, "(no active service)")] == expected


def test_a_service_fixed_by_the_query_is_every_contacts_and_lists_cross_it(
    breakdown_standin, make_breakdown_client
):
    s = breakdown_standin
    office = s.customer_ids[0]
    by = ("newsletter_list", "scheduled_order_type")
    result = run(make_breakdown_client(s), ContactQuery(office, scheduled_order_type=2), by)
    truth = s.truth[s.truth["scheduled_order_types"].map(lambda v: 2 in v)]
    assert result_cells(result.counts, by) == truth_cells(truth, office, by)
    assert "(no active service)" not in set(result.counts["scheduled_order_type"].astype(object))


def test_one_dimension_of_two_is_recounted_not_summed(breakdown_standin, make_breakdown_client):
    """`to_frame(by)`, `activity(by=...)` and the charts count a contact once per value of
    the one dimension shown; summing the two-dimension counts would count a contact with
    two services twice under its list, so `wide` refuses it."""
    s = breakdown_standin
    office = s.customer_ids[0]
    by = ("newsletter_list", "scheduled_order_type")
    result = run(make_breakdown_client(s), ContactQuery(office), by)
    for name in by:
        got = result.to_frame(name).stack()
        assert {k: int(v) for k, v in got[got > 0].items()} == truth_cells_one(
            s.truth, office, name
        )
        counts = result.activity(by=name)
        assert result_cells(counts, (name,)) == truth_cells_one(s.truth, office, name)
    assert result.to_frame().equals(result.to_frame("newsletter_list"))
    with pytest.raises(InvalidQueryError) as info:
        wide(result.counts, "newsletter_list")
    assert info.value.field == "by" and "scheduled_order_type" in str(info.value)


def truth_cells_one(truth: pd.DataFrame, office: str, name: str) -> Cells:
    """Ground truth for one dimension: (period, value) -> contacts."""
    at = truth["created_at"]
    rows = truth[(truth["customer_id"] == office) & (at >= ts(START)) & (at < ts(END_TS))]
    when = rows["created_at"].dt.tz_localize(None).dt.to_period("M").dt.start_time
    frame = pd.DataFrame({"period": when.dt.tz_localize(TZ), name: _truth_labels(rows, name)})
    sizes = frame.explode(name).groupby(["period", name]).size()
    return {key: int(n) for key, n in sizes.items()}


@pytest.mark.parametrize("by", PAIRS, ids=lambda by: " x ".join(by))
def test_plot_draws_the_first_dimension_each_contact_once_per_value(
    breakdown_standin, make_breakdown_client, by
):
    s = breakdown_standin
    office = s.customer_ids[1]
    result = run(make_breakdown_client(s), ContactQuery(office), by)
    for kind in ("auto", "bar"):
        fig = result.plot(kind)
        try:
            ax = fig.axes[0]
            assert ax.collections or ax.patches  # something drawn
        finally:
            plt.close(fig)
    # the stacked chart's segments are the one-dimension counts, not sums over the other
    for name in by:
        if name == "agent" or name == "lead_score":
            continue  # their own charts (top agents, stars) are tested in test_charts.py
        fig = result.plot(name)
        try:
            segments = bar_segments(fig.axes[0])
        finally:
            plt.close(fig)
        heights = sorted(round(h) for h in segments if h > 0)
        assert heights == sorted(truth_cells_one(s.truth, office, name).values())


def test_a_lost_list_and_a_lost_service_leave_exactly_their_cells_unknown(
    make_standin, make_breakdown_client
):
    s = make_standin(seed=5, contacts=2000, offices=1, agents=5)
    office = s.customer_ids[0]
    by = ("newsletter_list", "scheduled_order_type")
    client = make_breakdown_client(s, max_retries=0)
    plan = plan_breakdown(client, ContactQuery(office), by, start=START, end=END)
    lost_list = next(c for c in plan.calls if c.dimension == "newsletter_list")
    lost_service = next(c for c in plan.calls if c.dimension == "scheduled_order_type")
    for call in plan.calls:  # fill the cache with every answer but two
        if call not in (lost_list, lost_service):
            client.contacts(call.query)
    s.set_faults(down=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BreakdownWarning)
        result = run_breakdown(client, plan, progress=False, allow_partial=True)
    s.set_faults()

    assert sorted(result.incomplete["call"]) == sorted([lost_list.label, lost_service.label])
    counts = result.counts
    unknown = counts["newsletter_list"].isin([lost_list.value, "(no list)"]) | counts[
        "scheduled_order_type"
    ].isin([lost_service.value, "(no active service)"])
    assert unknown.any() and (~unknown).any()
    assert counts.loc[unknown, "contacts"].isna().all()
    expected = truth_cells(s.truth, office, by)
    known = counts[~unknown]
    for cell in known.itertuples():
        key = (cell.period, cell.newsletter_list, cell.scheduled_order_type)
        assert cell.contacts == expected.get(key, 0)
