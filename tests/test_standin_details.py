"""The stand-in's contact details: mixed and typed routes, id limits, and fake personal data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
import requests

from vitec_nb.standin import StandIn

TYPES = {"person": "Person", "company": "Company", "deceased_estate": "DeceasedEstate"}


@pytest.fixture(scope="module")
def office(standin: StandIn) -> pd.DataFrame:
    return standin.truth[standin.truth.customer_id == standin.customer_ids[0]].set_index("id")


def get(session, s: StandIn, tail: str, **params) -> requests.Response:
    return session.get(f"{s.url}/CRM/Contact/{s.customer_ids[0]}/{tail}", params=params, timeout=10)


def ids_of(office: pd.DataFrame, kind: str, n: int) -> list[str]:
    return list(office.index[office.kind == kind][:n])


def test_mixed_route_answers_each_contact_with_its_type_and_truth(standin, standin_session, office):
    ids = (
        ids_of(office, "person", 6)
        + ids_of(office, "company", 6)
        + ids_of(office, "deceased_estate", 3)
    )
    answer = get(standin_session, standin, ",".join(ids)).json()
    assert [r["id"] for r in answer] == ids
    for record in answer:
        row = office.loc[record["id"]]
        assert record["type"] == TYPES[row.kind]
        assert record["customerId"] == standin.customer_ids[0]
        assert pd.Timestamp(record["createdAt"]) == row.created_at
        assert pd.Timestamp(record["changedAt"]) == row.changed_at
        assert record["agentId"] == (None if pd.isna(row.agent_id) else row.agent_id)
        if row.kind == "deceased_estate":
            assert "leadScore" not in record
        else:
            assert record["leadScore"] == row.lead_score


@pytest.mark.parametrize("kind", list(TYPES))
def test_typed_route_answers_only_its_kind(standin, standin_session, office, kind):
    mixed = (
        ids_of(office, "person", 2)
        + ids_of(office, "company", 2)
        + ids_of(office, "deceased_estate", 1)
    )
    answer = get(standin_session, standin, f"{TYPES[kind]}/{','.join(mixed)}").json()
    assert [r["id"] for r in answer] == [i for i in mixed if office.loc[i, "kind"] == kind]
    assert {r["type"] for r in answer} == {TYPES[kind]}


def test_more_than_five_ids_go_in_the_query_string(standin, standin_session, office):
    ids = ids_of(office, "person", 12)
    answer = get(standin_session, standin, "person", contactIds=",".join(ids)).json()
    assert [r["id"] for r in answer] == ids


def test_twenty_ids_are_answered_twenty_one_are_a_400(standin, standin_session, office):
    ids = ids_of(office, "person", 21)
    assert len(get(standin_session, standin, ",".join(ids[:20])).json()) == 20
    refused = get(standin_session, standin, "Person", contactIds=",".join(ids))
    assert refused.status_code == 400
    assert "20" in refused.json()["ModelState"]["contactIds"][0]


def test_no_ids_on_the_typed_route_is_a_400(standin, standin_session):
    refused = get(standin_session, standin, "Company")
    assert refused.status_code == 400
    assert "contactIds" in refused.json()["ModelState"]


def test_unknown_ids_and_other_offices_contacts_are_left_out(standin, standin_session, office):
    other = standin.truth[standin.truth.customer_id == standin.customer_ids[1]].id.iloc[0]
    mine = ids_of(office, "person", 1)[0]
    answer = get(standin_session, standin, f"ADR{'0' * 32},{other},{mine.lower()}").json()
    assert [r["id"] for r in answer] == [mine]


def test_details_need_access_to_the_office(make_standin):
    s = make_standin(contacts=200, offices=2)
    s.add_account("eva", passwords={s.customer_ids[1]: "pw"})
    some = s.truth.id.iloc[0]
    response = requests.get(
        f"{s.url}/CRM/Contact/{s.customer_ids[0]}/{some}", auth=("eva", "pw"), timeout=10
    )
    assert response.status_code == 403


def test_personal_data_is_clearly_fake(standin, standin_session, office):
    ids = (
        ids_of(office, "person", 10)
        + ids_of(office, "company", 5)
        + ids_of(office, "deceased_estate", 5)
    )
    answer = get(standin_session, standin, ",".join(ids[:20])).json()
    for record in answer:
        assert record["email"]["emailAddress"].endswith(("@example.se", "@example.com"))
        for number in record["telephone"].values():
            assert number == "" or re.fullmatch(
                r"070-174 06 (0[5-9]|[1-9]\d)|08-465 004 \d\d", number
            )
        if record["type"] == "Company":
            assert re.fullmatch(r"55\d{4}-XX\d\d", record["corporateNumber"])
        else:
            assert re.fullmatch(r"(19|20)\d{6}-XX\d\d", record["socialSecurityNumber"])
    persons = [r for r in answer if r["type"] == "Person"]
    born = pd.Timestamp(persons[0]["dateOfBirth"])
    assert persons[0]["socialSecurityNumber"].startswith(born.strftime("%Y%m%d"))
    assert (born.hour, born.minute) == (0, 0)


def test_personal_data_is_the_same_on_every_call(standin, standin_session, office):
    ids = ",".join(ids_of(office, "person", 3))
    assert get(standin_session, standin, ids).content == get(standin_session, standin, ids).content


def test_details_in_xml_hold_the_same_contacts(standin, standin_session, office):
    ids = ids_of(office, "person", 3)
    response = standin_session.get(
        f"{standin.url}/CRM/Contact/{standin.customer_ids[0]}/{','.join(ids)}",
        headers={"Accept": "application/xml"},
        timeout=10,
    )
    root = ET.fromstring(response.content)
    assert root.tag.endswith("ArrayOfCrmContact")
    found = [e.text for item in root for e in item if e.tag.endswith("}Id")]
    assert found == ids
