"""The stand-in's contact endpoint: each filter answers exactly what the ground truth says."""

from __future__ import annotations

import pandas as pd
import pytest
import requests

from vitec_nb.standin import StandIn

KEYS = {"persons": "person", "companies": "company", "deceasedEstates": "deceased_estate"}
TZ = "Europe/Stockholm"


def ids_of(body: dict) -> set[str]:
    return {ref["id"] for key in KEYS for ref in body[key]}


def fetch(session: requests.Session, s: StandIn, cid: str, **params: object) -> set[str]:
    response = session.get(f"{s.url}/CRM/Contact/{cid}", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return ids_of(response.json())


def truth_ids(frame: pd.DataFrame) -> set[str]:
    return set(frame["id"].astype(str))


def naive(ts: pd.Timestamp) -> str:
    """Swedish local time as the API takes it, with microseconds."""
    return ts.tz_convert(TZ).strftime("%Y-%m-%dT%H:%M:%S.%f")


@pytest.fixture(scope="module")
def office(standin: StandIn) -> pd.DataFrame:
    """Ground truth of the shared stand-in's second office."""
    return standin.truth[standin.truth.customer_id == standin.customer_ids[1]]


@pytest.fixture(scope="module")
def cid(standin: StandIn) -> str:
    return standin.customer_ids[1]


def test_unfiltered_answer_lists_every_contact_of_the_office(standin, standin_session):
    cid = standin.customer_ids[1]
    body = standin_session.get(f"{standin.url}/CRM/Contact/{cid}", timeout=30).json()
    truth = standin.truth[standin.truth.customer_id == cid]
    assert ids_of(body) == truth_ids(truth)
    for key, kind in KEYS.items():
        assert {r["id"] for r in body[key]} == truth_ids(truth[truth.kind == kind])
        assert {r["customerId"] for r in body[key]} <= {cid}


def test_agent_filter_returns_that_agents_contacts(standin, standin_session, office, cid):
    agent = office.agent_id.value_counts().index[0]
    got = fetch(standin_session, standin, cid, AgentId=agent)
    assert got == truth_ids(office[office.agent_id == agent])
    assert got


def test_unknown_agent_gives_an_empty_answer_not_an_error(standin, standin_session, cid):
    assert fetch(standin_session, standin, cid, AgentId="NOSUCHAGENT") == set()


def test_agent_of_another_office_matches_nothing(standin, standin_session, cid):
    other = standin.truth[standin.truth.customer_id == standin.customer_ids[0]]
    agent = other.agent_id.dropna().iloc[0]
    assert fetch(standin_session, standin, cid, AgentId=agent) == set()


def test_created_bounds_are_inclusive_at_microsecond_precision(
    standin, standin_session, office, cid
):
    ordered = office.sort_values("created_at")
    subsecond = ordered[ordered.created_at.dt.microsecond > 0]
    subsecond = subsecond[subsecond.created_at.dt.hour != 2]  # not in a repeated DST hour
    lo, hi = subsecond.created_at.iloc[100], subsecond.created_at.iloc[400]
    got = fetch(standin_session, standin, cid, CreatedAtFrom=naive(lo), CreatedAtTo=naive(hi))
    expected = office[(office.created_at >= lo) & (office.created_at <= hi)]
    assert got == truth_ids(expected)
    assert truth_ids(office[office.created_at.isin([lo, hi])]) <= got


def test_created_from_one_microsecond_later_excludes_the_contact(
    standin, standin_session, office, cid
):
    row = office[(office.created_at.dt.microsecond > 0) & (office.created_at.dt.hour != 2)].iloc[7]
    later = row.created_at + pd.Timedelta(microseconds=1)
    got = fetch(standin_session, standin, cid, CreatedAtFrom=naive(later))
    assert row.id not in got
    assert got == truth_ids(office[office.created_at >= later])


def test_changed_bounds_are_inclusive_at_microsecond_precision(
    standin, standin_session, office, cid
):
    ordered = office[office.changed_at.dt.hour != 2].sort_values("changed_at")
    lo, hi = ordered.changed_at.iloc[50], ordered.changed_at.iloc[900]
    got = fetch(standin_session, standin, cid, ChangedAtFrom=naive(lo), ChangedAtTo=naive(hi))
    assert got == truth_ids(office[(office.changed_at >= lo) & (office.changed_at <= hi)])
    assert truth_ids(office[office.changed_at.isin([lo, hi])]) <= got


def test_date_only_value_means_local_midnight(standin, standin_session, office, cid):
    created = office.created_at
    midnight_first = office[(created == created.dt.normalize()) & (created.dt.day == 1)]
    day = midnight_first.created_at.iloc[0]
    text = day.strftime("%Y-%m-%d")
    got = fetch(standin_session, standin, cid, CreatedAtFrom=text, CreatedAtTo=text)
    assert got == truth_ids(office[office.created_at == day])
    assert midnight_first.id.iloc[0] in got


@pytest.mark.parametrize("suffix", ["Z", "+00:00", "+05:30"])
def test_explicit_offset_in_a_date_is_honoured(standin, standin_session, office, cid, suffix):
    moment = pd.Timestamp("2025-06-02T10:15:00" + suffix)
    got = fetch(standin_session, standin, cid, CreatedAtTo="2025-06-02T10:15:00" + suffix)
    assert got == truth_ids(office[office.created_at <= moment])


def test_naive_time_in_the_repeated_autumn_hour_is_its_first_occurrence(
    standin, standin_session, office, cid
):
    moment = pd.Timestamp("2025-10-26T02:30:00").tz_localize(TZ, ambiguous=True)
    got = fetch(standin_session, standin, cid, ChangedAtFrom="2025-10-26T02:30:00")
    assert got == truth_ids(office[office.changed_at >= moment])


def test_custom_field_name_alone_matches_contacts_with_the_field_set(
    standin, standin_session, office, cid
):
    name = standin.custom_field_defs.query("customer_id == @cid").name.iloc[0]
    got = fetch(standin_session, standin, cid, CustomFieldName=name)
    assert got == truth_ids(office[office.custom_fields.map(lambda f: name in f)])
    assert got


def test_custom_field_name_and_value_match_that_value(standin, standin_session, office, cid):
    name = standin.custom_field_defs.query("customer_id == @cid").name.iloc[0]
    values = office.custom_fields.map(lambda f: f.get(name))
    value = values.dropna().iloc[0]
    got = fetch(standin_session, standin, cid, CustomFieldName=name, CustomFieldValue=value)
    assert got == truth_ids(office[values == value])


def test_unknown_custom_field_matches_nothing(standin, standin_session, cid):
    assert fetch(standin_session, standin, cid, CustomFieldName="NoSuchField") == set()


@pytest.mark.parametrize("score", range(1, 6))
def test_lead_score_filter_returns_contacts_with_that_score(
    standin, standin_session, office, cid, score
):
    got = fetch(standin_session, standin, cid, LeadScore=score)
    assert got == truth_ids(office[office.lead_score == score])
    assert got


def test_deceased_estates_match_no_lead_score(standin, standin_session, office, cid):
    estates = truth_ids(office[office.kind == "deceased_estate"])
    assert estates
    for score in range(1, 6):
        assert not fetch(standin_session, standin, cid, LeadScore=score) & estates


@pytest.mark.parametrize("param", ["LeadScore", "ContactScheduledOrderType"])
def test_zero_means_no_filter_in_the_documented_dialect(
    standin, standin_session, office, cid, param
):
    assert fetch(standin_session, standin, cid, **{param: 0}) == truth_ids(office)


@pytest.mark.parametrize("service", [1, 2, 3])
def test_scheduled_order_type_returns_every_contact_holding_that_service(
    standin, standin_session, office, cid, service
):
    got = fetch(standin_session, standin, cid, ContactScheduledOrderType=service)
    holds = office.scheduled_order_types.map(lambda held: service in held)
    assert got == truth_ids(office[holds])
    assert got


@pytest.mark.parametrize(
    ("value", "number"),
    [("EstateValue", 1), ("finalpricesinarea", 2), ("BONEOSEARCHPROFILE", 3)],
)
def test_scheduled_order_type_is_taken_by_name_in_any_case(
    standin, standin_session, cid, value, number
):
    by_name = fetch(standin_session, standin, cid, ContactScheduledOrderType=value)
    assert by_name == fetch(standin_session, standin, cid, ContactScheduledOrderType=number)


@pytest.mark.parametrize("number", [4, 17, -1])
def test_unpublished_scheduled_order_type_matches_nothing(standin, standin_session, cid, number):
    assert fetch(standin_session, standin, cid, ContactScheduledOrderType=number) == set()


def test_contacts_hold_several_services_at_once(standin, standin_session, office, cid):
    both = fetch(standin_session, standin, cid, ContactScheduledOrderType=1) & fetch(
        standin_session, standin, cid, ContactScheduledOrderType=2
    )
    assert both == truth_ids(office[office.scheduled_order_types.map(lambda h: {1, 2} <= set(h))])
    assert both


def test_newsletter_list_filter_returns_members_of_that_list(standin, standin_session, office, cid):
    for list_id in standin.newsletter_lists.query("customer_id == @cid").id:
        got = fetch(standin_session, standin, cid, NewsletterListId=list_id)
        members = office.newsletter_list_ids.map(lambda ids, wanted=list_id: wanted in ids)
        assert got == truth_ids(office[members])


def test_filters_combine_with_and(standin, standin_session, office, cid):
    agent = office.agent_id.value_counts().index[0]
    lo = pd.Timestamp("2024-01-01", tz=TZ)
    got = fetch(
        standin_session, standin, cid, AgentId=agent, LeadScore=1, CreatedAtFrom="2024-01-01"
    )
    expected = office[
        (office.agent_id == agent) & (office.lead_score == 1) & (office.created_at >= lo)
    ]
    assert got == truth_ids(expected)
    assert got


def test_parameter_names_are_case_insensitive(standin, standin_session, cid):
    assert fetch(standin_session, standin, cid, leadscore=4) == fetch(
        standin_session, standin, cid, LeadScore=4
    )


def test_unknown_parameters_are_ignored(standin, standin_session, office, cid):
    assert fetch(standin_session, standin, cid, Page=2, Color="blue") == truth_ids(office)


def test_empty_parameter_value_counts_as_not_given(standin, standin_session, office, cid):
    assert fetch(standin_session, standin, cid, LeadScore="", AgentId="") == truth_ids(office)


def test_out_of_range_lead_score_matches_nothing(standin, standin_session, cid):
    assert fetch(standin_session, standin, cid, LeadScore=9) == set()


@pytest.mark.parametrize("score", [-1, 6])
def test_a_lead_score_outside_0_to_5_matches_nothing_not_even_estates(
    standin, standin_session, cid, score
):
    assert fetch(standin_session, standin, cid, LeadScore=score) == set()
