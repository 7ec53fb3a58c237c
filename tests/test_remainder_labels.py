"""Remainder labels of lists and services: "(no list)" only when every list was asked."""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.legend import Legend

from tests.plugins.breakdown import TRUTH_COLUMN, ts
from vitec_nb import ContactQuery, InvalidQueryError
from vitec_nb.activity import activity_counts
from vitec_nb.lookups import OfficeLookups
from vitec_nb.plan import (
    NO_LIST,
    NO_SERVICE,
    OTHER_OR_NO_LIST,
    OTHER_OR_NO_SERVICE,
    BreakdownWarning,
    breakdown_options,
    plan_breakdown,
    run_breakdown,
)

START, END = "2025-01-01", "2025-12-31"  # the whole of 2025 (a date-only end is its day)
END_TS = "2026-01-01"
TZ = "Europe/Stockholm"
LABELS = {
    "newsletter_list": (NO_LIST, OTHER_OR_NO_LIST),
    "scheduled_order_type": (NO_SERVICE, OTHER_OR_NO_SERVICE),
}
Cells = dict[tuple[Any, ...], int]
Asked = Mapping[str, Mapping[str, Collection[Any]]]  # dimension -> office -> values asked


def run(client: Any, by: Sequence[str], **kw: Any) -> Any:
    """A breakdown of every office of the client over 2025 (no BreakdownWarning allowed)."""
    kw.setdefault("start", START)
    kw.setdefault("end", END)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BreakdownWarning)
        query = ContactQuery(list(client.customer_ids))
        return run_breakdown(client, query, tuple(by), progress=False, **kw)


def lists_of(standin: Any, office: str) -> list[str]:
    lists = standin.newsletter_lists
    return list(lists.loc[lists["customer_id"] == office, "id"])


def in_2025(truth: pd.DataFrame, offices: Collection[str]) -> pd.DataFrame:
    at = truth["created_at"]
    return truth[truth["customer_id"].isin(offices) & (at >= ts(START)) & (at < ts(END_TS))]


def truth_cells(rows: pd.DataFrame, asked: Asked, rest: Mapping[str, str]) -> Cells:
    """Ground truth per (month, value...): a contact once under each asked value it holds,
    under `rest[name]` when it holds none of the values asked in its office."""
    frame = pd.DataFrame({"period": rows["created_at"].dt.tz_localize(None).dt.to_period("M")})
    frame["period"] = frame["period"].dt.start_time.dt.tz_localize(TZ)
    for name, per_office in asked.items():
        pairs = zip(rows[TRUTH_COLUMN[name]], rows["customer_id"].astype(str), strict=True)
        held = [[v for v in values if v in per_office[office]] for values, office in pairs]
        frame[name] = [values or [rest[name]] for values in held]
    for name in asked:
        frame = frame.explode(name)
    sizes = frame.groupby(["period", *asked]).size()
    return {key if isinstance(key, tuple) else (key,): int(n) for key, n in sizes.items()}


def result_cells(counts: pd.DataFrame, by: Sequence[str]) -> Cells:
    rows = counts[counts["contacts"] > 0]
    columns = [rows[k].astype(object) for k in ["period", *by]]
    return {tuple(key): int(n) for *key, n in zip(*columns, rows["contacts"], strict=True)}


def labels_in(counts: pd.DataFrame, name: str) -> set[Any]:
    return set(counts[name].astype(object))


def holding_none(rows: pd.DataFrame, name: str, asked: Mapping[str, Collection[Any]]) -> set[str]:
    """Ids of the truth's contacts holding none of the values asked in their office."""
    pairs = zip(rows["id"], rows[TRUTH_COLUMN[name]], rows["customer_id"].astype(str), strict=True)
    return {i for i, values, office in pairs if not set(values) & set(asked[office])}


# ---------------------------------------------------------------- against the stand-in's truth


