"""The send path against hostile servers of our own: redirects, echoed secrets, odd
Retry-After, the 429 gate under latency, dribbled bodies, error bodies in every shape.

Each server is a `HostileServer` (tests/plugins/reliability.py) on loopback: it answers
exactly as the test says, which the stand-in cannot (it is a well-behaved Vitec).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

import vitec_nb as vnb
from tests.plugins.reliability import (
    EMPTY_CONTACTS,
    Arrival,
    Reply,
    files_under,
    find_secrets,
    secret_forms,
)
from vitec_nb.retries import RateLimitGate, retry_after_seconds
from vitec_nb.settings import Settings

USER, PASSWORD = "agent.smith", "s3cret-Pässw0rd"
OFFICE = "M30011"
FORMS = secret_forms(USER, PASSWORD)


def connect(server: Any, tmp_path: Path, **kw: Any) -> vnb.VitecClient:
    kw.setdefault("max_retries", 0)
    kw.setdefault("backoff_factor", 0)
    return vnb.connect(
        base_url=server.url, username=USER, password=PASSWORD, cache=tmp_path / "c.sqlite", **kw
    )


def always(reply: Reply):
    return lambda _arrival, _n: reply


def leaks(*texts: str) -> list[str]:
    return find_secrets([(t[:40], t.encode()) for t in texts], FORMS)


# --- redirects ------------------------------------------------------------------------


def test_a_redirect_is_an_error_naming_the_location_and_is_never_followed(
    hostile, tmp_path: Path
) -> None:
    elsewhere = hostile(always(Reply(body=EMPTY_CONTACTS)))
    quoted = urllib.parse.quote(PASSWORD, safe="")
    target = elsewhere.url.replace("http://", f"http://{USER}:{quoted}@")
    api = hostile(always(Reply(302, b"", {"Location": f"{target}/CRM/Contact/{OFFICE}?t=1"})))
    client = connect(api, tmp_path)
    with pytest.raises(vnb.RedirectError) as caught:
        client.contacts(customer_id=OFFICE)
    error = caught.value
    assert error.status == 302
    assert error.location == f"{elsewhere.url}/CRM/Contact/{OFFICE}"  # no user info, no query
    assert error.location in str(error) and "not followed" in str(error)
    assert elsewhere.arrivals == []  # never followed
    assert len(api.arrivals) == 1
    assert len(client.session.cache.responses) == 0  # nothing cached
    assert leaks(str(error), repr(error)) == []


def test_no_request_of_the_clients_session_ever_follows_a_redirect(hostile, tmp_path: Path) -> None:
    """Defence in depth: also a request sent without allow_redirects=False is not followed."""
    import requests

    elsewhere = hostile(always(Reply(body=EMPTY_CONTACTS)))
    api = hostile(always(Reply(302, b"", {"Location": f"{elsewhere.url}/x"})))
    client = connect(api, tmp_path)
    with pytest.raises(requests.TooManyRedirects):
        client.session.get(f"{api.url}/anything")
    assert elsewhere.arrivals == []


@pytest.mark.parametrize("status", [301, 303, 307, 308])
def test_every_3xx_is_refused(hostile, tmp_path: Path, status: int) -> None:
    api = hostile(always(Reply(status, b"", {"Location": "/elsewhere"})))
    client = connect(api, tmp_path)
    with pytest.raises(vnb.RedirectError, match=str(status)):
        client.contacts(customer_id=OFFICE)
    assert api.paths() == [f"/CRM/Contact/{OFFICE}"]


# --- secrets --------------------------------------------------------------------------


def _echo(arrival: Arrival, _n: int) -> Reply:
    """A proxy that echoes the Authorization header (and the password) in its error."""
    auth = arrival.headers.get("Authorization", "")
    body = {
        "Message": f"Rejected {auth}; user {USER} with {PASSWORD}",
        "ModelState": {"request.Auth": [f"header was {auth.split(' ')[-1]}"]},
    }
    return Reply(400, orjson.dumps(body))


def test_an_echoed_authorization_header_never_reaches_an_exception_or_a_log(
    hostile, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = hostile(_echo)
    client = connect(api, tmp_path)
    with caplog.at_level(logging.DEBUG), pytest.raises(vnb.ServerValidationError) as caught:
        client.contacts(customer_id=OFFICE)
    error = caught.value
    assert "Rejected Basic ***" in str(error)  # the server's message, its secrets removed
    assert "request.Auth: header was ***" in error.messages
    logged = [r.getMessage() for r in caplog.records]
    assert leaks(str(error), repr(error), error.server_message or "", *error.messages) == []
    assert leaks(*logged) == []


def test_a_base_url_with_user_info_never_reaches_repr_describe_attrs_errors_or_cache(
    hostile, tmp_path: Path
) -> None:
    """Settings refuses such a URL; the client is safe even when handed one directly."""
    from vitec_nb.credentials import Credentials

    replies = [Reply(body=EMPTY_CONTACTS)]
    api = hostile(lambda _a, _n: replies[0])
    url = api.url.replace("http://", f"http://{USER}:{PASSWORD}@") + "?token=" + PASSWORD
    settings = Settings(
        base_url=url,
        credentials=Credentials(USER, PASSWORD),
        customer_ids=(OFFICE,),
        cache=tmp_path / "cache" / "c.sqlite",
        max_retries=0,
    )
    client = vnb.VitecClient(settings)
    frame = client.contacts(customer_id=OFFICE)
    assert frame.attrs["source"] == api.url
    replies[0] = Reply(404, b'{"Message": "No such path"}')
    with pytest.raises(vnb.NotFoundError) as caught:
        client.contacts(customer_id=OFFICE, lead_score=5)
    assert caught.value.url == f"{api.url}/CRM/Contact/{OFFICE}"
    texts = [repr(client), client.describe(), client._repr_html_(), str(frame.attrs)]
    assert leaks(*texts, str(caught.value)) == []
    assert not any("token" in a.path for a in api.arrivals)  # the query never went out
    assert find_secrets(files_under(tmp_path / "cache"), FORMS) == []


def test_a_damaged_body_echoing_the_header_never_leaks_through_the_parse_error(
    hostile, tmp_path: Path
) -> None:
    def handler(arrival: Arrival, _n: int) -> Reply:
        auth = arrival.headers.get("Authorization", "").encode()
        return Reply(body=b'{"persons": [{"id": "' + auth + b'", "pw": "' + PASSWORD.encode())

    api = hostile(handler)
    client = connect(api, tmp_path, max_retries=1)
    with pytest.raises(vnb.MalformedResponseError) as caught:
        client.contacts(customer_id=OFFICE)
    assert len(api.arrivals) == 2  # asked again within the retry budget
    assert leaks(str(caught.value)) == []
    assert "Near there" not in str(caught.value)  # a cut excerpt could hold part of one
    assert "no excerpt: the answer quoted credentials" in str(caught.value)


# --- Retry-After and the 429 gate -----------------------------------------------------


@pytest.mark.parametrize("value", ["1.5", "", "soon", "0.25", "NaN", "-3", "HTTP-DATE"])
def test_any_retry_after_value_is_waited_and_retried(hostile, tmp_path: Path, value: str) -> None:
    if value == "HTTP-DATE":
        value = format_datetime(datetime.now(UTC) + timedelta(seconds=1), usegmt=True)

    def handler(_arrival: Arrival, n: int) -> Reply:
        if n == 0:
            return Reply(503, b'{"Message": "busy"}', {"Retry-After": value})
        return Reply(body=EMPTY_CONTACTS)

    api = hostile(handler)
    client = connect(api, tmp_path, max_retries=2, max_retry_after=0.2)
    frame = client.contacts(customer_id=OFFICE)
    assert len(frame) == 0
    assert len(api.arrivals) == 2


def test_the_final_error_keeps_status_and_server_message_whatever_retry_after_says(
    hostile, tmp_path: Path
) -> None:
    api = hostile(always(Reply(503, b'{"Message": "Maintenance until noon"}', {"Retry-After": ""})))
    client = connect(api, tmp_path, max_retries=2, max_retry_after=0.05)
    with pytest.raises(vnb.ServerError) as caught:
        client.contacts(customer_id=OFFICE)
    assert caught.value.status == 503
    assert "Maintenance until noon" in str(caught.value)
    assert len(api.arrivals) == 3

    limited = hostile(always(Reply(429, b"slow down", {"Retry-After": "0.01"})))
    client = connect(limited, tmp_path / "2", max_retries=1)
    with pytest.raises(vnb.RateLimitedError) as caught:
        client.contacts(customer_id=OFFICE)
    assert caught.value.retry_after == pytest.approx(0.01)
    assert "slow down" in str(caught.value)


def test_retry_after_is_read_as_seconds_a_date_or_a_default() -> None:
    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    clock = now.timestamp  # a fake clock: the date is read against it
    in_90 = format_datetime(now + timedelta(seconds=90), usegmt=True)
    past = format_datetime(now - timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds("3", now=clock) == 3
    assert retry_after_seconds(" 1.5 ", now=clock) == 1.5
    assert retry_after_seconds(in_90, now=clock) == 90
    assert retry_after_seconds(past, now=clock) == 0
    for garbage in ("", None, "soon", "nan", "inf", "-1", "1e400"):
        assert retry_after_seconds(garbage, default=0.7, now=clock) == 0.7


def test_the_gate_holds_every_sender_with_a_fake_clock() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    gate = RateLimitGate(clock=lambda: now[0], sleep=sleep)
    gate.hold(3.0)
    gate.hold(1.0)  # a shorter hold never shortens the one in force
    gate.wait()
    assert now[0] == 103.0 and slept == [3.0]
    gate.wait()
    assert slept == [3.0]


def test_a_request_queued_on_the_slots_waits_out_a_429_of_another_call(
    hostile, tmp_path: Path
) -> None:
    """The gate on a fake clock: the queued request leaves only after the whole Retry-After.

    The slots are the client's own (`concurrency=1`): the second thread's request waits for
    the first one's exchange to end, then for the gate."""
    retry_after = 1.0
    now = [1000.0]
    events: list[tuple[str, float]] = []  # what happened, in order, on the fake clock
    first_at_server = threading.Event()
    second_started = threading.Event()

    def handler(arrival: Arrival, n: int) -> Reply:
        events.append(("arrival", now[0]))
        if n == 0:
            first_at_server.set()
            second_started.wait(5)  # the other call is running, queued on the one slot
            return Reply(429, b'{"Message": "Too many"}', {"Retry-After": f"{retry_after}"})
        return Reply(body=EMPTY_CONTACTS)

    def fake_sleep(seconds: float) -> None:
        events.append(("sleep", seconds))
        now[0] += seconds

    api = hostile(handler)
    client = connect(api, tmp_path, max_retries=0, max_retry_after=5, concurrency=1)
    client.gate.clock = lambda: now[0]  # RateLimitGate's clock and sleep are for tests
    client.gate.sleep = fake_sleep
    errors: list[BaseException] = []

    def call(score: int) -> None:
        try:
            client.contacts(customer_id=OFFICE, lead_score=score)
        except vnb.VitecError as exc:
            errors.append(exc)

    first = threading.Thread(target=call, args=(1,))
    first.start()
    assert first_at_server.wait(10)  # the first request is at the server, holding the slot
    second = threading.Thread(target=call, args=(2,))
    second.start()
    second_started.set()
    first.join(10)
    second.join(10)
    assert not first.is_alive() and not second.is_alive()
    assert [type(e) for e in errors] == [vnb.RateLimitedError]
    assert len(api.arrivals) == 2
    # the second request left after one wait of the whole Retry-After, never before it
    assert events == [("arrival", 1000.0), ("sleep", 1.0), ("arrival", 1001.0)]


