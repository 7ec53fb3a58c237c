"""What the stand-in sends under each dialect (the behaviours Vitec's docs leave open)."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
import requests

from vitec_nb.standin import DIALECTS, Dialect, StandIn

NS = "{http://schemas.datacontract.org/2004/07/Vitec.Housing.Connect.Api.Models.Contact.Crm}"
NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?$")
KEYS = ("persons", "companies", "deceasedEstates")


@pytest.fixture(scope="module")
def s() -> StandIn:
    """One small stand-in whose dialect each test sets (and resets) itself."""
    with StandIn(seed=4, contacts=3_000, offices=2) as started:
        yield started


@pytest.fixture
def speak(s):
    """`speak("null-lists")` switches the shared stand-in's dialect for one test."""
    yield s.set_dialect
    s.set_dialect("documented")


def get(s: StandIn, path: str, accept: str | None = None, **params) -> requests.Response:
    headers = {"Accept": accept} if accept else {}
    return requests.get(
        f"{s.url}/{path}", params=params, headers=headers, auth=(s.username, s.password), timeout=10
    )


def office_truth(s: StandIn) -> pd.DataFrame:
    return s.truth[s.truth.customer_id == s.customer_ids[0]]


def refs(body: dict) -> list[dict]:
    return [r for k in KEYS for r in (body.get(k) or [])]


def test_every_preset_differs_from_the_documented_one_in_one_switch():
    documented = dataclasses.asdict(DIALECTS["documented"])
    assert DIALECTS["documented"] == Dialect()
    for name, dialect in DIALECTS.items():
        changed = {k for k, v in dataclasses.asdict(dialect).items() if documented[k] != v}
        assert len(changed) == (0 if name == "documented" else 1), name


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"empty_lists": "none"}, "empty_lists"),
        ({"error_shape": "xml"}, "error_shape"),
        ({"answer_cap": 0}, "answer_cap"),
        ({"zero_filters": "yes"}, "zero_filters"),
    ],
)
def test_a_bad_dialect_field_is_refused_naming_it(kwargs, field):
    with pytest.raises(ValueError, match=field):
        Dialect(**kwargs)


def test_an_unknown_preset_is_refused_listing_the_known_ones():
    with pytest.raises(ValueError, match="local-times"):
        StandIn(contacts=10, dialect="klingon")


def test_the_dialect_is_given_at_start_and_changed_at_runtime(make_standin):
    started = make_standin(contacts=100, dialect="camel-errors")
    assert started.dialect == DIALECTS["camel-errors"]
    assert started.set_dialect(Dialect(answer_cap=5)) == Dialect(answer_cap=5)
    assert started.dialect.answer_cap == 5


def test_local_times_have_no_offset_and_are_stockholm_wall_time(s, speak):
    speak("local-times")
    body = get(s, f"CRM/Contact/{s.customer_ids[0]}").json()
    sent = {r["id"]: r["changedAt"] for r in refs(body)}
    assert all(LOCAL.match(v) for v in sent.values())
    truth = office_truth(s).set_index("id").changed_at
    wall = truth.dt.tz_localize(None)
    assert all(pd.Timestamp(v) == wall[i] for i, v in sent.items())


def test_local_times_apply_to_xml_and_details_too(s, speak):
    speak("local-times")
    xml = get(s, f"CRM/Contact/{s.customer_ids[0]}", accept="application/xml")
    stamps = [e.text for e in ET.fromstring(xml.content).iter(NS + "ChangedAt")]
    assert stamps and all(LOCAL.match(t) for t in stamps)
    some = ",".join(office_truth(s).id[:3])
    details = get(s, f"CRM/Contact/{s.customer_ids[0]}/{some}").json()
    assert all(LOCAL.match(d["createdAt"]) and LOCAL.match(d["changedAt"]) for d in details)


def test_documented_times_carry_the_offset(s):
    body = get(s, f"CRM/Contact/{s.customer_ids[0]}").json()
    assert all(re.search(r"\+0[12]:00$", r["changedAt"]) for r in refs(body))