def test_some_services_asked_the_rest_is_other_or_no_service(
    breakdown_standin, make_breakdown_client
):
    s = breakdown_standin
    result = run(make_breakdown_client(s), ("scheduled_order_type",), scheduled_order_types=[1, 2])
    rows = in_2025(s.truth, s.customer_ids)
    asked = {"scheduled_order_type": {office: {1, 2} for office in s.customer_ids}}
    expected = truth_cells(rows, asked, {"scheduled_order_type": OTHER_OR_NO_SERVICE})
    assert result_cells(result.counts, ("scheduled_order_type",)) == expected
    assert labels_in(result.counts, "scheduled_order_type") == {1, 2, OTHER_OR_NO_SERVICE}
    counts = result.counts
    rest = counts.loc[counts["scheduled_order_type"] == OTHER_OR_NO_SERVICE, "contacts"].sum()
    only_three = rows["scheduled_order_types"].map(lambda v: set(v) == {3}).sum()
    nothing = rows["scheduled_order_types"].map(len).eq(0).sum()
    # the bug: these were all called "(no active service)", though some hold service 3
    assert rest == nothing + only_three and only_three > 0
    assert f"'{OTHER_OR_NO_SERVICE}' counts contacts holding none of the services asked" in (
        result.summary()
    )


def test_some_lists_asked_the_rest_is_other_or_no_list(breakdown_standin, make_breakdown_client):
    s = breakdown_standin
    some = {office: lists_of(s, office)[:3] for office in s.customer_ids}
    result = run(make_breakdown_client(s), ("newsletter_list",), newsletter_list_ids=some)
    rows = in_2025(s.truth, s.customer_ids)
    expected = truth_cells(rows, {"newsletter_list": some}, {"newsletter_list": OTHER_OR_NO_LIST})
    assert result_cells(result.counts, ("newsletter_list",)) == expected
    assert NO_LIST not in labels_in(result.counts, "newsletter_list")
    assert OTHER_OR_NO_LIST in labels_in(result.counts, "newsletter_list")
    # what the label says is so: some of those contacts are on an un-asked list
    rest = holding_none(rows, "newsletter_list", some)
    on_no_list = set(rows.loc[rows["newsletter_list_ids"].map(len).eq(0), "id"])
    assert rest > on_no_list
    assert f"'{OTHER_OR_NO_LIST}' counts contacts on none of the lists asked" in result.summary()


@pytest.mark.parametrize("given", ["default", "every value given"])
def test_every_value_asked_the_rest_is_no_list_and_no_active_service(
    breakdown_standin, make_breakdown_client, given
):
    s = breakdown_standin
    options: dict[str, Any] = {}
    if given != "default":
        every_list = [i for office in s.customer_ids for i in lists_of(s, office)]
        options = {"newsletter_list_ids": every_list, "scheduled_order_types": [3, 1, 2]}
    by = ("newsletter_list", "scheduled_order_type")
    result = run(make_breakdown_client(s), by, **options)
    rows = in_2025(s.truth, s.customer_ids)
    asked = {
        "newsletter_list": {office: set(lists_of(s, office)) for office in s.customer_ids},
        "scheduled_order_type": {office: {1, 2, 3} for office in s.customer_ids},
    }
    rest = {"newsletter_list": NO_LIST, "scheduled_order_type": NO_SERVICE}
    assert result_cells(result.counts, by) == truth_cells(rows, asked, rest)
    for name in by:
        alone = result.activity(by=name)
        assert LABELS[name][1] not in labels_in(alone, name)
        none = alone.loc[alone[name] == LABELS[name][0], "contacts"].sum()
        assert none == rows[TRUTH_COLUMN[name]].map(len).eq(0).sum() > 0
    assert "counts contacts" not in result.summary()  # no "other or" sentence


def test_two_subsets_cross_and_drill_down_to_the_truths_contacts(
    breakdown_standin, make_breakdown_client
):
    s = breakdown_standin
    some = {office: lists_of(s, office)[1:4] for office in s.customer_ids}
    by = ("newsletter_list", "scheduled_order_type")
    client = make_breakdown_client(s)
    result = run(client, by, newsletter_list_ids=some, scheduled_order_types=[2])
    rows = in_2025(s.truth, s.customer_ids)
    asked = {
        "newsletter_list": some,
        "scheduled_order_type": {office: {2} for office in s.customer_ids},
    }
    rest = {"newsletter_list": OTHER_OR_NO_LIST, "scheduled_order_type": OTHER_OR_NO_SERVICE}
    assert result_cells(result.counts, by) == truth_cells(rows, asked, rest)

    no_list = holding_none(rows, "newsletter_list", some)
    no_service = holding_none(rows, "scheduled_order_type", asked["scheduled_order_type"])
    cell = result.contacts_in(newsletter_list=OTHER_OR_NO_LIST)
    assert set(cell["id"].astype(str)) == no_list
    both = result.contacts_in(
        newsletter_list="(Other or no list)", scheduled_order_type=OTHER_OR_NO_SERVICE
    )  # a label in any case, as for every value
    assert set(both["id"].astype(str)) == no_list & no_service != set()
    with pytest.raises(InvalidQueryError) as error:
        result.contacts_in(newsletter_list=NO_LIST)  # not what this breakdown can know
    assert error.value.field == "newsletter_list" and OTHER_OR_NO_LIST in str(error.value)


