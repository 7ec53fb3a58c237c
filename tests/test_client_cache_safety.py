"""The cache under stress: threads clearing while others read and write, another process
holding the file's lock, damaged entries, expiry at the precision it was stored with, and
truncated bodies asked for again up to the retry budget.
"""

from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import vitec_nb as vnb
from vitec_nb import cache as cache_mod
from vitec_nb.cache_sqlite import VitecSQLiteCache
from vitec_nb.standin import StandIn

BREAKDOWN = {
    "by": ("lead_score",),
    "measure": "created",
    "period": "M",
    "start": "2025-01-01",
    "end": "2026-06-01",
    "progress": False,
}


@pytest.fixture(scope="module")
def server() -> Iterator[StandIn]:
    with StandIn(seed=12, contacts=3000, offices=1, fault_seed=12) as s:
        yield s


@pytest.fixture(autouse=True)
def healthy(server: StandIn) -> Iterator[None]:
    server.set_faults()
    server.clear_requests()
    yield
    server.set_faults()


def contact_calls(s: StandIn) -> list[str]:
    return [r.path for r in s.requests if r.path.startswith("/CRM/Contact/")]


# --- threads ----------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_clearing_while_eight_threads_break_down_never_crashes(
    server: StandIn, make_client: Callable[..., vnb.VitecClient]
) -> None:
    """8 threads run 2 breakdowns or lookups each while another clears the cache after
    every one of them (counted, not timed: a clear per finished run, no sleeps).

    Every run ends with the exact counts or a VitecError; no other exception, no crash.
    """
    client = make_client(server, max_retries=1)
    office = server.customer_ids[0]
    query = vnb.ContactQuery(office)
    expected = client.breakdown(query, **BREAKDOWN).counts
    outcomes: Counter[str] = Counter()
    crashes: list[BaseException] = []
    runs_per_thread = 2
    finished = threading.Semaphore(0)  # one release per finished run: one clear each
    lock = threading.Lock()

    def work(n: int) -> None:
        for _ in range(runs_per_thread):
            try:
                if n % 2:
                    got = client.breakdown(query, **BREAKDOWN).counts
                    pd.testing.assert_frame_equal(got, expected)
                else:
                    client.contacts(customer_id=office, lead_score=n % 5 + 1)
                outcome = "exact"
            except vnb.VitecError as exc:
                outcome = type(exc).__name__
            except BaseException as exc:  # AssertionError included: a wrong number
                crashes.append(exc)
                outcome = "crash"
            with lock:
                outcomes[outcome] += 1
            finished.release()

    def clear() -> None:
        for _ in range(8 * runs_per_thread):
            assert finished.acquire(timeout=60)
            client.clear_cache()  # while the other threads' runs go on
            with lock:
                outcomes["clears"] += 1

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    threads.append(threading.Thread(target=clear))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert crashes == [], crashes[:3]
    assert outcomes["clears"] == 8 * runs_per_thread, outcomes
    assert outcomes["exact"] > 8, outcomes
    assert sum(outcomes.values()) - outcomes["clears"] == 8 * runs_per_thread, outcomes
    print(f"threaded clear stress: {dict(outcomes)}")


def test_clear_cache_empties_it_and_forgets_parsed_answers(
    server: StandIn, make_client: Callable[..., vnb.VitecClient]
) -> None:
    client = make_client(server)
    office = server.customer_ids[0]
    client.contacts(customer_id=office, lead_score=5)
    client.clear_cache()
    assert len(client.session.cache.responses) == 0
    server.clear_requests()
    again = client.contacts(customer_id=office, lead_score=5)
    assert again.attrs["from_cache"] is False
    assert len(contact_calls(server)) == 1
    with pytest.raises(vnb.InvalidQueryError, match="expired_only"):
        client.clear_cache(expired_only="yes")


# --- a lock held by another process -------------------------------------------------------

HOLDER = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("CREATE TABLE IF NOT EXISTS held (x)")
con.execute("BEGIN EXCLUSIVE")
con.execute("INSERT INTO held VALUES (1)")
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def held_file(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """A SQLite file another process holds an exclusive lock on, until the test ends."""
    path = tmp_path / "held.sqlite"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    try:
        yield path, holder
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)


def test_a_lock_held_by_another_process_is_waited_for_a_bounded_time(
    server: StandIn, held_file: tuple[Path, subprocess.Popen[str]]
) -> None:
    path, holder = held_file
    started = time.monotonic()
    with pytest.raises(vnb.ConfigurationError) as caught:
        vnb.connect(
            base_url=server.url,
            username=server.username,
            password=server.password,
            cache=path,
            cache_lock_timeout=0.5,
        )
    waited = time.monotonic() - started
    message = str(caught.value)
    assert str(path) in message
    assert f"held by process {holder.pid}" in message
    assert "0.5 s" in message
    assert 0.5 <= waited < 2.0, waited
    print(f"held lock: gave up after {waited:.2f} s (cache_lock_timeout=0.5)")


def test_a_lock_taken_after_connect_makes_the_store_fail_in_bounded_time(
    server: StandIn, tmp_path: Path
) -> None:
    path = tmp_path / "later.sqlite"
    client = vnb.connect(
        base_url=server.url,
        username=server.username,
        password=server.password,
        cache=path,
        cache_lock_timeout=0.3,
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(vnb.ConfigurationError, match=f"{path}.*held by process {holder.pid}"):
            client.contacts(customer_id=server.customer_ids[0], lead_score=1)
        assert time.monotonic() - started < 1.5
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)
    client.contacts(customer_id=server.customer_ids[0], lead_score=1)  # released: works again
    assert client.is_cached(customer_id=server.customer_ids[0], lead_score=1)