# --- the deadline -----------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_a_dribbled_body_is_cut_off_at_the_deadline(hostile, tmp_path: Path) -> None:
    """One byte per 0.2 s never trips a 5 s read timeout; the 1 s deadline stops it."""
    api = hostile(always(Reply(body=EMPTY_CONTACTS * 4, dribble=0.2)))
    client = connect(api, tmp_path, timeout=(5, 5), deadline=1.0)
    with pytest.raises(vnb.RequestTimeoutError, match=r"deadline of 1 s.*contacts") as caught:
        client.contacts(customer_id=OFFICE)
    took = time.monotonic() - api.arrivals[0].at  # from the request reaching the server
    assert 0.9 <= took < 1.5, took
    print(f"dribbled body: stopped after {took:.2f} s (deadline 1 s, read timeout 5 s)")
    assert "connect()" in str(caught.value)
    assert len(client.session.cache.responses) == 0


@pytest.mark.timeout(30)
def test_the_deadline_also_bounds_retry_waits(hostile, tmp_path: Path) -> None:
    api = hostile(always(Reply(503, b'{"Message": "later"}', {"Retry-After": "3"})))
    client = connect(api, tmp_path, max_retries=3, max_retry_after=3, deadline=1.0)
    started = time.monotonic()
    with pytest.raises(vnb.RequestTimeoutError, match="deadline"):
        client.contacts(customer_id=OFFICE)
    took = time.monotonic() - started
    assert took < 1.0  # a wait that would cross it is not started
    print(f"deadline vs Retry-After 3 s: gave up after {took:.2f} s (deadline 1 s)")
    assert len(api.arrivals) == 1


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "5", True, [1]], ids=repr)
def test_bounds_are_refused_when_not_finite_positive_seconds(bad: Any) -> None:
    for name in ("deadline", "cache_lock_timeout"):
        with pytest.raises(vnb.ConfigurationError, match=name):
            vnb.connect(demo=True, **{name: bad})


