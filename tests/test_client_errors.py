"""Failures become readable errors: status mapping, retries, timeouts, bad input, logs."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

import vitec_nb as vnb
from vitec_nb.client import VitecClient
from vitec_nb.standin import StandIn


def test_400_carries_the_servers_validation_messages(standin: StandIn, client: VitecClient) -> None:
    # An order type the client accepts (Vitec publishes no list) but the server cannot bind.
    office = standin.customer_ids[0]
    with pytest.raises(vnb.ServerValidationError) as info:
        client.contacts(customer_id=office, scheduled_order_type=2**31)
    err = info.value
    assert err.status == 400
    assert err.customer_id == office
    assert any("ContactScheduledOrderType" in m for m in err.messages)
    assert "ContactScheduledOrderType" in str(err)
    assert office in str(err)


def test_401_is_an_authentication_error_with_the_servers_message(
    standin: StandIn, make_client: Callable[..., VitecClient]
) -> None:
    client = make_client(standin, password="wrong-password")
    with pytest.raises(vnb.AuthenticationError) as info:
        client.contacts(customer_id=standin.customer_ids[0])
    assert info.value.status == 401
    assert info.value.server_message
    assert info.value.server_message in str(info.value)
    assert "wrong-password" not in str(info.value)


def test_403_is_a_forbidden_error_naming_the_office(
    standin: StandIn, make_client: Callable[..., VitecClient]
) -> None:
    mine, other = standin.customer_ids[0], standin.customer_ids[1]
    standin.add_account("one-office-user", {mine: "only-mine-1"})
    client = make_client(standin, username="one-office-user", password="only-mine-1")
    with pytest.raises(vnb.ForbiddenError) as info:
        client.contacts(customer_id=other)
    assert info.value.status == 403
    assert info.value.server_message
    assert other in str(info.value)


def test_500_is_a_server_error_with_the_servers_message(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=1, contacts=200, offices=1, error_rate=1.0, error_status=500)
    client = make_client(s)
    with pytest.raises(vnb.ServerError) as info:
        client.contacts(customer_id=s.customer_ids[0])
    assert info.value.status == 500
    assert info.value.server_message
    assert len(s.requests) == 1  # 500 is not retried


def test_503_is_retried_a_bounded_number_of_times(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=1, contacts=200, offices=1, error_rate=1.0, retry_after=0)
    client = make_client(s, max_retries=3)
    with pytest.raises(vnb.ServerError) as info:
        client.contacts(customer_id=s.customer_ids[0])
    assert info.value.status == 503
    assert [r.status for r in s.requests] == [503] * 4


def test_503_retry_waits_for_retry_after(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=1, contacts=200, offices=1, error_rate=1.0, retry_after=1)
    client = make_client(s, max_retries=1)
    with pytest.raises(vnb.ServerError):
        client.contacts(customer_id=s.customer_ids[0])
    first, second = s.requests
    assert second.time - first.time >= 1.0  # no request before the time the server gave


def test_429_burst_is_retried_and_the_answer_is_exact(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=2, contacts=300, offices=1, rate_limit_burst=2, retry_after=0)
    client = make_client(s)
    office = s.customer_ids[0]
    frame = client.contacts(customer_id=office)
    assert [r.status for r in s.requests] == [429, 429, 200]
    truth = s.truth[s.truth["customer_id"].astype(str) == office]
    assert set(frame["id"].astype(str)) == set(truth["id"].astype(str))


def test_retry_after_longer_than_the_cap_is_cut_to_the_cap(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=2, contacts=300, offices=1, rate_limit_burst=1, retry_after=600)
    client = make_client(s, max_retry_after=0.2)
    client.contacts(customer_id=s.customer_ids[0])
    first, second = s.requests
    assert first.status == 429 and second.status == 200
    assert 0.2 <= second.time - first.time < 600


def test_429_after_retries_is_rate_limited_with_retry_after(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=2, contacts=300, offices=1, rate_limit_burst=5, retry_after=0)
    client = make_client(s, max_retries=1)
    with pytest.raises(vnb.RateLimitedError) as info:
        client.contacts(customer_id=s.customer_ids[0])
    assert info.value.retry_after == 0
    assert len(s.requests) == 2


def test_slow_server_raises_timeout_error(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=1, contacts=200, offices=1, latency=5)
    client = make_client(s, timeout=0.3)
    with pytest.raises(vnb.RequestTimeoutError, match=r"did not answer within 0\.3 s"):
        client.contacts(customer_id=s.customer_ids[0])


def test_slow_body_raises_timeout_error(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=1, contacts=200, offices=1, slow_body=5)
    client = make_client(s, timeout=0.3)
    with pytest.raises(vnb.RequestTimeoutError):
        client.contacts(customer_id=s.customer_ids[0])
    assert len(client.session.cache.responses) == 0


def test_server_down_is_a_transport_error(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=1, contacts=200, offices=1)
    client = make_client(s, max_retries=1)
    s.set_faults(down=True)
    with pytest.raises(vnb.TransportError, match="Could not reach") as info:
        client.contacts(customer_id=s.customer_ids[0])
    assert not isinstance(info.value, vnb.RequestTimeoutError)


@pytest.mark.parametrize(
    "filters",
    [
        {"customer_id": "30011"},
        {"lead_score": 7},
        {"created_from": "2025-02-01", "created_to": "2025-01-01"},
        {"custom_field_value": "x"},
        {"agent_id": "  "},
        {"format": "csv"},
        {"refresh": "yes"},
        {"refresh": True, "offline": True},
    ],
    ids=["customer_id", "lead_score", "dates", "value_without_name", "blank", "format",
         "refresh_type", "refresh_and_offline"],
)  # fmt: skip
def test_invalid_input_raises_before_any_request(
    standin: StandIn, client: VitecClient, filters: dict
) -> None:
    filters = {"customer_id": standin.customer_ids[0], **filters}
    standin.clear_requests()
    with pytest.raises(vnb.InvalidQueryError) as info:
        client.contacts(**filters)
    assert info.value.field in filters
    assert standin.requests == []


def test_office_without_a_password_raises_before_any_request(
    standin: StandIn, make_client: Callable[..., VitecClient]
) -> None:
    mine, other = standin.customer_ids[0], standin.customer_ids[1]
    client = make_client(standin, passwords={mine: standin.password})
    assert client.customer_ids == (mine,)
    standin.clear_requests()
    with pytest.raises(vnb.InvalidQueryError, match=other) as info:
        client.contacts(customer_id=[mine, other])
    assert info.value.field == "customer_id"
    assert f"VITEC_PASSWORD_{other}" in str(info.value)
    assert standin.requests == []


def test_one_log_line_per_request_without_the_password(
    standin: StandIn, client: VitecClient, caplog: pytest.LogCaptureFixture
) -> None:
    office = standin.customer_ids[0]
    with caplog.at_level(logging.INFO, logger="vitec_nb"):
        client.contacts(customer_id=office, lead_score=5)
        client.contacts(customer_id=office, lead_score=5)
    lines = [r.getMessage() for r in caplog.records if r.name == "vitec_nb"]
    assert len(lines) == 2
    assert lines[0].startswith(f"GET /CRM/Contact/{office}?LeadScore=5 200 cached=False")
    assert lines[1].startswith(f"GET /CRM/Contact/{office}?LeadScore=5 200 cached=True")
    assert all(line.endswith(" ms") for line in lines)
    assert not any(standin.password in line for line in caplog.text.splitlines())