def test_every_list_in_one_office_some_in_the_other_is_other_or_no_list_for_all(
    make_standin, make_breakdown_client
):
    s = make_standin(seed=4, contacts=1500, offices=2, agents=4)
    first, second = s.customer_ids
    asked = {first: lists_of(s, first), second: lists_of(s, second)[:2]}
    result = run(make_breakdown_client(s), ("newsletter_list",), newsletter_list_ids=asked)
    remainders = [op.dimensions[0].remainder for op in result.plan.offices]
    assert remainders == [NO_LIST, OTHER_OR_NO_LIST]  # each office says what it knows
    rows = in_2025(s.truth, s.customer_ids)
    expected = truth_cells(rows, {"newsletter_list": asked}, {"newsletter_list": OTHER_OR_NO_LIST})
    assert result_cells(result.counts, ("newsletter_list",)) == expected
    assert NO_LIST not in labels_in(result.counts, "newsletter_list")  # one label for the lot
    in_first = result.contacts_in(newsletter_list=OTHER_OR_NO_LIST, office=first)
    assert set(in_first["id"].astype(str)) == set(
        rows.loc[(rows["customer_id"] == first) & rows["newsletter_list_ids"].map(len).eq(0), "id"]
    )


def test_a_chart_and_a_comparison_carry_the_honest_label(make_standin, make_breakdown_client):
    s = make_standin(seed=6, contacts=1500, offices=1, agents=4)
    client = make_breakdown_client(s)
    by = ("scheduled_order_type",)
    result = run(client, by, scheduled_order_types=[1], compare="previous")
    fig = result.plot()
    try:
        legends = fig.axes[0].findobj(Legend)  # the values' and the earlier range's line
        legend = [t.get_text() for box in legends for t in box.get_texts()]
    finally:
        plt.close(fig)
    assert OTHER_OR_NO_SERVICE in legend and NO_SERVICE not in legend
    assert labels_in(result.comparison, "scheduled_order_type") == {1, OTHER_OR_NO_SERVICE}
    rows = in_2025(s.truth, s.customer_ids)
    total = result.comparison.groupby("scheduled_order_type")["current"].sum()
    rest = holding_none(rows, "scheduled_order_type", {s.customer_ids[0]: {1}})
    assert total[OTHER_OR_NO_SERVICE] == len(rest) > 0


@pytest.mark.parametrize("offices", [1, 2], ids=["one office", "every list in the other"])
def test_a_lost_call_leaves_the_honest_remainder_unknown(
    make_standin, make_breakdown_client, offices
):
    s = make_standin(seed=5, contacts=1500, offices=offices, agents=4)
    office = s.customer_ids[0]
    client = make_breakdown_client(s, max_retries=0)
    # one office: two of its lists; two: the first office's every list (its own remainder
    # is "(no list)"), two of the second's: a lost call in the first leaves the one label
    # of both offices, "(other or no list)", unknown
    asked = {
        o: lists_of(s, o) if offices > 1 and o == office else lists_of(s, o)[:2]
        for o in s.customer_ids
    }
    query = ContactQuery(list(s.customer_ids))
    plan = plan_breakdown(
        client, query, ("newsletter_list",), start=START, end=END, newsletter_list_ids=asked
    )
    lost = next(c for c in plan.calls if c.dimension == "newsletter_list" and c.office == office)
    for call in plan.calls:  # every answer cached but one
        if call != lost:
            client.contacts(call.query)
    s.set_faults(down=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BreakdownWarning)
        result = run_breakdown(client, plan, progress=False, allow_partial=True)
    s.set_faults()
    counts = result.counts
    unknown = counts["newsletter_list"].isin([lost.value, OTHER_OR_NO_LIST])
    assert NO_LIST not in labels_in(counts, "newsletter_list")
    assert counts.loc[unknown, "contacts"].isna().all()
    assert counts.loc[~unknown, "contacts"].notna().all() and (~unknown).any()