# --- error bodies in every shape ----------------------------------------------------------

WEBAPI = {"Message": "The request is invalid.", "ModelState": {"LeadScore": ["Must be 0-5"]}}
CAMEL = {"message": "The request is invalid.", "modelState": {"leadScore": ["Must be 0-5"]}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (orjson.dumps(WEBAPI), "LeadScore"),
        (orjson.dumps(CAMEL), "leadScore"),
        (b"The request is invalid.\nLeadScore: Must be 0-5\n", "LeadScore"),
        (b"", None),
    ],
    ids=["webapi", "camel", "plain", "empty"],
)
def test_validation_errors_surface_message_and_field_errors(
    hostile, tmp_path: Path, body: bytes, field: str | None
) -> None:
    api = hostile(always(Reply(400, body)))
    client = connect(api, tmp_path)
    with pytest.raises(vnb.ServerValidationError) as caught:
        client.contacts(customer_id=OFFICE)
    error = caught.value
    assert error.status == 400
    if field is None:
        assert "answered 400" in str(error)
        return
    assert "The request is invalid." in str(error)
    assert error.messages == [f"{field}: Must be 0-5"]
    assert f"{field}: Must be 0-5" in str(error)


def test_a_plain_text_error_is_quoted_as_the_server_wrote_it(hostile, tmp_path: Path) -> None:
    api = hostile(always(Reply(500, b"Object reference not set", {"Content-Type": "text/plain"})))
    client = connect(api, tmp_path)
    with pytest.raises(vnb.ServerError, match="Object reference not set") as caught:
        client.contacts(customer_id=OFFICE)
    assert caught.value.server_message == "Object reference not set"