@pytest.mark.parametrize(
    ("dialect", "json_value", "xml_nil"),
    [("documented", [], False), ("null-lists", None, True), ("absent-lists", "absent", None)],
)
def test_empty_lists_are_sent_as_the_dialect_says(s, speak, dialect, json_value, xml_nil):
    speak(dialect)
    path = f"CRM/Contact/{s.customer_ids[0]}"
    body = get(s, path, AgentId="NOBODY").json()
    if json_value == "absent":
        assert body == {}
    else:
        assert body == dict.fromkeys(KEYS, json_value)
    root = ET.fromstring(get(s, path, accept="application/xml", AgentId="NOBODY").content)
    if xml_nil is None:
        assert list(root) == []
    else:
        assert len(root) == 3
        assert all((e.get(NIL) == "true") == xml_nil for e in root)


def test_empty_lists_inside_lookups_follow_the_dialect(s, speak):
    speak("null-lists")
    users = get(s, "User/GetAllUsers", CustomerId=s.customer_ids[0]).json()
    assert any(u["reviews"] is None for u in users)
    speak("absent-lists")
    users = get(s, "User/GetAllUsers", CustomerId=s.customer_ids[0]).json()
    assert any("reviews" not in u for u in users)


@pytest.mark.parametrize("param", ["LeadScore", "ContactScheduledOrderType"])
def test_zero_means_no_filter_unless_zero_is_a_filter(s, speak, param):
    path = f"CRM/Contact/{s.customer_ids[0]}"
    office = office_truth(s)
    assert len(refs(get(s, path, **{param: 0}).json())) == len(office)
    speak("zero-is-filter")
    got = {r["id"] for r in refs(get(s, path, **{param: 0}).json())}
    if param == "LeadScore":
        assert got == set(office.id[office.lead_score == 0])  # no estate: they have no score
    else:
        assert got == set()  # no service is numbered 0


def test_public_users_only_refuses_get_all_users_with_a_404(s, speak):
    speak("public-users-only")
    refused = get(s, "User/GetAllUsers", CustomerId=s.customer_ids[0])
    assert refused.status_code == 404
    assert refused.json()["Message"]
    assert get(s, "User/GetUser", CustomerId=s.customer_ids[0]).status_code == 200


@pytest.mark.parametrize(
    ("dialect", "check"),
    [
        ("documented", lambda r: r.json()["ModelState"]["criteria.LeadScore"]),
        ("camel-errors", lambda r: r.json()["modelState"]["criteria.LeadScore"]),
        ("plain-errors", lambda r: "LeadScore" in r.text and r.text.startswith("The request")),
    ],
)
def test_a_400_body_has_the_dialects_shape(s, speak, dialect, check):
    speak(dialect)
    response = get(s, f"CRM/Contact/{s.customer_ids[0]}", LeadScore="many")
    assert response.status_code == 400
    assert check(response)
    plain = dialect == "plain-errors"
    assert response.headers["Content-Type"].startswith(
        "text/plain" if plain else "application/json"
    )


def test_camel_and_plain_errors_apply_to_every_status(s, speak):
    speak("camel-errors")
    assert requests.get(f"{s.url}/nowhere", timeout=10).json()["message"]
    speak("plain-errors")
    unauthorized = requests.get(f"{s.url}/CRM/Contact/{s.customer_ids[0]}", timeout=10)
    assert unauthorized.status_code == 401
    assert unauthorized.text == "Authorization has been denied for this request."


def test_capped_answers_are_cut_silently_to_the_cap(s, speak):
    speak(Dialect(answer_cap=100))
    path = f"CRM/Contact/{s.customer_ids[0]}"
    body = get(s, path).json()
    assert len(refs(body)) == 100 < len(office_truth(s))
    small = get(s, path, LeadScore=5).json()
    assert len(refs(small)) == (office_truth(s).lead_score == 5).sum() < 100
    xml = ET.fromstring(get(s, path, accept="text/xml").content)
    assert len(list(xml.iter(NS + "CrmContactReference"))) == 100


def test_every_preset_answers_the_same_contacts_in_its_own_way(dialect_standin):
    s = dialect_standin
    body = get(s, f"CRM/Contact/{s.customer_ids[0]}", LeadScore=3).json()
    want = office_truth(s)
    want = want[want.lead_score == 3]
    if s.dialect.answer_cap is not None:
        assert len(refs(body)) == min(len(want), s.dialect.answer_cap)
    else:
        assert {r["id"] for r in refs(body)} == set(want.id)