# --------------------------------------------------------------------------- planning, pure

OFFICE = "M30011"
LISTS = OfficeLookups(
    OFFICE, newsletter_lists=pd.DataFrame({"id": ["NL1", "NL2"], "name": ["A", "B"]})
)
NO_LOOKUP = OfficeLookups(OFFICE)

# (case, query kwargs, dimension, lookups, options, remainder)
REMAINDERS = [
    ("lists: every list of the lookup", {}, "newsletter_list", LISTS, {}, NO_LIST),
    (
        "lists: all given",
        {},
        "newsletter_list",
        LISTS,
        {"newsletter_list_ids": ["NL2", "NL1"]},
        NO_LIST,
    ),
    (
        "lists: one given",
        {},
        "newsletter_list",
        LISTS,
        {"newsletter_list_ids": ["NL1"]},
        OTHER_OR_NO_LIST,
    ),
    (
        "lists: given, no lookup to know the rest",
        {},
        "newsletter_list",
        NO_LOOKUP,
        {"newsletter_list_ids": ["NL1", "NL2"]},
        OTHER_OR_NO_LIST,
    ),
    (
        "lists: the query's list and the other",
        {"newsletter_list_id": "NL1"},
        "newsletter_list",
        LISTS,
        {},
        NO_LIST,
    ),
    (
        "lists: the query's list and none other",
        {"newsletter_list_id": "NL1"},
        "newsletter_list",
        LISTS,
        {"newsletter_list_ids": ["NL1"]},
        OTHER_OR_NO_LIST,
    ),
    ("services: 1-3 by default", {}, "scheduled_order_type", NO_LOOKUP, {}, NO_SERVICE),
    (
        "services: 1-3 and an unpublished 7",
        {},
        "scheduled_order_type",
        NO_LOOKUP,
        {"scheduled_order_types": ["BoneoSearchProfile", 7, 1, 2]},
        NO_SERVICE,
    ),
    (
        "services: two of three",
        {},
        "scheduled_order_type",
        NO_LOOKUP,
        {"scheduled_order_types": [1, 3]},
        OTHER_OR_NO_SERVICE,
    ),
    (
        "services: the query's 3 and the others",
        {"scheduled_order_type": 3},
        "scheduled_order_type",
        NO_LOOKUP,
        {},
        NO_SERVICE,
    ),
    (
        "services: the query's 3 and 1",
        {"scheduled_order_type": 3},
        "scheduled_order_type",
        NO_LOOKUP,
        {"scheduled_order_types": [1]},
        OTHER_OR_NO_SERVICE,
    ),
]


@pytest.mark.parametrize(
    ("query", "name", "lookups", "options", "remainder"),
    [c[1:] for c in REMAINDERS],
    ids=[c[0] for c in REMAINDERS],
)
def test_the_remainder_is_labelled_by_what_was_asked(query, name, lookups, options, remainder):
    contact_query = ContactQuery(OFFICE, **query)
    opts, _ = breakdown_options(
        contact_query, (name,), start=START, end=END, now="2026-06-01", **options
    )
    plan = plan_breakdown(contact_query, {OFFICE: lookups}, opts, None)
    (dim,) = plan.offices[0].dimensions
    assert dim.remainder == remainder
    if dim.fixed is None:
        assert dim.all_values[-1] == remainder


def test_activity_counts_labels_the_empty_tuple_as_told():
    facts = pd.DataFrame(
        {
            "created_period": pd.DatetimeIndex([ts("2025-01-01")] * 3),
            "newsletter_list": pd.Series([("L1",), (), ("L1", "L2")], dtype=object),
        }
    )
    told = activity_counts(
        facts,
        "created",
        ("newsletter_list",),
        "M",
        "2025-01-01",
        "2025-02-01",
        empty_labels={"newsletter_list": OTHER_OR_NO_LIST},
    )
    default = activity_counts(
        facts, "created", ("newsletter_list",), "M", "2025-01-01", "2025-02-01"
    )
    assert dict(zip(told["newsletter_list"], told["contacts"], strict=True)) == {
        "L1": 2,
        "L2": 1,
        OTHER_OR_NO_LIST: 1,
    }
    assert set(default["newsletter_list"]) == {"L1", "L2", NO_LIST}
    assert np.array_equal(told["contacts"].to_numpy(), default["contacts"].to_numpy())
