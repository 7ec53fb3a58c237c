"""The stand-in's lookups: users, offices, office groups, categories, lists, fields, in XML too."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests

from vitec_nb.standin import StandIn

ARRAYS = "{http://schemas.microsoft.com/2003/10/Serialization/Arrays}"


def get(session, s: StandIn, path: str, accept: str | None = None, **params) -> requests.Response:
    headers = {"Accept": accept} if accept else {}
    response = session.get(f"{s.url}/{path}", params=params, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def test_get_user_lists_public_users_get_all_users_every_user(standin, standin_session):
    cid = standin.customer_ids[1]
    public = get(standin_session, standin, "User/GetUser", CustomerId=cid).json()
    everyone = get(standin_session, standin, "User/GetAllUsers", CustomerId=cid).json()
    frame = standin.agents.query("customer_id == @cid")
    assert [u["userId"] for u in everyone] == list(frame.user_id)
    assert [u["userId"] for u in public] == list(frame.user_id[frame.public])
    assert len(public) < len(everyone)
    assert all(u["customerId"] == [cid] for u in everyone)


def test_get_user_takes_user_id_and_search_text(standin, standin_session):
    cid = standin.customer_ids[0]
    frame = standin.agents.query("customer_id == @cid and public")
    one = frame.iloc[0]
    by_id = get(
        standin_session, standin, "User/GetUser", CustomerId=cid, UserId=one.user_id.lower()
    )
    assert [u["userId"] for u in by_id.json()] == [one.user_id]
    word = one["name"].split()[1].upper()
    found = get(standin_session, standin, "User/GetUser", CustomerId=cid, SearchText=word).json()
    assert one.user_id in {u["userId"] for u in found}
    assert all(word.casefold() in (u["userName"] + u["title"]).casefold() for u in found)


def test_get_all_users_needs_a_customer_id_like_get_user(standin, standin_session):
    response = standin_session.get(f"{standin.url}/User/GetAllUsers", timeout=10)
    assert response.status_code == 400
    assert "CustomerId" in response.json()["ModelState"]


def test_get_office_answers_the_office_with_its_chain_and_groups(standin, standin_session):
    cid = standin.customer_ids[0]
    [office] = get(standin_session, standin, "Office/GetOffice", CustomerId=cid).json()
    row = standin.offices.set_index("customer_id").loc[cid]
    assert (office["customerId"], office["officeId"], office["name"]) == (
        cid,
        row.office_id,
        row["name"],
    )
    assert office["chain"] == {"id": row.chain_id, "name": row.chain}
    assert tuple(g["id"] for g in office["groups"]) == row.groups


def test_get_office_by_group_and_by_office_id(standin, standin_session):
    cid = standin.customer_ids[0]
    group = standin.office_groups.iloc[1]
    by_group = get(
        standin_session, standin, "Office/GetOffice", CustomerId=cid, GroupId=group.id
    ).json()
    assert tuple(o["customerId"] for o in by_group) == group.offices
    narrowed = get(
        standin_session, standin, "Office/GetOffice", CustomerId=cid, GroupId=group.id, OfficeId=cid
    ).json()
    assert [o["officeId"] for o in narrowed] == [cid]


def test_get_office_needs_a_customer_id(standin, standin_session):
    response = standin_session.get(f"{standin.url}/Office/GetOffice", timeout=10)
    assert response.status_code == 400


def test_the_demo_chain_has_a_couple_of_office_groups(standin, standin_session):
    groups = get(standin_session, standin, f"CRM/Officegroups/{standin.customer_ids[2]}").json()
    frame = standin.office_groups
    assert len(groups) >= 2
    assert [(g["id"], g["name"]) for g in groups] == list(zip(frame.id, frame.name, strict=True))
    assert [tuple(o["id"] for o in g["offices"]) for g in groups] == list(frame.offices)
    assert set(frame.offices.iloc[0]) == set(standin.customer_ids)


def test_custom_fields_carry_valid_for_and_estate_fields_match_no_contact(standin, standin_session):
    cid = standin.customer_ids[0]
    [entry] = get(standin_session, standin, "CustomField/Get", customerId=cid).json()
    valid = {f["name"]: f["validFor"] for f in entry["fields"]}
    frame = standin.custom_field_defs.query("customer_id == @cid")
    assert valid == {n: list(v) for n, v in zip(frame.name, frame.valid_for, strict=True)}
    estate_only = [n for n, v in valid.items() if not {"Person", "Company"} & set(v)]
    assert estate_only
    contacts = get(
        standin_session, standin, f"CRM/Contact/{cid}", CustomFieldName=estate_only[0]
    ).json()
    assert contacts == {"persons": [], "companies": [], "deceasedEstates": []}


def test_newsletter_list_members_match_the_truth(standin, standin_session):
    cid = standin.customer_ids[1]
    list_id = standin.newsletter_lists.query("customer_id == @cid").id.iloc[0]
    members = get(
        standin_session, standin, f"CRM/Newsletter/{cid}/NewsletterlistContacts/{list_id}"
    ).json()
    truth = standin.truth[standin.truth.newsletter_list_ids.map(lambda ids: list_id in ids)]
    assert {m["id"] for m in members} == set(truth.id)
    assert all(m["email"].endswith("@example.se") and m["name"] for m in members)


def test_categories_come_as_person_and_company_lists(standin, standin_session):
    body = get(standin_session, standin, "Category/GetCategories", customerId="M30011").json()
    assert set(body) == {"companyCategories", "personCategories"}
    assert all(set(c) == {"id", "name", "readOnly"} for c in body["personCategories"])


@pytest.mark.parametrize(
    ("path", "params", "root"),
    [
        ("User/GetAllUsers", {"CustomerId": "M30011"}, "ArrayOfUser"),
        ("Office/GetOffice", {"CustomerId": "M30011"}, "ArrayOfOffice"),
        ("CRM/Officegroups/M30011", {}, "ArrayOfOfficeGroup"),
        ("CRM/Newsletter/M30011/NewsletterLists", {}, "ArrayOfNewsletterList"),
        ("CustomField/Get", {"customerId": "M30011"}, "ArrayOfCustomFieldCustomer"),
    ],
)
def test_lookups_answer_xml_in_datacontract_style(standin, standin_session, path, params, root):
    as_json = get(standin_session, standin, path, **params).json()
    as_xml = get(standin_session, standin, path, accept="application/xml", **params)
    assert as_xml.headers["Content-Type"].startswith("application/xml")
    tree = ET.fromstring(as_xml.content)
    assert local(tree.tag) == root
    assert tree.tag.startswith(
        "{http://schemas.datacontract.org/2004/07/Vitec.Housing.Connect.Api.Models"
    )
    assert len(tree) == len(as_json)
    first = tree[0]
    names = [local(e.tag) for e in first]
    assert names == sorted(names)  # DataContract writes members in alphabetical order
    assert {n.lower() for n in names} == {k.lower() for k in as_json[0]}  # VAT for vat


def test_xml_users_keep_ids_flags_and_string_lists(standin, standin_session):
    as_json = get(standin_session, standin, "User/GetAllUsers", CustomerId="M30011").json()
    tree = ET.fromstring(
        get(standin_session, standin, "User/GetAllUsers", "text/xml", CustomerId="M30011").content
    )
    for user, item in zip(as_json, tree, strict=True):
        fields = {local(e.tag): e for e in item}
        assert fields["UserId"].text == user["userId"]
        assert fields["Public"].text == str(user["public"]).lower()
        assert [e.text for e in fields["CustomerId"]] == user["customerId"]
        assert fields["CustomerId"][0].tag == ARRAYS + "string"


def test_user_groups_list_the_offices_users(standin, standin_session):
    cid = standin.customer_ids[0]
    groups = get(standin_session, standin, f"CRM/Usergroups/{cid}").json()
    everyone = {g["name"]: {u["userId"] for u in g["users"]} for g in groups}
    assert everyone["Alla på kontoret"] == set(standin.agents.query("customer_id == @cid").user_id)
    assert all(g["customerIds"] == [cid] for g in groups)


def test_search_finds_contacts_by_name_best_first_up_to_max_size(standin, standin_session):
    cid = standin.customer_ids[0]
    body = get(standin_session, standin, f"CRM/Contact/{cid}/Search", Term="lindberg", MaxSize=7)
    matches = body.json()["matches"]
    assert len(matches) == 7
    scores = [m["score"] for m in matches]
    assert scores == sorted(scores, reverse=True)
    office = set(standin.truth.id[standin.truth.customer_id == cid])
    assert {m["id"] for m in matches} <= office


@pytest.mark.parametrize(
    ("params", "field"),
    [({"Term": "Lind"}, "Term"), ({"Term": "Lindberg", "MaxSize": 1001}, "MaxSize")],
)
def test_search_refuses_a_short_term_and_a_big_max_size(standin, standin_session, params, field):
    response = standin_session.get(
        f"{standin.url}/CRM/Contact/{standin.customer_ids[0]}/Search", params=params, timeout=10
    )
    assert response.status_code == 400
    assert field in response.json()["ModelState"]
