"""Exact answers or loud failures when the server misbehaves, and never a bad answer cached.

Every test breaks the stand-in on purpose with its fault switches (503 with Retry-After,
bursts of 429, truncated and malformed bodies, going down halfway, slow answers) under a
breakdown of at least 40 calls over 20 000 contacts, and compares what comes out with the
fault-free result. The stand-in's request log is the witness for what was sent and when;
the cache is read back to prove that only good 200 answers were ever stored.

Retry settings are tuned low through connect() (Retry-After of 1 s, no exponential backoff)
so the whole file stays within a few tens of seconds.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest

import vitec_nb as vnb
from tests.plugins.reliability import sqlite_responses, stored_body
from vitec_nb.standin import StandIn

CONTACTS = 20_000
RANGE = {"start": "2024-01-01", "end": "2026-11-01"}
BREAKDOWN = {"by": ("lead_score",), "measure": "created", "period": "M", **RANGE}
RETRY_AFTER = 1  # seconds, in the stand-in's Retry-After
MAX_RETRIES = 6
MAX_RETRY_AFTER = 2.0  # the client waits at most this long for one Retry-After


@pytest.fixture(scope="module")
def server() -> Iterator[StandIn]:
    """A stand-in of its own (faults must not leak into other files' shared stand-in)."""
    with StandIn(seed=6, contacts=CONTACTS, offices=1, fault_seed=6) as s:
        yield s


@pytest.fixture(autouse=True)
def clear_faults(server: StandIn) -> Iterator[None]:
    """Every test starts and ends with a healthy server and an empty request log."""
    server.set_faults()
    server.clear_requests()
    yield
    server.set_faults()


def connect(server: StandIn, cache: Path, **kw: Any) -> vnb.VitecClient:
    """A client tuned for fast tests: few seconds of waiting at most, no backoff growth."""
    options: dict[str, Any] = {
        "max_retries": MAX_RETRIES,
        "backoff_factor": 0,
        "max_retry_after": MAX_RETRY_AFTER,
        "timeout": (2.0, 5.0),
        "concurrency": 6,
    }
    options.update(kw)
    return vnb.connect(
        base_url=server.url,
        username=server.username,
        password=server.password,
        cache=str(cache / "http_cache.sqlite"),
        customer_ids=server.customer_ids,
        **options,
    )


def breakdown(client: vnb.VitecClient, server: StandIn, **kw: Any) -> Any:
    query = vnb.ContactQuery(server.customer_ids[0])
    return client.breakdown(query, **BREAKDOWN, progress=kw.pop("progress", False), **kw)


@pytest.fixture(scope="module")
def reference(server: StandIn, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The fault-free breakdown, checked against the stand-in's ground truth."""
    server.set_faults()
    client = connect(server, tmp_path_factory.mktemp("reference"))
    result = breakdown(client, server)
    client.close()
    truth = server.truth
    start = pd.Timestamp(RANGE["start"], tz="Europe/Stockholm")
    end = pd.Timestamp(RANGE["end"], tz="Europe/Stockholm")
    in_range = truth[(truth["created_at"] >= start) & (truth["created_at"] < end)]
    assert set(result.facts["id"].astype(str)) == set(in_range["id"].astype(str))
    assert result.plan.n_calls >= 40
    return result


def assert_same_result(result: Any, reference: Any) -> None:
    """Same counts and the same facts (order aside) as the fault-free run."""
    assert result.is_complete
    pd.testing.assert_frame_equal(
        result.counts.reset_index(drop=True), reference.counts.reset_index(drop=True)
    )
    key = ["id"]
    got = result.facts.sort_values(key).reset_index(drop=True)
    want = reference.facts.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)


def contact_calls(server: StandIn) -> list[Any]:
    return [r for r in server.requests if r.path.startswith("/CRM/Contact/")]


def call_key(path: str, params: dict[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    return path, tuple(sorted(params.items()))


def planned_key(call: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    return call_key("/" + call.query.path, call.query.to_params())


def assert_cache_holds_only_good_answers(cache: Path) -> int:
    """Every stored response is a 200, every stored contact answer a whole contact list.

    Returns how many contact answers are stored.

    Read straight from the SQLite file (no requests-cache, no vitec_nb), as JSON.
    """
    contact_answers = 0
    for key, data in sqlite_responses(cache):
        stored = orjson.loads(data)
        assert stored["status_code"] == 200, f"{key} stores an error answer"
        if "/CRM/Contact/" in stored.get("url", ""):
            content = orjson.loads(stored_body(stored))
            assert isinstance(content, dict), f"{key}: body is not a contact list"
            assert {"persons", "companies", "deceasedEstates"} <= set(content), key
            contact_answers += 1
    return contact_answers


# --- 503 with Retry-After -------------------------------------------------------------


@pytest.fixture(scope="module")
def run_503(server: StandIn, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One breakdown with 20 % of answers 503 + Retry-After; the tests below read it."""
    server.set_faults()
    server.clear_requests()
    cache = tmp_path_factory.mktemp("faults_503")
    client = connect(server, cache)
    server.set_faults(error_rate=0.2, error_status=503, retry_after=RETRY_AFTER)
    try:
        result = breakdown(client, server)
        records = contact_calls(server)
    finally:
        server.set_faults()
        client.close()
    return {"result": result, "records": records, "cache": cache}


def test_breakdown_under_20_percent_503_equals_the_fault_free_result(run_503, reference) -> None:
    assert_same_result(run_503["result"], reference)
    statuses = [r.status for r in run_503["records"]]
    assert statuses.count(503) >= 4, "the fault switch did not bite: the test proves nothing"


def test_503_retry_waits_for_retry_after(run_503) -> None:
    assert_retry_after_honoured(run_503["records"], {503})


def test_503s_are_not_cached_only_the_answers_after_them(run_503) -> None:
    stored = assert_cache_holds_only_good_answers(run_503["cache"])
    assert stored >= run_503["result"].plan.n_calls


def assert_retry_after_honoured(records: list[Any], statuses: set[int]) -> int:
    """After a 429/503 at time t for a call, that call is not asked again before t + wait."""
    by_call: dict[Any, list[Any]] = defaultdict(list)
    for r in records:
        by_call[call_key(r.path, r.params)].append(r)
    checked = 0
    for attempts in by_call.values():
        for before, after in itertools.pairwise(attempts):
            if before.status in statuses:
                assert after.time - before.time >= RETRY_AFTER, (
                    f"retried {after.time - before.time:.3f} s after a {before.status} that "
                    f"said Retry-After: {RETRY_AFTER}"
                )
                checked += 1
    assert checked, "no retry after a Retry-After answer was seen"
    return checked


# --- bursts of 429 --------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_429(server: StandIn, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One breakdown with three bursts of five 429s (Retry-After: 1 s): at the start, a
    third and two thirds of the way through. The tests below read it."""
    server.set_faults()
    server.clear_requests()
    client = connect(server, tmp_path_factory.mktemp("faults_429"))
    bursts: list[int] = []

    def another_burst(done: int, total: int) -> None:
        if done in (0, total // 3, 2 * total // 3) and done not in bursts:
            bursts.append(done)
            server.set_faults(rate_limit_burst=5, retry_after=RETRY_AFTER)

    try:
        result = breakdown(client, server, progress=another_burst)
        records = contact_calls(server)
    finally:
        server.set_faults()
        client.close()
    return {"result": result, "records": records, "bursts": bursts, "client": client}


def test_bursts_of_429_give_the_exact_result(run_429, reference) -> None:
    assert_same_result(run_429["result"], reference)
    assert len(run_429["bursts"]) == 3
    assert sum(r.status == 429 for r in run_429["records"]) == 15


def test_bursts_of_429_retry_each_call_only_after_retry_after(run_429) -> None:
    assert_retry_after_honoured(run_429["records"], {429})


def test_after_a_429_no_request_at_all_is_sent_before_retry_after(run_429) -> None:
    """Not only the rate-limited call waits: the whole client does (its other threads too).

    Requests already on their way when the 429 left the server may still arrive just after
    it; IN_FLIGHT allows for them. Anything later inside the window was sent after the
    client knew it had to wait.
    """
    in_flight = 0.25  # seconds
    records = run_429["records"]
    for limited in (r for r in records if r.status == 429):
        early = [
            r for r in records if limited.time + in_flight <= r.time < limited.time + RETRY_AFTER
        ]
        assert early == [], (
            f"{len(early)} request(s) within {RETRY_AFTER} s of a 429 that said Retry-After: "
            f"{RETRY_AFTER}, the first {early[0].time - limited.time:.3f} s after it"
        )


def test_bursts_of_429_cost_one_retry_each_and_bounded_waiting(run_429) -> None:
    records, result = run_429["records"], run_429["result"]
    assert len(records) == result.plan.n_calls + 15  # one retry per 429, nothing more
    budget = run_429["client"].settings.max_total_wait
    per_call: dict[Any, list[float]] = defaultdict(list)
    for r in records:
        per_call[call_key(r.path, r.params)].append(r.time)
    assert max(max(t) - min(t) for t in per_call.values()) <= budget


def test_endless_429_gives_up_after_the_retry_budget_with_rate_limited_error(
    server, tmp_path
) -> None:
    client = connect(server, tmp_path, max_retries=2)
    server.set_faults(rate_limit_burst=1000, retry_after=RETRY_AFTER)
    with pytest.raises(vnb.RateLimitedError) as info:
        client.contacts(customer_id=server.customer_ids[0], lead_score=1)
    assert info.value.retry_after == RETRY_AFTER
    records = contact_calls(server)
    assert [r.status for r in records] == [429] * 3  # the first try and two retries
    assert_retry_after_honoured(records, {429})
    assert not client.is_cached(customer_id=server.customer_ids[0], lead_score=1)


# --- truncated and malformed bodies ---------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("switch", ["truncate_rate", "malformed_rate"])
def test_damaged_body_is_never_returned_as_a_short_frame_nor_cached(
    server, tmp_path, switch: str, fmt: str
) -> None:
    client = connect(server, tmp_path)
    server.set_faults(**{switch: 1.0})
    cid = server.customer_ids[0]
    for score in range(6):  # several answers, so every kind of damage comes up
        with pytest.raises(vnb.MalformedResponseError):
            client.contacts(customer_id=cid, lead_score=score, format=fmt)
        assert not client.is_cached(customer_id=cid, lead_score=score, format=fmt)
    assert all(r.status == 200 for r in contact_calls(server))
    assert assert_cache_holds_only_good_answers(tmp_path) == 0


def test_breakdown_with_damaged_bodies_is_exact_or_names_what_is_missing(
    server, reference, tmp_path
) -> None:
    client = connect(server, tmp_path)
    server.set_faults(truncate_rate=0.15, malformed_rate=0.15)
    try:
        result = breakdown(client, server)
    except vnb.IncompleteBreakdownError as err:
        assert err.missing
        for missing in err.missing:
            assert isinstance(missing.error, vnb.MalformedResponseError)
            assert missing.call.label in str(err)
        server.set_faults()
        result = breakdown(client, server)
    assert_same_result(result, reference)
    assert assert_cache_holds_only_good_answers(tmp_path) >= result.plan.n_calls


# --- the server going down halfway -----------------------------------------------------


@pytest.fixture(scope="module")
def run_down(server: StandIn, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A breakdown during which the server goes down (two thirds of the way through), then
    the same breakdown again once it is back. The tests below read what happened."""
    server.set_faults()
    server.clear_requests()
    client = connect(server, tmp_path_factory.mktemp("faults_down"))
    plan = client.plan(vnb.ContactQuery(server.customer_ids[0]), **BREAKDOWN)
    went_down: list[int] = []

    def pull_the_plug(done: int, total: int) -> None:
        if done == 2 * total // 3 and not went_down:
            went_down.append(done)
            server.set_faults(down=True)

    try:
        with pytest.raises(vnb.IncompleteBreakdownError) as info:
            breakdown(client, server, progress=pull_the_plug)
        first = contact_calls(server)
        cached = {planned_key(c) for c in plan.calls if client.is_cached(c.query)}
        server.set_faults()  # back up
        server.clear_requests()
        rerun = breakdown(client, server)
        second = contact_calls(server)
    finally:
        server.set_faults()
        client.close()
    assert went_down
    return {
        "plan": plan,
        "error": info.value,
        "first": first,
        "cached": cached,
        "rerun": rerun,
        "second": second,
    }


def test_server_down_halfway_names_exactly_the_missing_calls(run_down) -> None:
    err, plan = run_down["error"], run_down["plan"]
    answered = {call_key(r.path, r.params) for r in run_down["first"] if r.status == 200}
    missing = {planned_key(m.call) for m in err.missing}
    planned = {planned_key(c) for c in plan.calls}
    assert missing, "the server went down, yet nothing is missing"
    assert missing == planned - run_down["cached"]  # exactly the calls with no stored answer
    assert planned - answered <= missing  # ... which include every call never answered
    for m in err.missing:  # ... each named in the message, with why
        assert m.call.label in str(err)
        assert isinstance(m.error, vnb.TransportError | vnb.MalformedResponseError)


def test_server_down_halfway_loses_nothing_fetched(run_down) -> None:
    answered = {call_key(r.path, r.params) for r in run_down["first"] if r.status == 200}
    missing = {planned_key(m.call) for m in run_down["error"].missing}
    assert answered - missing <= run_down["cached"]


def test_server_down_halfway_shows_no_wrong_number(run_down, reference) -> None:
    """The partial result marks unknown cells; every count it does give is the true one."""
    partial = run_down["error"].partial
    assert not partial.is_complete
    keys = [c for c in reference.counts.columns if c != "contacts"]
    merged = partial.counts.merge(reference.counts, on=keys, suffixes=("", "_true"))
    assert len(merged) == len(reference.counts)
    known = merged[merged["contacts"].notna()]
    assert (known["contacts"] == known["contacts_true"]).all()
    assert merged["contacts"].isna().any(), "cells the missing calls decide must be unknown"


def test_after_the_server_is_back_a_rerun_fetches_only_what_was_missing(
    run_down, reference
) -> None:
    missing = {planned_key(m.call) for m in run_down["error"].missing}
    again = [call_key(r.path, r.params) for r in run_down["second"]]
    assert sorted(again) == sorted(missing)  # only what was missing, each once
    assert run_down["rerun"].calls == len(missing)
    assert_same_result(run_down["rerun"], reference)


def test_partial_breakdown_over_two_dimensions_shows_no_wrong_number(server, tmp_path) -> None:
    """Failed calls under two dimensions (lead score × agent): a loud, exact partial result.

    (This used to crash with an IndexError while counting, instead of naming the missing
    calls: rows dropped for an unknown first dimension misaligned the second.)
    """
    query = vnb.ContactQuery(server.customer_ids[0])
    options: dict[str, Any] = {**BREAKDOWN, "by": ("lead_score", "agent"), "progress": False}
    truth = connect(server, tmp_path / "fault-free").breakdown(query, **options)
    client = connect(server, tmp_path / "faulty")
    # One call at a time and a fixed fault seed: the same calls fail on every run.
    server.set_faults(seed=3, error_rate=0.2, error_status=500)
    with pytest.raises(vnb.IncompleteBreakdownError) as info:
        client.breakdown(query, **options, concurrency=1)
    assert {"lead_score", "agent"} <= {m.call.dimension for m in info.value.missing}
    partial = info.value.partial
    keys = ["period", "lead_score", "agent"]
    merged = partial.counts.merge(truth.counts, on=keys, suffixes=("", "_true"))
    assert len(merged) == len(truth.counts)
    known = merged[merged["contacts"].notna()]
    assert (known["contacts"] == known["contacts_true"]).all()
    assert merged["contacts"].isna().any()


def test_breakdown_from_expired_answers_during_an_outage_says_so(server, tmp_path) -> None:
    """When the server fails and the client falls back to expired cached answers, the
    breakdown carries a warning that its numbers may be out of date (never silently)."""
    from datetime import UTC, datetime, timedelta

    from vitec_nb.plan import BreakdownWarning

    client = connect(server, tmp_path, max_retries=1)
    query = vnb.ContactQuery(server.customer_ids[0])
    first = client.breakdown(query, **BREAKDOWN, progress=False)
    assert first.warnings == []
    backend = client.session.cache  # expire every answer, through requests-cache's own API
    for key in list(backend.responses.keys()):
        entry = backend.get_response(key)
        entry.expires = datetime.now(UTC) - timedelta(hours=1)
        backend.responses[key] = entry
    server.set_faults(error_rate=1.0, error_status=503, retry_after=0)
    server.clear_requests()
    with pytest.warns(BreakdownWarning, match="expired cached answers"):
        again = client.breakdown(query, **BREAKDOWN, progress=False)
    assert any("out of date" in w for w in again.warnings)
    asked = contact_calls(server)
    assert asked and all(r.status == 503 for r in asked)  # the server was asked, and failed
    pd.testing.assert_frame_equal(again.counts, first.counts)  # the stored numbers, kept


# --- slow answers ------------------------------------------------------------------------


@pytest.mark.parametrize("switch", ["latency", "slow_body"])
def test_slow_server_raises_timeout_within_the_configured_bound(
    make_standin, tmp_path, switch: str
) -> None:
    # A stand-in of its own: the slow answer is still being served after the test is done.
    server = make_standin(seed=1, contacts=500, offices=1)
    slow = 4.0  # seconds the answer would take; the client allows 0.3 s per read
    client = connect(server, tmp_path, timeout=(1.0, 0.3))
    server.set_faults(**{switch: slow})
    started = time.monotonic()
    with pytest.raises(vnb.RequestTimeoutError) as info:
        client.contacts(customer_id=server.customer_ids[0], lead_score=2)
    waited = time.monotonic() - started
    assert waited < slow, f"waited {waited:.1f} s for an answer that takes {slow} s"
    assert "0.3 s" in str(info.value)
    assert not client.is_cached(customer_id=server.customer_ids[0], lead_score=2)


# --- error answers never stored ----------------------------------------------------------


def test_no_error_answer_is_ever_stored_in_the_cache(server, tmp_path) -> None:
    """500 is not retried: the breakdown fails loudly and the cache holds only the 200s."""
    client = connect(server, tmp_path)
    server.set_faults(error_rate=0.3, error_status=500)
    with pytest.raises(vnb.IncompleteBreakdownError) as info:
        breakdown(client, server)
    assert all(isinstance(m.error, vnb.ServerError) for m in info.value.missing)
    ok = sum(r.status == 200 for r in contact_calls(server))
    assert ok and any(r.status == 500 for r in contact_calls(server))
    assert assert_cache_holds_only_good_answers(tmp_path) == ok  # the 200s, never a 500


# --- the cache itself damaged --------------------------------------------------------------


def test_damaged_cache_file_is_a_clear_error_naming_it(server, tmp_path) -> None:
    damaged = tmp_path / "http_cache.sqlite"
    damaged.write_bytes(b"this is not a database\n" * 200)
    with pytest.raises(vnb.ConfigurationError) as info:
        connect(server, tmp_path)
    assert str(damaged) in str(info.value) and "delete it" in str(info.value)
    assert list(server.requests) == []
