"""Drill-down against the stand-in: the contacts of a breakdown's cells, and their details."""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import pytest

from tests.plugins.breakdown import NO_AGENT, ts
from vitec_nb import ContactQuery, InvalidQueryError
from vitec_nb.details import PERSONAL_FIELDS
from vitec_nb.plan import run_breakdown

START, END, END_TS = "2025-01-01", "2025-12-31", "2026-01-01"


def run(client, query, by=("agent",), **kw):
    kw.setdefault("start", START)
    kw.setdefault("end", END)
    kw.setdefault("progress", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return run_breakdown(client, query, by, **kw)


def truth_in_range(standin, office):
    t = standin.truth
    at = t["created_at"]
    rows = t[(t["customer_id"] == office) & (at >= ts(START)) & (at < ts(END_TS))].copy()
    rows["month"] = rows["created_at"].dt.tz_localize(None).dt.to_period("M").dt.start_time
    rows["agent"] = rows["agent_id"].astype(object).where(rows["agent_id"].notna(), NO_AGENT)
    return rows


def detail_requests(standin) -> list:
    return [
        r for r in standin.requests if r.path.startswith("/CRM/Contact/") and r.path.count("/") > 3
    ]


# -- cells ---------------------------------------------------------------------------------


def test_every_by_agent_cell_holds_its_count_and_the_truths_contacts(
    breakdown_standin, make_breakdown_client
):
    s = breakdown_standin
    office = s.customer_ids[0]
    result = run(make_breakdown_client(s), ContactQuery(office))
    truth = truth_in_range(s, office)
    seen: list[str] = []
    for cell in result.counts.itertuples():
        rows = result.contacts_in(period=cell.period, agent=cell.agent)
        assert len(rows) == cell.contacts
        month = cell.period.tz_localize(None)
        expected = truth[(truth["month"] == month) & (truth["agent"] == cell.agent)]["id"]
        assert sorted(rows["id"].astype(str)) == sorted(expected.astype(str))
        seen += list(rows["id"].astype(str))
    assert sorted(seen) == sorted(truth["id"].astype(str))  # every contact in one cell
    assert result.counts["contacts"].sum() == len(truth) > 100


def test_a_row_or_a_column_of_cells_and_values_by_name(standin_small):
    result, truth = standin_small
    agent = truth["agent_id"].dropna().iloc[0]
    name = result.names["agent"][agent]
    by_id = result.contacts_in(agent=agent)  # every month of one agent
    assert sorted(by_id["id"].astype(str)) == sorted(
        truth[truth["agent"] == agent]["id"].astype(str)
    )
    by_name = result.contacts_in(agent=name.upper())
    assert by_name["id"].tolist() == by_id["id"].tolist()
    march = result.contacts_in(period="2025-03")  # every agent in one month
    in_march = truth["month"] == pd.Timestamp("2025-03-01")
    assert sorted(march["id"].astype(str)) == sorted(truth[in_march]["id"].astype(str))
    nobody = result.contacts_in(agent=NO_AGENT, period="2025-03")
    assert len(nobody) == (in_march & (truth["agent"] == NO_AGENT)).sum()
    assert len(result.contacts_in()) == len(result.facts)


@pytest.mark.parametrize(
    "period",
    [
        "2025-03",
        "Mar 2025",
        "2025-03-17",
        dt.date(2025, 3, 31),
        pd.Timestamp("2025-03-01", tz="Europe/Stockholm"),
    ],
)
def test_a_period_by_label_date_or_timestamp(standin_small, period):
    result, truth = standin_small
    rows = result.contacts_in(period=period)
    assert len(rows) == (truth["month"] == pd.Timestamp("2025-03-01")).sum() > 0
    assert rows.attrs["cell"]["period"] == ts("2025-03-01")


@pytest.mark.parametrize(
    ("cell", "field", "allowed"),
    [
        ({"agent": "Nobody Atall"}, "agent", NO_AGENT),
        ({"period": "2024-12"}, "period", "2025-01 … 2025-12"),
        ({"period": "March"}, "period", "2025-01 … 2025-12"),
        ({"lead_score": 3}, "lead_score", "period, agent, kind, customer_id"),
        ({"kind": "robot"}, "kind", "deceased_estate"),
    ],
)
def test_unknown_values_are_errors_listing_the_allowed_ones(standin_small, cell, field, allowed):
    result, _ = standin_small
    with pytest.raises(InvalidQueryError) as err:
        result.contacts_in(**cell)
    assert err.value.field == field
    assert allowed in err.value.allowed


@pytest.fixture
def standin_small(make_standin, make_breakdown_client):
    s = make_standin(seed=1, contacts=1500, offices=1, agents=5)
    office = s.customer_ids[0]
    return run(make_breakdown_client(s), ContactQuery(office)), truth_in_range(s, office)


# -- details -------------------------------------------------------------------------------


def test_details_of_a_45_contact_cell_make_3_calls_then_none(make_standin, make_breakdown_client):
    s = make_standin(seed=2, contacts=3000, offices=2, agents=8)
    office = s.customer_ids[0]
    result = run(make_breakdown_client(s), ContactQuery(office), by=("lead_score",), period="Y")
    cell = {"period": "2025", "lead_score": 1}
    assert len(result.contacts_in(**cell)) == 45
    before = result.details_calls(**cell)
    assert (before.contacts, before.calls, before.cached) == (45, 3, 0)
    assert "3 contact-details calls for 45 contacts" in str(before)
    s.clear_requests()
    seen: list[tuple[int, int]] = []
    frame = result.details(progress=lambda done, total: seen.append((done, total)), **cell)
    assert len(detail_requests(s)) == 3
    assert seen[-1] == (3, 3)
    assert frame.attrs["details_calls"] == 3
    truth = s.truth.set_index("id").loc[frame["id"].astype(str)]
    assert (frame["created_at"].to_numpy() == truth["created_at"].to_numpy()).all()
    assert frame["name"].str.len().min() > 0
    assert (frame["lead_score"].astype(object) == 1).all()
    assert not set(PERSONAL_FIELDS) & set(frame.columns)  # personal data only when asked
    s.clear_requests()
    again = result.details(**cell)
    assert detail_requests(s) == []
    assert result.details_calls(**cell).cached == 3
    pd.testing.assert_frame_equal(again, frame, check_like=False)


def test_personal_data_only_as_fields_names_it(make_standin, make_breakdown_client):
    s = make_standin(seed=1, contacts=1500, offices=1, agents=5)
    result = run(make_breakdown_client(s), ContactQuery(s.customer_ids[0]))
    frame = result.details(period="2025-04", fields=["email", "phone"])
    assert [c for c in frame.columns if c in PERSONAL_FIELDS] == ["phone", "email"]
    assert frame["email"].notna().any()
    plain = result.details(period="2025-04")
    assert {"name", "created_at"} <= set(plain.columns)
    assert not set(PERSONAL_FIELDS) & set(plain.columns)
    with pytest.raises(InvalidQueryError) as err:
        result.details(period="2025-04", fields=["password"])
    assert err.value.field == "fields"


def test_details_over_two_offices_one_progress(make_standin, make_breakdown_client):
    s = make_standin(seed=3, contacts=2000, offices=2, agents=4)
    result = run(make_breakdown_client(s), ContactQuery(list(s.customer_ids)), by=("lead_score",))
    cell = {"period": "2025-05"}
    plan = result.details_calls(**cell)
    offices = result.contacts_in(**cell)["customer_id"].astype(str)
    assert offices.nunique() == 2
    seen: list[tuple[int, int]] = []
    s.clear_requests()
    frame = result.details(progress=lambda d, t: seen.append((d, t)), **cell)
    assert len(detail_requests(s)) == plan.calls
    assert seen[-1] == (plan.calls, plan.calls) and {t for _, t in seen} == {plan.calls}
    assert sorted(frame["id"]) == sorted(result.contacts_in(**cell)["id"])


def test_multi_valued_cells_by_office_and_list_equal_the_truth(make_standin, make_breakdown_client):
    s = make_standin(seed=1, contacts=2000, offices=2, agents=4)
    offices = list(s.customer_ids)
    result = run(make_breakdown_client(s), ContactQuery(offices), by=("office", "newsletter_list"))
    truth = pd.concat([truth_in_range(s, o) for o in offices])
    for cell in result.counts[result.counts["contacts"] > 0].itertuples():
        rows = result.contacts_in(
            period=cell.period, office=cell.office, newsletter_list=cell.newsletter_list
        )
        mine = truth[
            (truth["month"] == cell.period.tz_localize(None))
            & (truth["customer_id"] == cell.office)
        ]
        lists = mine["newsletter_list_ids"]
        on = (
            lists.map(len) == 0
            if cell.newsletter_list == "(no list)"
            else lists.map(lambda t, value=cell.newsletter_list: value in t)
        )
        assert sorted(rows["id"].astype(str)) == sorted(mine[on]["id"].astype(str))
        assert len(rows) == cell.contacts
    office_name = result.names["office"][offices[0]]  # "Name (M30011)": by label as well
    assert len(result.contacts_in(office=office_name)) == (truth["customer_id"] == offices[0]).sum()
