"""Periods in Stockholm time and activity tables from facts frames (pure, no network)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vitec_nb import InvalidQueryError
from vitec_nb.activity import (
    activity_counts,
    floor_period,
    next_period_start,
    normalize_period,
    period_index,
    period_label,
    wide,
)

TZ = "Europe/Stockholm"


def t(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_localize(TZ, ambiguous=True)  # first 02:30 in October


@pytest.mark.parametrize(
    ("word", "code"),
    [("D", "D"), ("day", "D"), ("Week", "W"), ("month", "M"), ("q", "Q"), ("year", "Y")],
)
def test_period_accepts_codes_and_words(word, code):
    assert normalize_period(word) == code


@pytest.mark.parametrize("bad", ["fortnight", "", "2W", 3])
def test_unknown_period_names_the_field(bad):
    with pytest.raises(InvalidQueryError) as info:
        normalize_period(bad)
    assert info.value.field == "period"


@pytest.mark.parametrize(
    ("at", "period", "start"),
    [
        ("2025-03-30 03:30", "D", "2025-03-30"),  # spring DST day
        ("2025-10-26 02:30", "D", "2025-10-26"),  # autumn DST day (first 02:30)
        ("2025-04-02 12:00", "W", "2025-03-31"),  # Monday after the spring change
        ("2025-03-30 23:59", "W", "2025-03-24"),  # Sunday belongs to the week before
        ("2025-02-28 23:59:59.999999", "M", "2025-02-01"),
        ("2025-05-17", "Q", "2025-04-01"),
        ("2025-12-31 23:00", "Y", "2025-01-01"),
    ],
)
def test_periods_start_at_stockholm_midnight(at, period, start):
    floor = floor_period(t(at), period)
    assert floor == t(start)
    assert floor.tz_convert(TZ).hour == 0


def test_a_utc_instant_falls_in_its_stockholm_day():
    # 23:30 UTC on 31 Jan is 00:30 on 1 Feb in Stockholm
    at = pd.Timestamp("2025-01-31 23:30", tz="UTC")
    assert floor_period(at, "M") == t("2025-02-01")


def test_period_index_lists_every_period_overlapping_the_range():
    index = period_index("2025-01-15", "2025-04-01", "M")
    assert list(index) == [t("2025-01-01"), t("2025-02-01"), t("2025-03-01")]
    assert str(index.dtype) == f"datetime64[ns, {TZ}]"


def test_period_index_days_across_dst_are_calendar_days():
    index = period_index("2025-10-25", "2025-10-28", "D")
    assert [str(x) for x in index] == [
        "2025-10-25 00:00:00+02:00",
        "2025-10-26 00:00:00+02:00",
        "2025-10-27 00:00:00+01:00",
    ]


def test_next_period_start_is_the_ceiling():
    assert next_period_start(t("2025-03-01"), "M") == t("2025-03-01")
    assert next_period_start(t("2025-03-01 00:00:01"), "M") == t("2025-04-01")


@pytest.mark.parametrize(
    ("period", "label"),
    [
        ("D", "3 Feb\n2025"),
        ("W", "W06\n2025"),
        ("M", "Feb\n2025"),
        ("Q", "Q1\n2025"),
        ("Y", "2025"),
    ],
)
def test_period_labels_read_well(period, label):
    assert period_label(t("2025-02-03"), period) == label


def facts_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": pd.Categorical(["person"] * 4, categories=["person", "company"]),
            "changed_at": [t("2025-01-05"), t("2025-01-20"), t("2025-03-02"), t("2025-03-31")],
            "created_period": [t("2025-01-01"), t("2025-01-01"), t("2025-03-01"), t("2025-03-01")],
            "agent": ["A", "B", "A", pd.NA],
            "newsletter_list": [("L1", "L2"), (), ("L1",), ()],
        }
    )


def test_counts_list_every_period_with_zeros_where_none():
    counts = activity_counts(facts_frame(), "created", (), "M", "2025-01-01", "2025-05-01")
    assert list(counts["period"]) == [t(f"2025-0{m}-01") for m in (1, 2, 3, 4)]
    assert list(counts["contacts"]) == [2, 0, 2, 0]
    assert counts["contacts"].dtype == np.int64


def test_counts_by_a_dimension_list_given_values_even_without_contacts():
    counts = activity_counts(
        facts_frame(),
        "changed",
        ("agent",),
        "M",
        "2025-01-01",
        "2025-04-01",
        values={"agent": ["A", "B", "C"]},
    )
    table = counts.set_index(["period", "agent"])["contacts"]
    assert table[(t("2025-01-01"), "A")] == 1 and table[(t("2025-01-01"), "B")] == 1
    assert table[(t("2025-03-01"), "C")] == 0
    assert len(counts) == 3 * 3
    assert list(counts["agent"].cat.categories) == ["A", "B", "C"]


def test_multi_valued_dimension_counts_a_contact_under_each_value():
    counts = activity_counts(
        facts_frame(), "created", ("newsletter_list",), "Q", "2025-01-01", "2025-04-01"
    )
    totals = counts.set_index("newsletter_list")["contacts"]
    assert totals["L1"] == 2 and totals["L2"] == 1 and totals["(no list)"] == 2
    assert totals.sum() > len(facts_frame())  # more than the contacts: said in the docs


def test_services_are_multi_valued_with_no_active_service_for_none():
    facts = facts_frame().assign(scheduled_order_type=[(1, 3), (2,), (), ()])
    counts = activity_counts(
        facts, "created", ("scheduled_order_type",), "Q", "2025-01-01", "2025-04-01"
    )
    totals = counts.set_index("scheduled_order_type")["contacts"]
    assert totals[1] == totals[2] == totals[3] == 1
    assert totals["(no active service)"] == 2


def test_an_exclusive_end_one_nanosecond_after_an_included_instant_is_kept_exact():
    """A plan with an included end stops one nanosecond after it: periods and counts take
    that instant as it is (no microsecond rounding)."""
    last = t("2025-03-31")  # the fourth contact's change, to the nanosecond
    end = last + pd.Timedelta(1, "ns")
    assert list(period_index(t("2025-01-01"), end, "M")) == [
        t("2025-01-01"), t("2025-02-01"), t("2025-03-01")
    ]  # fmt: skip
    included = activity_counts(facts_frame(), "changed", (), "M", "2025-01-01", end)
    excluded = activity_counts(facts_frame(), "changed", (), "M", "2025-01-01", last)
    assert (included["contacts"].sum(), excluded["contacts"].sum()) == (4, 3)


def test_counts_leave_out_contacts_outside_the_range():
    counts = activity_counts(facts_frame(), "changed", (), "M", "2025-01-10", "2025-03-31")
    assert counts["contacts"].sum() == 2  # 2025-01-20 and 2025-03-02


def test_wide_table_has_periods_down_and_values_across():
    counts = activity_counts(facts_frame(), "created", ("agent",), "M", "2025-01-01", "2025-04-01")
    table = wide(counts)
    assert list(table.index) == [t("2025-01-01"), t("2025-02-01"), t("2025-03-01")]
    assert list(table.columns) == ["A", "B"]
    assert table.loc[t("2025-03-01"), "A"] == 1


def test_wide_table_keeps_unknown_cells_unknown():
    counts = activity_counts(facts_frame(), "created", ("agent",), "M", "2025-01-01", "2025-04-01")
    counts["contacts"] = counts["contacts"].astype(float)
    counts.loc[0, "contacts"] = np.nan
    assert np.isnan(wide(counts).iloc[0, 0])


def two_multi_valued() -> pd.DataFrame:
    return facts_frame().assign(
        scheduled_order_type=[(1, 3), (2,), (), (1,)],
        newsletter_list=[("L1", "L2"), (), ("L1",), np.nan],  # the last one unknown
    )


def test_two_multi_valued_dimensions_count_a_contact_once_in_each_pair():
    counts = activity_counts(
        two_multi_valued(),
        "created",
        ("newsletter_list", "scheduled_order_type"),
        "Q",
        "2025-01-01",
        "2025-04-01",
    )
    cells = counts.set_index(["newsletter_list", "scheduled_order_type"])["contacts"]
    assert cells[cells > 0].to_dict() == {
        ("L1", 1): 1,
        ("L1", 3): 1,
        ("L2", 1): 1,
        ("L2", 3): 1,  # the first contact: two lists x two services, once in each pair
        ("(no list)", 2): 1,
        ("L1", "(no active service)"): 1,
    }  # the fourth contact's lists are unknown: in no cell
    assert len(counts) == 3 * 4  # L1, L2, (no list) x 1, 2, 3, (no active service)


def test_multi_valued_values_may_be_lists_and_order_is_kept():
    facts = two_multi_valued()
    facts["newsletter_list"] = [["L2", "L1"], [], ["L1"], ["L2"]]
    counts = activity_counts(
        facts,
        "created",
        ("scheduled_order_type", "newsletter_list"),
        "Y",
        "2025-01-01",
        "2026-01-01",
        values={"newsletter_list": ["L2", "L1", "(no list)"]},
    )
    assert list(counts["newsletter_list"].cat.categories) == ["L2", "L1", "(no list)"]
    cells = counts.set_index(["scheduled_order_type", "newsletter_list"])["contacts"]
    assert cells[cells > 0].to_dict() == {
        (1, "L2"): 2,  # the first and the fourth contact
        (1, "L1"): 1,
        (3, "L2"): 1,
        (3, "L1"): 1,
        (2, "(no list)"): 1,
        ("(no active service)", "L1"): 1,
    }


def test_wide_refuses_to_sum_over_a_multi_valued_dimension():
    counts = activity_counts(
        two_multi_valued(),
        "created",
        ("newsletter_list", "scheduled_order_type"),
        "Q",
        "2025-01-01",
        "2025-04-01",
    )
    with pytest.raises(InvalidQueryError) as info:
        wide(counts, "newsletter_list")
    assert info.value.field == "by"
    assert "'scheduled_order_type'" in str(info.value) and "once under each" in str(info.value)
    by_agent = activity_counts(
        two_multi_valued(), "created", ("newsletter_list", "agent"), "Q", "2025-01-01", "2025-04-01"
    )
    assert wide(by_agent, "newsletter_list").loc[t("2025-01-01"), "L1"] == 2  # agents summed
