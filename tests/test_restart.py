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
    key5 = client.entry_key(q5)
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
    key = client.entry_key(q)
    entry = client.session.cache.responses.bkey(key)
    connection.set(entry, connection.get(entry) + b" ")  # changed by someone else
    assert client.cached_answer(q) is None
    client.clear_cache()
    assert list(connection.scan_iter("vitec_nb_parsed:*")) == []


# -- the kept join: a restarted kernel reads one record, never a wrong one ---------------------

# A restarted kernel that says what it read: parsed answers (the store's `get`), bodies
# parsed, joins run (each observed, not replaced), and writes its frames for comparison.
KEPT = """
import json, pickle, sys
import vitec_nb
from vitec_nb import parse, parsed_store
from vitec_nb.plan import execution
seen = {"read": 0, "parsed": 0, "joined": 0}
def observe(owner, name, what):
    real = getattr(owner, name)
    def observed(*args, **kwargs):
        seen[what] += 1
        return real(*args, **kwargs)
    setattr(owner, name, observed)
observe(parsed_store.SQLiteParsed, "get", "read")
observe(parsed_store.RedisParsed, "get", "read")
observe(parse, "parse_contacts", "parsed")
observe(execution, "_join", "joined")
url, user, password, cache, office, out = sys.argv[1:7]
client = vitec_nb.connect(url, username=user, password=password, cache=cache)
result = client.breakdown(vitec_nb.ContactQuery(office), by=("agent", "newsletter_list"),
                          start="2025-01-01", end="2026-01-01", progress=False)
with open(out, "wb") as handle:
    pickle.dump({"facts": result.facts, "counts": result.counts, "warnings": result.warnings,
                 "fetched_at": result.fetched_at, "conflicts": result.conflicts}, handle)
print(json.dumps(dict(seen, calls=result.calls, cached=result.cached_calls)))
"""


def _kept_run(s: StandIn, cache: Path | str, office: str, out: Path) -> tuple[dict, dict]:
    """(what a restarted kernel read and called, its facts and counts)."""
    done = subprocess.run(
        [sys.executable, "-c", KEPT, s.url, s.username, s.password, str(cache), office, str(out)],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), pd.read_pickle(out)


def _by_two(client: vnb.VitecClient, office: str, **run: object) -> vnb.BreakdownResult:
    return client.breakdown(
        vnb.ContactQuery(office), by=("agent", "newsletter_list"), start="2025-01-01",
        end="2026-01-01", progress=False, **run,
    )  # fmt: skip


def _same_frames(frames: dict, result: vnb.BreakdownResult, same_time: bool = True) -> None:
    """The restarted kernel's result is `result`'s (`same_time`: its fetch time too; an
    answer read again from the cache says when the cache stored it, a new one when it came)."""
    pd.testing.assert_frame_equal(frames["facts"], result.facts, check_exact=True)
    pd.testing.assert_frame_equal(frames["counts"], result.counts, check_exact=True)
    pd.testing.assert_frame_equal(frames["conflicts"], result.conflicts, check_exact=True)
    assert frames["warnings"] == result.warnings
    assert str(frames["fetched_at"].tz) == str(result.fetched_at.tz)
    if same_time:  # the oldest answer's
        assert frames["fetched_at"] == result.fetched_at


def _rewritten(cache: Path, key: str) -> None:
    """Another writer stores an entry's same bytes again (SQLite gives it a new version)."""
    with sqlite3.connect(cache) as con:
        con.execute("UPDATE responses SET value = value || '' WHERE key = ?", (key,))


def _kept_joins(cache: Path) -> list[Path]:
    return sorted(cache.with_name(cache.name + ".parsed").glob("*.join"))


def test_a_restarted_kernel_reads_one_kept_join_and_no_answer(
    seed3_standin: StandIn, make_breakdown_client: Callable[..., vnb.VitecClient], tmp_path: Path
) -> None:
    s = seed3_standin
    office = s.customer_ids[0]
    cache = tmp_path / "kept.sqlite"
    cold = _by_two(make_breakdown_client(s, cache=cache), office)
    assert cold.calls == cold.plan.n_calls > 1
    (record,) = _kept_joins(cache)
    assert record.stat().st_mode & 0o777 == 0o600
    s.clear_requests()
    seen, frames = _kept_run(s, cache, office, tmp_path / "out.pkl")
    assert s.requests == []  # no call, not even a lookup's
    assert seen == {"read": 0, "parsed": 0, "joined": 0, "calls": 0, "cached": cold.plan.n_calls}
    _same_frames(frames, cold)


def _restart_standin(s: StandIn, **kw: object) -> StandIn:
    """The stand-in `s` started again on the same port (the same cache keys), with `kw`."""
    port = s.port
    s.stop()
    return StandIn(seed=3, contacts=3000, offices=2, agents=8, port=port, **kw).start()


def test_changed_data_is_never_answered_from_a_kept_join(
    make_breakdown_client: Callable[..., vnb.VitecClient], tmp_path: Path
) -> None:
    s = StandIn(seed=3, contacts=3000, offices=2, agents=8).start()
    office = s.customer_ids[0]
    cache = tmp_path / "changed.sqlite"
    try:
        cold = _by_two(make_breakdown_client(s, cache=cache), office)
        placed = [{"customer_id": office, "created_at": "2025-06-15 12:00", "kind": "person"}]
        s = _restart_standin(s, extra_contacts=placed)  # the server's data changed
        seen, frames = _kept_run(s, cache, office, tmp_path / "a.pkl")
        assert seen["calls"] == 0  # the cache is fresh: its answers stand until refreshed
        _same_frames(frames, cold)
        refreshed = _by_two(make_breakdown_client(s, cache=cache), office, refresh=True)
        assert refreshed.calls == refreshed.plan.n_calls
        assert refreshed.counts["contacts"].sum() == cold.counts["contacts"].sum() + 1
        s.clear_requests()
        seen, frames = _kept_run(s, cache, office, tmp_path / "b.pkl")
        assert s.requests == [] and seen["read"] == 0 and seen["joined"] == 0
        _same_frames(frames, refreshed)  # the refreshed entries' join, not the old one
    finally:
        s.stop()


