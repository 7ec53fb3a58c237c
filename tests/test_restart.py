"""A restarted kernel: parsed contact columns beside the cache answer at once, never wrongly.

A new process on a warm cache makes no call and parses no body; parsed data is never used
for an entry that changed, expired (fake clock), was refreshed, damaged or cleared.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import vitec_nb as vnb
from vitec_nb import cache as cache_mod
from vitec_nb.cache_sqlite import VitecSQLiteCache
from vitec_nb.standin import StandIn

# A restarted kernel: connect to the same cache file, run the same breakdown, and say how
# many bodies were parsed (parse_contacts observed, not replaced) and what was counted.
RESTARTED = """
import json, sys
import vitec_nb, vitec_nb.client
from vitec_nb import parse
parsed = []
real = parse.parse_contacts
def observed(*args, **kwargs):
    parsed.append(1)
    return real(*args, **kwargs)
parse.parse_contacts = observed
url, user, password, cache, office = sys.argv[1:6]
client = vitec_nb.connect(url, username=user, password=password, cache=cache)
result = client.breakdown(vitec_nb.ContactQuery(office), by=("agent",), start="2025-01-01",
                          end="2026-01-01", progress=False)
print(json.dumps({"parsed": len(parsed), "calls": result.calls,
                  "counts": int(result.counts["contacts"].sum())}))
