"""Proxy settings from the environment, resolved once when the client is made."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

import vitec_nb as vnb
from vitec_nb.client import VitecClient
from vitec_nb.standin import StandIn


@pytest.fixture
def dead_proxy(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """HTTP_PROXY names a loopback port nothing listens on; no other proxy variable is set."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    with socket.socket() as sock:  # bound, then released: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    return monkeypatch


def test_a_proxy_from_the_environment_is_used(
    standin: StandIn, make_client: Callable[..., VitecClient], dead_proxy: pytest.MonkeyPatch
) -> None:
    client = make_client(standin, max_retries=0)
    standin.clear_requests()
    with pytest.raises(vnb.TransportError, match="Could not reach"):
        client.contacts(customer_id=standin.customer_ids[0])
    assert standin.requests == []  # it went to the (dead) proxy, not to the stand-in


def test_no_proxy_exempts_the_base_url(
    standin: StandIn, make_client: Callable[..., VitecClient], dead_proxy: pytest.MonkeyPatch
) -> None:
    dead_proxy.setenv("NO_PROXY", "127.0.0.1,localhost")
    client = make_client(standin)
    office = standin.customer_ids[0]
    frame = client.contacts(customer_id=office, lead_score=5)
    truth = standin.truth
    assert len(frame) == int(((truth["customer_id"] == office) & (truth["lead_score"] == 5)).sum())


def test_lower_case_offices_and_a_token_from_the_environment_reach_the_server(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    office = standin.customer_ids[0]
    token = base64.b64encode(f"{standin.username}:{standin.password}".encode()).decode()
    monkeypatch.setenv("VITEC_BASE_URL", standin.url + "/")
    monkeypatch.setenv("VITEC_TOKEN", token)
    monkeypatch.setenv("VITEC_CUSTOMER_IDS", f" {office.lower()} ")
    client = vnb.connect()
    assert client.customer_ids == (office,)
    assert client.base_url == standin.url
    standin.clear_requests()
    frame = client.contacts(customer_id=office.lower(), lead_score=5)
    assert [(r.username, r.status) for r in standin.requests] == [(standin.username, 200)]
    truth = standin.truth
    assert len(frame) == int(((truth["customer_id"] == office) & (truth["lead_score"] == 5)).sum())