def test_basic_header_forms_are_all_redacted() -> None:
    from vitec_nb.errors import Redactor

    redact = Redactor(USER, [PASSWORD, "other"])
    pair = f"{USER}:{PASSWORD}".encode()
    for form in (
        PASSWORD,
        base64.b64encode(pair).decode(),
        base64.b64encode(pair).decode().rstrip("="),
        base64.b64encode(PASSWORD.encode()).decode(),
        base64.b64encode(f"{USER}:other".encode()).decode(),
    ):
        assert redact(f"x {form} y") == "x *** y"
    assert redact("nothing secret") == "nothing secret"
    short = Redactor("u", ["p"])  # a short password is removed where it stands alone
    assert short("http://host/p?x=p") == "http://host/***?x=***"


@pytest.mark.parametrize("dialect", ["documented", "camel-errors", "plain-errors"])
def test_the_stand_ins_error_shapes_all_surface_the_servers_message(
    make_standin, tmp_path: Path, dialect: str
) -> None:
    s = make_standin(seed=1, contacts=50, offices=1, dialect=dialect)
    client = vnb.connect(
        base_url=s.url, username=s.username, password="wrong", cache=tmp_path / "c.sqlite"
    )
    with pytest.raises(vnb.AuthenticationError) as caught:
        client.contacts(customer_id=s.customer_ids[0])
    assert caught.value.server_message, dialect
    assert caught.value.server_message in str(caught.value)
    assert "{" not in caught.value.server_message  # the message, not the JSON around it


