"""Proxy settings from the environment, resolved once when the client is made."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

import vitec_nb as vnb
from vitec_nb.client import VitecClient
from vitec_nb.standin import StandIn


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clear_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_a_proxy_from_the_environment_is_used(
    standin: StandIn,
    make_client: Callable[..., VitecClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    client = make_client(standin, max_retries=0)
    standin.clear_requests()
    with pytest.raises(vnb.TransportError, match="Could not reach"):
        client.contacts(customer_id=standin.customer_ids[0])
    assert standin.requests == []  # it went to the (dead) proxy, not to the stand-in


def test_no_proxy_exempts_the_base_url(
    standin: StandIn,
    make_client: Callable[..., VitecClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    client = make_client(standin)
    frame = client.contacts(customer_id=standin.customer_ids[0], lead_score=5)
    assert len(frame) == int(
        (
            (standin.truth["customer_id"] == standin.customer_ids[0])
            & (standin.truth["lead_score"] == 5)
        ).sum()
    )