def test_an_entry_changed_by_another_writer_is_joined_again(
    seed3_standin: StandIn, make_breakdown_client: Callable[..., vnb.VitecClient], tmp_path: Path
) -> None:
    s = seed3_standin
    office = s.customer_ids[0]
    cache = tmp_path / "writer.sqlite"
    client = make_breakdown_client(s, cache=cache)
    cold = _by_two(client, office)
    base = cold.plan.calls[0].query
    key = client.entry_key(base)
    _rewritten(cache, key)  # the same bytes written again: a new version
    seen, frames = _kept_run(s, cache, office, tmp_path / "out.pkl")
    assert seen["joined"] == 1 and seen["calls"] == 0  # read again and joined, not recalled
    _same_frames(frames, cold, same_time=False)


@pytest.mark.parametrize("damage", ["truncated", "corrupted", "emptied"])
def test_a_damaged_kept_join_falls_back_to_the_answers(
    damage: str,
    seed3_standin: StandIn,
    make_breakdown_client: Callable[..., vnb.VitecClient],
    tmp_path: Path,
) -> None:
    s = seed3_standin
    office = s.customer_ids[0]
    cache = tmp_path / "damaged.sqlite"
    cold = _by_two(make_breakdown_client(s, cache=cache), office)
    (record,) = _kept_joins(cache)
    data = bytearray(record.read_bytes())
    if damage == "truncated":
        data = data[: len(data) - 100]
    elif damage == "corrupted":  # one byte of the facts changed: the digest finds it
        data[len(data) // 2] ^= 0xFF
    else:
        data = bytearray()
    record.write_bytes(bytes(data))
    s.clear_requests()
    seen, frames = _kept_run(s, cache, office, tmp_path / "out.pkl")
    assert s.requests == []
    assert seen["joined"] == 1 and seen["read"] == cold.plan.n_calls and seen["calls"] == 0
    _same_frames(frames, cold)
    assert _kept_joins(cache) and _kept_joins(cache)[0].read_bytes() != bytes(data)  # kept anew


@pytest.mark.parametrize("how", ["cli", "client"])
def test_a_cleared_cache_is_never_answered_from_a_kept_join(
    how: str,
    seed3_standin: StandIn,
    make_breakdown_client: Callable[..., vnb.VitecClient],
    tmp_path: Path,
) -> None:
    s = seed3_standin
    office = s.customer_ids[0]
    cache = tmp_path / "cleared.sqlite"
    client = make_breakdown_client(s, cache=cache)
    cold = _by_two(client, office)
    if how == "cli":
        from vitec_nb import cli

        assert cli.main(["cache", "clear", "--cache", str(cache)]) == 0
    else:
        client.clear_cache()
    s.clear_requests()
    seen, frames = _kept_run(s, cache, office, tmp_path / "out.pkl")
    contact_calls = [r for r in s.requests if r.path.startswith("/CRM/Contact/")]
    assert seen["calls"] == cold.plan.n_calls == len(contact_calls)
    assert seen["joined"] == 1 and seen["parsed"] >= cold.plan.n_calls
    _same_frames(frames, cold, same_time=False)  # fetched again


@pytest.mark.redis
@pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")
def test_redis_restarted_kernel_reads_the_kept_join_until_an_entry_changes(
    seed3_standin: StandIn,
    make_breakdown_client: Callable[..., vnb.VitecClient],
    redis_url: str,
    tmp_path: Path,
) -> None:
    s = seed3_standin
    office = s.customer_ids[0]
    client = make_breakdown_client(s, cache=redis_url)
    cold = _by_two(client, office)
    s.clear_requests()
    seen, frames = _kept_run(s, redis_url, office, tmp_path / "a.pkl")
    assert s.requests == []
    assert seen == {"read": 0, "parsed": 0, "joined": 0, "calls": 0, "cached": cold.plan.n_calls}
    _same_frames(frames, cold)
    base = cold.plan.calls[0].query
    key = client.entry_key(base)
    connection = client.session.cache.responses.connection
    entry = client.session.cache.responses.bkey(key)
    ttl = connection.pttl(entry)
    connection.psetex(entry, ttl, connection.get(entry) + b" ")  # changed by someone else
    seen, frames = _kept_run(s, redis_url, office, tmp_path / "b.pkl")
    assert seen["joined"] == 1 and seen["calls"] == 0
    _same_frames(frames, cold, same_time=False)


def test_pruning_drops_a_kept_join_only_when_an_entry_it_came_from_changed(
    seed3_standin: StandIn, make_breakdown_client: Callable[..., vnb.VitecClient], tmp_path: Path
) -> None:
    s = seed3_standin
    office = s.customer_ids[0]
    cache = tmp_path / "pruned.sqlite"
    client = make_breakdown_client(s, cache=cache)
    cold = _by_two(client, office)
    client.clear_cache(expired_only=True)
    assert len(_kept_joins(cache)) == 1  # every entry unchanged and fresh: kept
    base = cold.plan.calls[-1].query
    key = client.entry_key(base)
    _rewritten(cache, key)
    client.clear_cache(expired_only=True)
    assert _kept_joins(cache) == []
