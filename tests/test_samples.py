"""The stand-in's answers have the keys, casing, types and nesting of Vitec's own samples.

The samples (tests/fixtures/vitec-samples/, Vitec's help-page samples; README there) hold
placeholder values, so only shape is compared: a recursive key/type shape, where a list's
shape is the merged shape of all its items and an empty list or a null is "not seen".
Every part of a sample's shape must be seen, with the same type, in the stand-in's answer.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import requests

from vitec_nb.standin import StandIn

SAMPLES = Path(__file__).parent / "fixtures" / "vitec-samples"
FIXTURES = Path(__file__).parent / "fixtures"
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?([+-]\d{2}:\d{2}|Z)?$")
UNSEEN = "unseen"


def shape(value: Any) -> Any:
    """The key/type shape of a JSON value (datetimes apart from other strings)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        merged: Any = UNSEEN
        for item in value:
            merged = merge(merged, shape(item))
        return [merged]
    if value is None:
        return UNSEEN
    if isinstance(value, str):
        return "datetime" if DATETIME.match(value) else "str"
    return type(value).__name__  # bool, int, float


def merge(a: Any, b: Any) -> Any:
    """One shape from two shapes of the same thing; a mismatch is an AssertionError."""
    if a == UNSEEN:
        return b
    if b == UNSEEN:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        assert set(a) == set(b), f"records with different keys: {sorted(set(a) ^ set(b))}"
        return {k: merge(a[k], b[k]) for k in a}
    if isinstance(a, list) and isinstance(b, list):
        return [merge(a[0], b[0])]
    assert a == b, f"{a} != {b}"
    return a


def unseen_paths(s: Any, path: str = "$") -> list[str]:
    if s == UNSEEN:
        return [path]
    if isinstance(s, dict):
        return [p for k, v in s.items() for p in unseen_paths(v, f"{path}.{k}")]
    if isinstance(s, list):
        return unseen_paths(s[0], f"{path}[]")
    return []


def assert_same_shape(answer: Any, sample: Any) -> None:
    """`answer` has `sample`'s shape, and every part of it was seen in the answer."""
    got = shape(answer)
    assert got == shape(sample)
    assert not unseen_paths(got), f"never seen in the answer: {unseen_paths(got)}"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def s() -> StandIn:
    with StandIn(seed=0, contacts=3_000, offices=3) as started:
        yield started


def get(s: StandIn, path: str, **params: Any) -> Any:
    response = requests.get(
        f"{s.url}/{path}", params=params, auth=(s.username, s.password), timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def some_ids(s: StandIn, kind: str, n: int = 20) -> str:
    t = s.truth
    rows = t[(t.customer_id == s.customer_ids[0]) & (t.kind == kind)]
    return ",".join(rows.id.astype(str)[:n])


def test_shape_comparison_catches_a_renamed_key_a_type_and_a_nesting():
    base = sample("newsletter-lists.json")
    assert_same_shape([{"id": "a", "name": "b"}], base)
    with pytest.raises(AssertionError):
        assert_same_shape([{"id": "a", "Name": "b"}], base)
    with pytest.raises(AssertionError):
        assert_same_shape([{"id": 1, "name": "b"}], base)
    with pytest.raises(AssertionError):
        assert_same_shape([{"id": "a", "name": ["b"]}], base)
    with pytest.raises(AssertionError):  # an empty list shows nothing of its items' shape
        assert_same_shape([], base)


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("User/GetUser", {"CustomerId": "M30011"}, "user-getuser.json"),
        ("User/GetAllUsers", {"CustomerId": "M30011"}, "user-getuser.json"),
        ("CRM/Newsletter/M30011/NewsletterLists", {}, "newsletter-lists.json"),
        ("CustomField/Get", {"customerId": "M30011"}, "customfield-get.json"),
        ("Office/GetOffice", {"CustomerId": "M30011"}, "office-getoffice.json"),
        ("CRM/Officegroups/M30011", {}, "officegroups.json"),
        ("Category/GetCategories", {"customerId": "M30011"}, "categories.json"),
        ("CRM/Usergroups/M30011", {}, "usergroups.json"),
        ("CRM/Contact/M30011/Search", {"Term": "Andersson"}, "contact-search.json"),
        ("CRM/Contact/M30011", {}, "contact-list.json"),
    ],
)
def test_lookups_and_the_contact_list_have_the_samples_shape(s, path, params, name):
    assert_same_shape(get(s, path, **params), sample(name))


def test_newsletter_list_members_have_the_samples_shape(s):
    list_id = s.newsletter_lists.query("customer_id == 'M30011'").id.iloc[0]
    answer = get(s, f"CRM/Newsletter/M30011/NewsletterlistContacts/{list_id}")
    assert_same_shape(answer, sample("newsletter-list-contacts.json"))


@pytest.mark.parametrize(
    ("route", "kind", "name"),
    [
        ("Person", "person", "contact-details-person.json"),
        ("Company", "company", "contact-details-company.json"),
        ("DeceasedEstate", "deceased_estate", "contact-details-deceased-estate.json"),
    ],
)
def test_typed_contact_details_have_the_samples_shape(s, route, kind, name):
    answer = get(s, f"CRM/Contact/M30011/{route}", contactIds=some_ids(s, kind))
    assert_same_shape([r for r in answer if r["agentId"]], sample(name))


def test_mixed_contact_details_carry_the_samples_base_fields(s):
    ids = ",".join(
        [some_ids(s, "person", 8), some_ids(s, "company", 8), some_ids(s, "deceased_estate", 4)]
    )
    answer = [r for r in get(s, f"CRM/Contact/M30011/{ids}") if r["agentId"]]
    assert {r["type"] for r in answer} == {"Person", "Company", "DeceasedEstate"}
    base = sample("contact-details-mixed.json")
    assert all(set(base[0]) <= set(r) for r in answer)
    assert_same_shape([{k: r[k] for k in base[0]} for r in answer], base)
    persons = [r for r in answer if r["type"] == "Person"]
    assert_same_shape(persons, sample("contact-details-person.json"))


def test_the_seed_samples_have_the_stand_ins_contact_list_shape(s):
    seed = json.loads((FIXTURES / "seed_sample.json").read_text(encoding="utf-8"))
    assert_same_shape(get(s, "CRM/Contact/M30012"), seed)


def xml_shape(element: ET.Element) -> tuple:
    children: dict[str, tuple] = {}
    for child in element:
        children.setdefault(child.tag, xml_shape(child))
    return (element.tag, tuple(sorted(children.items())))


def test_the_seed_xml_sample_has_the_stand_ins_xml_shape(s):
    response = requests.get(
        f"{s.url}/CRM/Contact/M30012",
        auth=(s.username, s.password),
        headers={"Accept": "application/xml"},
        timeout=10,
    )
    ours = ET.fromstring(response.content)
    seed = ET.fromstring((FIXTURES / "seed_sample.xml").read_bytes())
    assert xml_shape(ours) == xml_shape(seed)
    assert [c.tag for c in ours] == [c.tag for c in seed]
