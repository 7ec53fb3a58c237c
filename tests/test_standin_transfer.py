"""The stand-in's transfer model: a body is paced in chunks at `throughput` bytes per second.

The pacing is checked on the server's own recorded schedule (`s.transfers`): which bytes
each chunk ends at, when it was due and when it went out. Wall-clock time is only used
as a lower bound (sleeping never makes a send early).
"""

from __future__ import annotations

import time

import pytest
import requests

from vitec_nb.standin import StandIn
from vitec_nb.standin.wire import CHUNK

RATE = 20e6  # bytes per second: a 1 MB answer costs 50 ms


def contacts(s: StandIn, **params) -> requests.Response:
    response = requests.get(
        f"{s.url}/CRM/Contact/{s.customer_ids[0]}",
        params=params,
        auth=(s.username, s.password),
        timeout=30,
    )
    assert response.status_code == 200
    return response


@pytest.fixture(scope="module")
def paced() -> StandIn:
    with StandIn(seed=1, contacts=12_000, offices=1, throughput=RATE) as s:
        yield s


def test_a_big_answer_goes_out_in_chunks_each_due_at_its_bytes_over_throughput(paced):
    paced.clear_requests()
    body = contacts(paced).content
    [transfer] = paced.transfers
    assert transfer.size == len(body) > 10 * CHUNK
    assert transfer.throughput == RATE
    assert transfer.ends[-1] == len(body)
    assert all(end % CHUNK == 0 for end in transfer.ends[:-1])
    assert len(transfer.ends) == -(-len(body) // CHUNK)
    assert transfer.due == tuple(end / RATE for end in transfer.ends)
    assert all(sent >= due - 1e-3 for sent, due in zip(transfer.sent, transfer.due, strict=True))
    assert list(transfer.sent) == sorted(transfer.sent)


def test_a_paced_answer_takes_at_least_its_bytes_over_throughput(paced):
    started = time.monotonic()
    body = contacts(paced).content
    assert time.monotonic() - started >= len(body) / RATE - 1e-3


def test_a_small_answer_is_one_chunk_due_at_once_nearly(paced):
    paced.clear_requests()
    body = contacts(paced, AgentId="NOBODY").content
    [transfer] = paced.transfers
    assert transfer.ends == (len(body),)
    assert transfer.due[0] == pytest.approx(len(body) / RATE)


def test_latency_and_throughput_add_up(make_standin):
    s = make_standin(contacts=3_000, offices=1, latency=0.05, throughput=RATE)
    started = time.monotonic()
    body = contacts(s).content
    assert time.monotonic() - started >= 0.05 + len(body) / RATE - 1e-3


def test_by_default_answers_are_sent_at_once(standin, standin_session):
    standin.clear_requests()
    standin_session.get(f"{standin.url}/CRM/Contact/{standin.customer_ids[0]}", timeout=10)
    assert standin.faults.throughput is None
    assert standin.transfers == []


def test_throughput_is_set_and_cleared_with_set_faults(make_standin):
    s = make_standin(contacts=500, offices=1)
    assert s.set_faults(throughput=1e6).throughput == 1e6
    contacts(s)
    assert len(s.transfers) == 1
    assert s.set_faults().throughput is None
    contacts(s)
    assert len(s.transfers) == 1


def test_lookups_are_paced_only_with_lookups_on(make_standin):
    s = make_standin(contacts=500, offices=1, throughput=1e6)
    url = f"{s.url}/User/GetAllUsers"
    requests.get(
        url, params={"CustomerId": s.customer_ids[0]}, auth=(s.username, s.password), timeout=10
    )
    assert s.transfers == []
    s.set_faults(lookups=True)
    requests.get(
        url, params={"CustomerId": s.customer_ids[0]}, auth=(s.username, s.password), timeout=10
    )
    assert [t.path for t in s.transfers] == ["/User/GetAllUsers"]


@pytest.mark.parametrize("value", [0, -5, "fast", True])
def test_a_bad_throughput_is_refused_naming_it(value):
    with pytest.raises(ValueError, match="throughput"):
        StandIn(contacts=10, throughput=value)
