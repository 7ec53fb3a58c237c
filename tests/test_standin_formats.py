"""The stand-in's bodies: JSON by default, XML on request in the seed's layout, lookups."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
import requests

from vitec_nb.standin import StandIn

NS = "{http://schemas.datacontract.org/2004/07/Vitec.Housing.Connect.Api.Models.Contact.Crm}"
JSON_KEYS = ("persons", "companies", "deceasedEstates")
XML_KEYS = {"Persons": "persons", "Companies": "companies", "DeceasedEstates": "deceasedEstates"}
# .NET's round-trip form: up to 7 fractional digits, trailing zeros (and a bare dot) dropped
CHANGED_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{0,6}[1-9])?\+0[12]:00$")


def refs_from_json(body: dict) -> dict[str, list[tuple[str, str, str]]]:
    return {k: [(r["id"], r["changedAt"], r["customerId"]) for r in body[k]] for k in JSON_KEYS}


def refs_from_xml(text: bytes) -> dict[str, list[tuple[str, str, str]]]:
    root = ET.fromstring(text)
    out = {}
    for child in root:
        key = XML_KEYS[child.tag.removeprefix(NS)]
        out[key] = [
            (r.find(NS + "Id").text, r.find(NS + "ChangedAt").text, r.find(NS + "CustomerId").text)
            for r in child
        ]
    return out


@pytest.fixture(scope="module")
def query(standin: StandIn) -> tuple[str, dict[str, str]]:
    return f"{standin.url}/CRM/Contact/{standin.customer_ids[0]}", {"LeadScore": "2"}


def test_json_is_the_default_with_its_content_type(standin_session, query):
    response = standin_session.get(query[0], params=query[1], timeout=10)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert set(response.json()) == set(JSON_KEYS)


@pytest.mark.parametrize("media", ["application/xml", "text/xml"])
def test_xml_and_json_answers_hold_the_same_contacts(standin_session, query, media):
    as_json = standin_session.get(query[0], params=query[1], timeout=10)
    as_xml = standin_session.get(query[0], params=query[1], headers={"Accept": media}, timeout=10)
    assert as_xml.headers["Content-Type"] == f"{media}; charset=utf-8"
    assert refs_from_xml(as_xml.content) == refs_from_json(as_json.json())


def test_xml_uses_the_seed_namespace_and_element_order(standin_session, query):
    response = standin_session.get(
        query[0], params=query[1], headers={"Accept": "application/xml"}, timeout=10
    )
    root = ET.fromstring(response.content)
    assert root.tag == NS + "CrmContactList"
    assert [c.tag for c in root] == [NS + "Companies", NS + "DeceasedEstates", NS + "Persons"]
    first = root.find(NS + "Persons")[0]
    assert first.tag == NS + "CrmContactReference"
    assert [c.tag for c in first] == [NS + "ChangedAt", NS + "CustomerId", NS + "Id"]
    assert b'xmlns:i="http://www.w3.org/2001/XMLSchema-instance"' in response.content


def test_empty_xml_answer_keeps_all_three_lists(standin_session, query):
    response = standin_session.get(
        query[0], params={"AgentId": "NOBODY"}, headers={"Accept": "text/xml"}, timeout=10
    )
    assert refs_from_xml(response.content) == {k: [] for k in JSON_KEYS}


def test_accept_quality_values_pick_the_preferred_format(standin_session, query):
    prefers_xml = "application/json;q=0.5, application/xml"
    prefers_json = "application/xml;q=0.2, application/json"
    xml = standin_session.get(query[0], params=query[1], headers={"Accept": prefers_xml})
    json = standin_session.get(query[0], params=query[1], headers={"Accept": prefers_json})
    assert xml.headers["Content-Type"].startswith("application/xml")
    assert json.headers["Content-Type"].startswith("application/json")


def test_changed_at_is_local_time_with_offset_trailing_zeros_dropped(standin, standin_session):
    cid = standin.customer_ids[2]
    body = standin_session.get(f"{standin.url}/CRM/Contact/{cid}", timeout=10).json()
    refs = [r for k in JSON_KEYS for r in body[k]]
    assert all(CHANGED_AT.match(r["changedAt"]) for r in refs)
    sent = pd.Series(
        pd.to_datetime([r["changedAt"] for r in refs], format="ISO8601", utc=True),
        index=[r["id"] for r in refs],
    )
    truth = standin.truth.set_index(standin.truth.id.astype(str)).changed_at
    assert (sent == truth.loc[sent.index]).all()
    offsets = pd.Series([r["changedAt"][-6:] for r in refs], index=sent.index)
    expected = truth.loc[sent.index].map(
        lambda t: t.strftime("%z")[:3] + ":" + t.strftime("%z")[3:]
    )
    assert (offsets == expected).all()


def test_customer_ids_of_different_lengths_still_give_valid_bodies(make_standin):
    s = make_standin(contacts=400, offices=["M30011", "G2"])
    for cid in s.customer_ids:
        url = f"{s.url}/CRM/Contact/{cid}"
        as_json = s_get(s, url)
        as_xml = s_get(s, url, accept="application/xml")
        assert refs_from_xml(as_xml.content) == refs_from_json(as_json.json())
        assert {r[2] for refs in refs_from_json(as_json.json()).values() for r in refs} == {cid}


def s_get(s: StandIn, url: str, accept: str | None = None) -> requests.Response:
    headers = {"Accept": accept} if accept else {}
    response = requests.get(url, auth=(s.username, s.password), headers=headers, timeout=10)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize(("path", "public_only"), [("GetUser", True), ("GetAllUsers", False)])
def test_users_lookups_match_the_agents_frame(standin, standin_session, path, public_only):
    cid = standin.customer_ids[0]
    users = standin_session.get(
        f"{standin.url}/User/{path}", params={"CustomerId": cid}, timeout=10
    ).json()
    frame = standin.agents.query("customer_id == @cid")
    if public_only:
        frame = frame[frame.public]
    assert [u["public"] for u in users] == list(frame.public)
    assert not frame.public.all() or public_only
    assert [u["userId"] for u in users] == list(frame.user_id)
    assert [u["userName"] for u in users] == list(frame.name)
    assert [u["title"] for u in users] == list(frame.title)
    assert [u["archived"] for u in users] == list(frame.archived)
    assert all(u["customerId"] == [cid] for u in users)


def test_newsletter_lists_lookup_matches_the_lists_frame(standin, standin_session):
    cid = standin.customer_ids[1]
    lists = standin_session.get(
        f"{standin.url}/CRM/Newsletter/{cid}/NewsletterLists", timeout=10
    ).json()
    frame = standin.newsletter_lists.query("customer_id == @cid")
    assert lists == [{"id": i, "name": n} for i, n in zip(frame.id, frame.name, strict=True)]


def test_custom_fields_lookup_matches_the_definitions_frame(standin, standin_session):
    cid = standin.customer_ids[2]
    answer = standin_session.get(
        f"{standin.url}/CustomField/Get", params={"customerId": cid}, timeout=10
    ).json()
    frame = standin.custom_field_defs.query("customer_id == @cid")
    assert [a["customerId"] for a in answer] == [cid]
    fields = answer[0]["fields"]
    assert [(f["name"], f["label"], f["type"]) for f in fields] == list(
        zip(frame.name, frame.label, frame.type, strict=True)
    )
    assert all(f["validFor"] for f in fields)
