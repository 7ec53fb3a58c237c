"""The stand-in's error answers: Vitec's status codes, each with a Web API 2 JSON message."""

from __future__ import annotations

import pytest
import requests

from vitec_nb.standin import StandIn


def contacts_url(s: StandIn, cid: str) -> str:
    return f"{s.url}/CRM/Contact/{cid}"


def error_body(response: requests.Response, status: int) -> dict:
    """Assert the status and a JSON body with a message; return the body."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["Message"], str) and body["Message"]
    return body


@pytest.fixture
def office_accounts(make_standin) -> StandIn:
    """A small stand-in with an account holding a different password per office."""
    s = make_standin(contacts=300, offices=3)
    first, second, _third = s.customer_ids
    s.add_account("anna", passwords={first: "pw-first", second: "pw-second"})
    return s


def test_missing_credentials_answer_401_with_a_basic_challenge(standin):
    response = requests.get(contacts_url(standin, standin.customer_ids[0]), timeout=10)
    error_body(response, 401)
    assert response.headers["WWW-Authenticate"].lower().startswith("basic")


def test_wrong_password_answers_401(standin):
    response = requests.get(
        contacts_url(standin, standin.customer_ids[0]), auth=(standin.username, "wrong"), timeout=10
    )
    error_body(response, 401)


def test_unknown_user_answers_401(standin):
    response = requests.get(
        contacts_url(standin, standin.customer_ids[0]),
        auth=("nobody", standin.password),
        timeout=10,
    )
    error_body(response, 401)


def test_garbled_authorization_header_answers_401(standin):
    response = requests.get(
        contacts_url(standin, standin.customer_ids[0]),
        headers={"Authorization": "Basic not-base64!!"},
        timeout=10,
    )
    error_body(response, 401)


def test_unknown_customer_id_answers_403(standin, standin_session):
    body = error_body(standin_session.get(contacts_url(standin, "M99999"), timeout=10), 403)
    assert "M99999" in body["Message"]


def test_account_sees_the_offices_it_has_a_password_for(office_accounts):
    s = office_accounts
    for cid, password in zip(s.customer_ids[:2], ("pw-first", "pw-second"), strict=True):
        response = requests.get(contacts_url(s, cid), auth=("anna", password), timeout=10)
        assert response.status_code == 200


def test_office_without_a_password_answers_403(office_accounts):
    s = office_accounts
    response = requests.get(
        contacts_url(s, s.customer_ids[2]), auth=("anna", "pw-first"), timeout=10
    )
    error_body(response, 403)


def test_another_offices_password_answers_403(office_accounts):
    s = office_accounts
    response = requests.get(
        contacts_url(s, s.customer_ids[0]), auth=("anna", "pw-second"), timeout=10
    )
    error_body(response, 403)


def test_lookups_check_office_access_too(office_accounts):
    s = office_accounts
    url = f"{s.url}/User/GetUser"
    denied = requests.get(url, params={"CustomerId": s.customer_ids[2]}, auth=("anna", "pw-first"))
    allowed = requests.get(url, params={"CustomerId": s.customer_ids[0]}, auth=("anna", "pw-first"))
    error_body(denied, 403)
    assert allowed.status_code == 200


def test_invalid_lead_score_answers_400_naming_the_parameter(standin, standin_session):
    response = standin_session.get(
        contacts_url(standin, standin.customer_ids[0]), params={"LeadScore": "abc"}, timeout=10
    )
    body = error_body(response, 400)
    assert body == {
        "Message": "The request is invalid.",
        "ModelState": {"criteria.LeadScore": ["The value 'abc' is not valid for LeadScore."]},
    }


@pytest.mark.parametrize(
    "value",
    ["2025-13-01", "yesterday", "2025-01-01T25:00:00", "01/02/2025", "2025-01-01T12:00:00+99:00"],
)
def test_unreadable_date_answers_400_naming_the_parameter(standin, standin_session, value):
    response = standin_session.get(
        contacts_url(standin, standin.customer_ids[0]), params={"ChangedAtTo": value}, timeout=10
    )
    body = error_body(response, 400)
    assert list(body["ModelState"]) == ["criteria.ChangedAtTo"]
    assert value in body["ModelState"]["criteria.ChangedAtTo"][0]


def test_every_invalid_parameter_is_listed(standin, standin_session):
    params = {"LeadScore": "x", "CreatedAtFrom": "y", "ContactScheduledOrderType": "z"}
    response = standin_session.get(
        contacts_url(standin, standin.customer_ids[0]), params=params, timeout=10
    )
    assert set(error_body(response, 400)["ModelState"]) == {f"criteria.{p}" for p in params}


def test_custom_field_value_without_name_answers_400(standin, standin_session):
    response = standin_session.get(
        contacts_url(standin, standin.customer_ids[0]),
        params={"CustomFieldValue": "Villa"},
        timeout=10,
    )
    assert "criteria.CustomFieldValue" in error_body(response, 400)["ModelState"]


def test_users_lookup_without_customer_id_answers_400(standin, standin_session):
    response = standin_session.get(f"{standin.url}/User/GetUser", timeout=10)
    assert "CustomerId" in error_body(response, 400)["ModelState"]


@pytest.mark.parametrize("path", ["/CRM/Contacts/M30011", "/", "/CRM/Contact", "/User/GetUsers"])
def test_unknown_path_answers_404(standin, standin_session, path):
    error_body(standin_session.get(standin.url + path, timeout=10), 404)


def test_unknown_path_answers_404_even_without_credentials(standin):
    error_body(requests.get(standin.url + "/nothing/here", timeout=10), 404)


def test_other_methods_answer_405(standin, standin_session):
    response = standin_session.post(contacts_url(standin, standin.customer_ids[0]), timeout=10)
    error_body(response, 405)