# --- the client's one limit of requests in flight, and whole-body reads ------------------


@pytest.mark.timeout(60)
def test_threads_sharing_a_client_never_have_more_requests_in_flight_than_its_concurrency(
    make_standin, tmp_path: Path
) -> None:
    """No planner involved: five threads calling `contacts()` at once on `concurrency=2`."""
    s = make_standin(seed=1, contacts=300, offices=1, latency=0.05)
    client = vnb.connect(
        base_url=s.url, username=s.username, password=s.password, cache=tmp_path / "c.sqlite",
        concurrency=2,
    )  # fmt: skip
    s.clear_requests()
    office = s.customer_ids[0]
    threads = [
        threading.Thread(target=client.contacts, kwargs={"customer_id": office, "lead_score": n})
        for n in range(1, 6)  # lead scores 1-5: one request each (0 is derived from more)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    assert len([r for r in s.requests if r.path.startswith("/CRM/Contact/")]) == 5
    assert s.max_in_flight == 2


def test_a_gzip_encoded_answer_is_decoded_once_and_kept_decoded(hostile, tmp_path: Path) -> None:
    """The body is read in large reads and handed to requests from memory: decoded once (a
    second decoding would fail), parsed, cached, and the same answer read back."""
    import gzip

    person = {"id": "ADR" + "0" * 31 + "1", "changedAt": "2025-03-01T10:00:00+01:00"}
    plain = orjson.dumps({"persons": [person], "companies": [], "deceasedEstates": []})
    wire = gzip.compress(plain)
    api = hostile(always(Reply(body=wire, headers={"Content-Encoding": "gzip"})))
    client = connect(api, tmp_path)
    first = client.contacts(customer_id=OFFICE)
    assert list(first["id"]) == [person["id"]]
    again = client.contacts(customer_id=OFFICE)
    assert len(api.arrivals) == 1 and again.attrs["from_cache"]
    assert list(again["id"]) == [person["id"]]


def test_a_large_body_read_whole_is_exactly_the_bytes_sent(hostile, tmp_path: Path) -> None:
    """A body several reads long (3 MiB) comes through byte for byte, to `content` and to the
    cache, and the connection is used again for the next request."""
    import requests

    from vitec_nb.retries import BODY_READ, read_whole_body

    body = bytes(range(256)) * (3 * BODY_READ // 256) + b"end"
    api = hostile(always(Reply(body=body, headers={"Content-Type": "application/octet-stream"})))
    with requests.Session() as session:
        response = session.get(api.url + "/x", stream=True)
        assert read_whole_body(response) == body
        assert response.content == body and response.raw.read() == b""
        assert session.get(api.url + "/y").content == body