def test_the_default_lock_wait_is_small() -> None:
    from vitec_nb.cache_sqlite import DEFAULT_LOCK_TIMEOUT

    assert 0 < DEFAULT_LOCK_TIMEOUT <= 10


# --- damaged entries ------------------------------------------------------------------------


def _damage(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("UPDATE responses SET value = ?", (b'{"_content": 5}',)).rowcount


def test_a_damaged_entry_is_a_miss_fetched_again_with_a_warning(
    server: StandIn, make_client: Callable[..., vnb.VitecClient]
) -> None:
    client = make_client(server)
    office = server.customer_ids[0]
    first = client.contacts(customer_id=office, lead_score=4)
    assert _damage(client.session.cache.db_path) == 1
    # the parsed copy beside the entry is tied to its version: the damage is noticed
    server.clear_requests()
    with pytest.warns(RuntimeWarning, match=r"cached answer for contacts .* was damaged"):
        again = client.contacts(customer_id=office, lead_score=4)
    assert len(contact_calls(server)) == 1
    assert again.attrs["from_cache"] is False
    pd.testing.assert_frame_equal(again, first)
    assert client.is_cached(customer_id=office, lead_score=4)  # stored again, intact


def test_offline_a_damaged_entry_is_not_cached_saying_so(
    server: StandIn, make_client: Callable[..., vnb.VitecClient]
) -> None:
    client = make_client(server)
    office = server.customer_ids[0]
    client.contacts(customer_id=office, lead_score=3)
    _damage(client.session.cache.db_path)
    server.clear_requests()
    with (
        pytest.warns(RuntimeWarning, match="damaged"),
        pytest.raises(vnb.NotCachedError, match="damaged"),
    ):
        client.contacts(customer_id=office, lead_score=3, offline=True)
    assert server.requests == []


# --- expiry at the precision it was stored with -----------------------------------------------


def test_an_expired_entry_is_never_fresh_with_a_fake_clock(
    server: StandIn, make_client: Callable[..., vnb.VitecClient], tmp_path: Path
) -> None:
    now = [time.time()]
    backend = VitecSQLiteCache(
        tmp_path / "clocked.sqlite", serializer=cache_mod.SERIALIZER, clock=lambda: now[0]
    )
    client = make_client(server, cache=backend, expire_after=60)
    office = server.customer_ids[0]
    client.contacts(customer_id=office, lead_score=5)
    (key,) = list(backend.responses.keys())
    found, stamp = backend.responses.expiry(key)
    assert found and isinstance(stamp, float)
    q = vnb.ContactQuery(office, lead_score=5)
    now[0] = stamp - 0.01
    assert client.is_cached(q) and client.cached_answer(q) is not None
    now[0] = stamp + 0.01
    assert not client.is_cached(q)
    assert client.cached_answer(q) is None  # no answer from the parsed copy either
    # A whole-second stamp (requests-cache's rounding, older files) may be up to 0.5 s late:
    rounded_up = math.floor(stamp) + 1
    with sqlite3.connect(backend.db_path) as con:
        con.execute("UPDATE responses SET expires = ?", (rounded_up,))
    now[0] = rounded_up - 0.45
    assert not client.is_cached(q)
    now[0] = rounded_up - 0.55
    assert client.is_cached(q)


# --- damaged bodies, asked for again up to the retry budget -------------------------------------


QUERIES = [
    {
        "lead_score": score,
        "created_from": f"2025-{month:02d}-01",
        "created_to": f"2025-{month:02d}-28",
    }
    for score in range(1, 6)
    for month in (1, 4, 7, 10)
]


@pytest.mark.parametrize("fault", ["truncate_rate", "malformed_rate"])
def test_20_percent_damaged_bodies_are_asked_for_again_up_to_the_retry_budget(
    server: StandIn, make_client: Callable[..., vnb.VitecClient], fault: str, tmp_path: Path
) -> None:
    """20 calls one after another (the seeded faults fall on the same requests every run)."""
    office = server.customer_ids[0]
    healthy = make_client(server)
    expected = [healthy.contacts(customer_id=office, **q) for q in QUERIES]
    server.set_faults(seed=7, **{fault: 0.2})
    server.clear_requests()
    client = make_client(server, max_retries=4, cache=tmp_path / "faulty.sqlite")
    for q, want in zip(QUERIES, expected, strict=True):
        pd.testing.assert_frame_equal(client.contacts(customer_id=office, **q), want)
    asked = Counter(tuple(sorted(r.params.items())) for r in server.requests)
    assert max(asked.values()) >= 3, asked  # asking only once more would have failed
    print(f"{fault}=0.2: {len(QUERIES)} calls, {sum(asked.values())} requests, all exact")


# --- concurrency ------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [2, 3])
def test_connect_concurrency_is_the_one_limit_of_requests_in_flight(
    server: StandIn, make_client: Callable[..., vnb.VitecClient], limit: int
) -> None:
    client = make_client(server, concurrency=limit)
    assert client.concurrency == limit
    server.set_faults(latency=0.05)
    server.clear_requests()
    result: Any = client.breakdown(vnb.ContactQuery(server.customer_ids[0]), **BREAKDOWN)
    assert result.calls > 2 * limit
    assert server.max_in_flight == limit
