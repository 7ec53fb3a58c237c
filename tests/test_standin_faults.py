"""The stand-in's fault switches: each one visibly changes what a client receives."""

from __future__ import annotations

import orjson
import pytest
import requests

from vitec_nb.standin import StandIn

SMALL = {"contacts": 300, "offices": 2}


def get_contacts(s: StandIn, timeout: float = 10, **kw) -> requests.Response:
    return requests.get(
        f"{s.url}/CRM/Contact/{s.customer_ids[0]}",
        auth=(s.username, s.password),
        timeout=timeout,
        **kw,
    )


def get_users(s: StandIn) -> requests.Response:
    return requests.get(
        f"{s.url}/User/GetUser",
        params={"CustomerId": s.customer_ids[0]},
        auth=(s.username, s.password),
        timeout=10,
    )


def test_error_rate_one_answers_503_with_retry_after(make_standin):
    s = make_standin(**SMALL, error_rate=1.0, retry_after=7)
    response = get_contacts(s)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert response.json()["Message"]


def test_error_status_can_be_500(make_standin):
    s = make_standin(**SMALL)
    s.set_faults(error_rate=1.0, error_status=500)
    response = get_contacts(s)
    assert response.status_code == 500
    assert "Retry-After" not in response.headers
    assert response.json()["Message"]


def test_lookups_are_exempt_from_faults_unless_asked(make_standin):
    s = make_standin(**SMALL, error_rate=1.0)
    assert get_users(s).status_code == 200
    s.set_faults(error_rate=1.0, lookups=True)
    assert get_users(s).status_code == 503


def test_partial_error_rate_is_repeatable_with_the_same_fault_seed(make_standin):
    first = make_standin(**SMALL, error_rate=0.5, fault_seed=42)
    second = make_standin(**SMALL, error_rate=0.5, fault_seed=42)
    statuses_first = [get_contacts(first).status_code for _ in range(20)]
    statuses_second = [get_contacts(second).status_code for _ in range(20)]
    assert statuses_first == statuses_second
    assert set(statuses_first) == {200, 503}


def test_rate_limit_burst_answers_429_to_the_next_n_requests(make_standin):
    s = make_standin(**SMALL)
    s.set_faults(rate_limit_burst=3, retry_after=2)
    answers = [get_contacts(s) for _ in range(5)]
    assert [a.status_code for a in answers] == [429, 429, 429, 200, 200]
    assert all(a.headers["Retry-After"] == "2" for a in answers[:3])
    assert answers[0].json()["Message"]


def test_fractional_retry_after_is_rounded_up_to_whole_seconds(make_standin):
    s = make_standin(**SMALL, rate_limit_burst=1, retry_after=0.2)
    assert get_contacts(s).headers["Retry-After"] == "1"


def test_truncated_body_is_shorter_with_a_matching_content_length(make_standin):
    s = make_standin(**SMALL)
    full = get_contacts(s).content
    s.set_faults(truncate_rate=1.0)
    response = get_contacts(s)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content) < len(full)
    assert full.startswith(response.content)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)


def test_malformed_body_is_not_a_contact_list(make_standin):
    s = make_standin(**SMALL, malformed_rate=1.0)
    for _ in range(6):
        response = get_contacts(s)
        assert response.status_code == 200
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            continue
        assert not (isinstance(body, dict) and "persons" in body)


def test_latency_longer_than_the_client_timeout_times_out(make_standin):
    s = make_standin(**SMALL, latency=5.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        get_contacts(s, timeout=0.2)


def test_slow_body_sends_headers_then_stalls_the_body(make_standin):
    s = make_standin(**SMALL, slow_body=10.0)
    response = get_contacts(s, timeout=0.5, stream=True)
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.ConnectionError):
        response.content  # noqa: B018  (reading the body is the point)


def test_down_refuses_connections_and_comes_back_on_the_same_port(make_standin):
    s = make_standin(**SMALL)
    url = s.url
    with requests.Session() as session:
        session.auth = (s.username, s.password)
        assert session.get(f"{url}/CRM/Contact/{s.customer_ids[0]}").status_code == 200
        s.set_faults(down=True)
        with pytest.raises(requests.exceptions.ConnectionError):
            session.get(f"{url}/CRM/Contact/{s.customer_ids[0]}", timeout=5)
        s.set_faults(down=False)
        assert s.url == url
        assert session.get(f"{url}/CRM/Contact/{s.customer_ids[0]}").status_code == 200


def test_set_faults_without_switches_clears_them_all(make_standin):
    s = make_standin(**SMALL, error_rate=1.0, truncate_rate=1.0, rate_limit_burst=4)
    s.set_faults()
    response = get_contacts(s)
    assert response.status_code == 200
    assert orjson.loads(response.content)["persons"]


def test_set_faults_changes_only_the_switches_given(make_standin):
    s = make_standin(**SMALL, error_rate=1.0, retry_after=3)
    s.set_faults(error_status=503)
    assert s.faults.error_rate == 1.0
    assert get_contacts(s).headers["Retry-After"] == "3"


def test_faulted_requests_are_in_the_request_log(make_standin):
    s = make_standin(**SMALL, rate_limit_burst=1)
    get_contacts(s)
    get_contacts(s)
    assert [r.status for r in s.requests] == [429, 200]


@pytest.mark.parametrize(
    ("switch", "value"),
    [
        ("error_rate", 1.5),
        ("latency", -1),
        ("error_status", 404),
        ("rate_limit_burst", -2),
        ("down", "yes"),
    ],
)
def test_invalid_switch_values_are_refused_naming_the_switch(make_standin, switch, value):
    s = make_standin(**SMALL)
    with pytest.raises(ValueError, match=switch):
        s.set_faults(**{switch: value})


def test_unknown_switch_is_refused(make_standin):
    s = make_standin(**SMALL)
    with pytest.raises(TypeError, match="unknown switch"):
        s.set_faults(explode=True)


def test_jitter_adds_a_random_delay_on_top_of_latency(make_standin):
    s = make_standin(**SMALL, jitter=60.0, fault_seed=0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        get_contacts(s, timeout=0.2)


def test_a_stand_in_started_down_refuses_until_brought_up(make_standin):
    s = make_standin(**SMALL, down=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        get_contacts(s)
    s.set_faults(down=False)
    assert get_contacts(s).status_code == 200


@pytest.mark.parametrize("status", [502, 504])
def test_other_gateway_statuses_can_be_chosen(make_standin, status):
    s = make_standin(**SMALL, error_rate=1.0, error_status=status)
    assert get_contacts(s).status_code == status
