"""The stand-in as a server: lifecycle, request log, concurrency and the command line."""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from vitec_nb.standin import RequestRecord, StandIn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_url_is_loopback_without_trailing_slash(standin):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", standin.url)


def test_a_given_port_is_used(make_standin):
    port = free_port()
    assert make_standin(contacts=100, port=port).url == f"http://127.0.0.1:{port}"


def test_leaving_the_context_stops_the_server():
    with StandIn(contacts=100) as s:
        url = s.url
        assert requests.get(url + "/x", timeout=5).status_code == 404
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url + "/x", timeout=5)


def test_url_before_start_says_how_to_start():
    with pytest.raises(RuntimeError, match="start"):
        StandIn(contacts=10).url  # noqa: B018


def test_request_log_records_path_params_status_user_and_accept(standin, standin_session):
    cid = standin.customer_ids[0]
    standin_session.get(
        f"{standin.url}/CRM/Contact/{cid}",
        params={"LeadScore": "3", "CreatedAtFrom": "2025-01-01"},
        headers={"Accept": "application/xml"},
        timeout=10,
    )
    record = standin.requests[-1]
    assert isinstance(record, RequestRecord)
    assert (record.method, record.path, record.status) == ("GET", f"/CRM/Contact/{cid}", 200)
    assert record.params == {"LeadScore": "3", "CreatedAtFrom": "2025-01-01"}
    assert (record.username, record.accept) == (standin.username, "application/xml")


def test_request_log_records_failed_requests(standin):
    requests.get(f"{standin.url}/CRM/Contact/M30011", auth=("someone", "bad"), timeout=10)
    requests.get(f"{standin.url}/nowhere", timeout=10)
    last_two = standin.requests[-2:]
    assert [(r.status, r.username) for r in last_two] == [(401, "someone"), (404, None)]


def test_request_log_is_newest_last_with_times(make_standin):
    s = make_standin(contacts=100)
    for score in range(3):
        requests.get(
            f"{s.url}/CRM/Contact/{s.customer_ids[0]}",
            params={"LeadScore": score},
            auth=(s.username, s.password),
            timeout=10,
        )
    assert [r.params["LeadScore"] for r in s.requests] == ["0", "1", "2"]
    times = [r.time for r in s.requests]
    assert times == sorted(times)


def test_clear_requests_empties_the_log(make_standin):
    s = make_standin(contacts=100)
    requests.get(s.url + "/x", timeout=5)
    s.clear_requests()
    assert s.requests == []


def test_the_password_appears_in_no_log_record_or_repr(make_standin):
    s = make_standin(contacts=100)
    s.add_account("eva", passwords={s.customer_ids[0]: "S3cret-pw"})
    requests.get(f"{s.url}/CRM/Contact/{s.customer_ids[0]}", auth=("eva", "S3cret-pw"), timeout=10)
    token = base64.b64encode(b"eva:S3cret-pw").decode()
    text = repr(s) + repr(s.requests)
    assert "S3cret-pw" not in text and token not in text
    assert s.password not in text


def test_concurrent_requests_are_all_answered_and_logged(make_standin):
    s = make_standin(contacts=2_000)
    cid = s.customer_ids[0]

    def one(score: int) -> int:
        return requests.get(
            f"{s.url}/CRM/Contact/{cid}",
            params={"LeadScore": score % 6},
            auth=(s.username, s.password),
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(one, range(48)))
    assert statuses == [200] * 48
    assert len(s.requests) == 48


def test_max_in_flight_counts_requests_answered_at_the_same_time(make_standin):
    s = make_standin(contacts=500, latency=0.05)
    cid = s.customer_ids[0]

    def one(_: int) -> int:
        return requests.get(
            f"{s.url}/CRM/Contact/{cid}", auth=(s.username, s.password), timeout=30
        ).status_code

    for _ in range(2):  # one after the other: never two at once
        one(0)
    assert s.max_in_flight == 1
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, range(4)))
    assert s.max_in_flight == 4
    s.clear_requests()
    assert s.max_in_flight == 0


def test_add_account_refuses_unknown_customer_ids(make_standin):
    s = make_standin(contacts=100)
    with pytest.raises(ValueError, match="M99999"):
        s.add_account("eva", passwords={"M99999": "pw"})


def _restore_sigint() -> None:
    """Children of a background job inherit an ignored SIGINT; give Ctrl-C its meaning back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_command_line_serves_until_ctrl_c_printing_url_and_demo_account():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "vitec_nb.standin", "--port", str(port), "--contacts", "300"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=_restore_sigint,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(5)]
        assert f"http://127.0.0.1:{port}" in lines[0]
        user = re.search(r"user name: (\S+)", "".join(lines))
        password = re.search(r"password:\s+(\S+)", "".join(lines))
        assert user and password
        response = requests.get(
            f"http://127.0.0.1:{port}/CRM/Contact/M30011",
            auth=(user[1], password[1]),
            timeout=10,
        )
        assert response.status_code == 200
        assert "Ctrl-C" in process.stdout.readline() + process.stdout.readline()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert "Stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