"""


def _restarted(s: StandIn, cache: Path, office: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", RESTARTED, s.url, s.username, s.password, str(cache), office],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_restarted_kernel_breaks_down_with_no_call_and_no_parse(
    seed3_standin: StandIn, make_breakdown_client: Callable[..., vnb.VitecClient], tmp_path: Path
) -> None:
    s = seed3_standin
    office = s.customer_ids[0]
    cache = tmp_path / "shared.sqlite"
    client = make_breakdown_client(s, cache=cache)
    first = client.breakdown(
        vnb.ContactQuery(office), by=("agent",), start="2025-01-01", end="2026-01-01",
        progress=False,
    )  # fmt: skip
    assert first.calls > 0
    s.clear_requests()
    again = _restarted(s, cache, office)
    assert s.requests == []
    assert again == {"parsed": 0, "calls": 0, "counts": int(first.counts["contacts"].sum())}
    client.clear_cache()
    cleared = _restarted(s, cache, office)  # a cleared cache: every call and parse again
    assert cleared["calls"] == first.calls and cleared["parsed"] >= first.calls
    assert cleared["counts"] == again["counts"]


def _parsed_files(client: vnb.VitecClient) -> list[Path]:
    db = Path(client.session.cache.db_path)
    folder = db.with_name(db.name + ".parsed")
    return sorted(folder.glob("*.arrow")) if folder.is_dir() else []


def test_parsed_files_are_private_and_one_per_entry(
    standin: StandIn, make_client: Callable[..., vnb.VitecClient]
) -> None:
    client = make_client(standin)
    office = standin.customer_ids[0]
    client.contacts(customer_id=office, lead_score=5)
    client.contacts(customer_id=office, lead_score=4)
    files = _parsed_files(client)
    assert len(files) == 2
    assert {f.stat().st_mode & 0o777 for f in files} == {0o600}
    assert files[0].parent.stat().st_mode & 0o777 == 0o700
    assert {f.name.removesuffix(".arrow") for f in files} == set(
        client.session.cache.responses.keys()
    )


def test_a_changed_entry_is_read_and_parsed_again(
    standin: StandIn, make_client: Callable[..., vnb.VitecClient]
) -> None:
    client = make_client(standin)
    office = standin.customer_ids[0]
    five = client.contacts(customer_id=office, lead_score=5)
    four = client.contacts(customer_id=office, lead_score=4)
    assert len(five) != len(four)
    q5 = vnb.ContactQuery(office, lead_score=5)
    key5 = client._cache_key(q5.path, q5.to_params(), office, "json")
    with sqlite3.connect(client.session.cache.db_path) as con:  # another writer, same key
        con.execute(
            "UPDATE responses SET value = (SELECT value FROM responses WHERE key != ?) "
            "WHERE key = ?",
            (key5, key5),
        )
    standin.clear_requests()
    assert client.cached_answer(q5) is None
    changed = client.contacts(q5)
    assert standin.requests == []
    assert changed.attrs["from_cache"] is True
    pd.testing.assert_frame_equal(changed, four, check_like=True)


def test_an_expired_entry_is_never_answered_from_parsed_data(
    standin: StandIn, make_client: Callable[..., vnb.VitecClient], tmp_path: Path
) -> None:
    now = [time.time()]
    backend = VitecSQLiteCache(
        tmp_path / "clocked.sqlite", serializer=cache_mod.SERIALIZER, clock=lambda: now[0]
    )
    client = make_client(standin, cache=backend, expire_after=60)
    q = vnb.ContactQuery(standin.customer_ids[0], lead_score=3)
    client.contacts(q)
    assert client.cached_answer(q) is not None
    now[0] += 61  # the backend's clock: past the stored expiry
    assert client.cached_answer(q) is None
    assert not client.is_cached(q)


def test_a_refreshed_entry_replaces_its_parsed_copy(
    standin: StandIn, make_client: Callable[..., vnb.VitecClient], tmp_path: Path
) -> None:
    cache = tmp_path / "two.sqlite"
    first = make_client(standin, cache=cache)
    other = make_client(standin, cache=cache)  # another notebook on the same cache
    q = vnb.ContactQuery(standin.customer_ids[0], lead_score=2)
    old = first.contacts(q)
    new = other.contacts(q, refresh=True)
    assert new.attrs["fetched_at"] > old.attrs["fetched_at"]
    seen = first.cached_answer(q)
    assert seen is not None and seen.attrs["fetched_at"] == new.attrs["fetched_at"]
    assert first.contacts(q).attrs["fetched_at"] == new.attrs["fetched_at"]


def test_a_damaged_parsed_copy_is_dropped_and_the_cache_answers(
    standin: StandIn, make_client: Callable[..., vnb.VitecClient]
) -> None:
    client = make_client(standin)
    q = vnb.ContactQuery(standin.customer_ids[0], lead_score=1)
    first = client.contacts(q)
    (path,) = _parsed_files(client)
    path.write_bytes(b"not arrow at all")
    standin.clear_requests()
    again = client.contacts(q)
    assert standin.requests == []
    assert again.attrs["from_cache"] is True
    pd.testing.assert_frame_equal(again, first)
    assert client.cached_answer(q) is not None  # kept again, intact


def test_a_damaged_entry_is_not_hidden_by_its_parsed_copy(
    standin: StandIn, make_client: Callable[..., vnb.VitecClient]
) -> None:
    client = make_client(standin)
    q = vnb.ContactQuery(standin.customer_ids[0], lead_score=4)
    client.contacts(q)
    with sqlite3.connect(client.session.cache.db_path) as con:
        con.execute("UPDATE responses SET value = ?", (b'{"_content": 5}',))
    assert client.cached_answer(q) is None
    standin.clear_requests()
    with pytest.warns(RuntimeWarning, match="damaged"):
        client.contacts(q)
    assert len(standin.requests) == 1


def test_clearing_drops_the_parsed_copies(
    standin: StandIn, make_client: Callable[..., vnb.VitecClient]
) -> None:
    client = make_client(standin)
    q = vnb.ContactQuery(standin.customer_ids[0], lead_score=5)
    client.contacts(q)
    assert _parsed_files(client)
    client.clear_cache()
    assert _parsed_files(client) == []
    assert client.cached_answer(q) is None


@pytest.mark.redis
@pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")
def test_redis_keeps_parsed_copies_tied_to_the_entry(
    standin: StandIn, make_client: Callable[..., vnb.VitecClient], redis_url: str
) -> None:
    client = make_client(standin, cache=redis_url)
    q = vnb.ContactQuery(standin.customer_ids[0], lead_score=5)
    first = client.contacts(q)
    seen = client.cached_answer(q)
    assert seen is not None
    pd.testing.assert_frame_equal(seen, first)
    connection = client.session.cache.responses.connection
    key = client._cache_key(q.path, q.to_params(), q.customer_ids[0], "json")
    entry = client.session.cache.responses.bkey(key)
    connection.set(entry, connection.get(entry) + b" ")  # changed by someone else
    assert client.cached_answer(q) is None
    client.clear_cache()
    assert list(connection.scan_iter("vitec_nb_parsed:*")) == []
