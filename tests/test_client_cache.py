"""The answer cache: hits, refresh, offline, expiry, stale answers, credential isolation."""

from __future__ import annotations

import base64
import stat
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import vitec_nb as vnb
from tests.plugins.client import age_cache, cache_files
from vitec_nb.client import VitecClient
from vitec_nb.standin import StandIn


def contact_requests(s: StandIn) -> list[str]:
    return [r.path for r in s.requests if r.path.startswith("/CRM/Contact/")]


def same_fetch(cached: pd.Timestamp, fetched: pd.Timestamp) -> bool:
    """The cached answer's time is the original fetch (stored a moment before it returned)."""
    return pd.Timedelta(0) <= fetched - cached < pd.Timedelta(seconds=1)


def test_repeat_query_is_served_from_cache(standin: StandIn, client: VitecClient) -> None:
    office = standin.customer_ids[0]
    first = client.contacts(customer_id=office, lead_score=5)
    standin.clear_requests()
    again = client.contacts(customer_id=office, lead_score=5)
    assert standin.requests == []
    assert first.attrs["from_cache"] is False
    assert again.attrs["from_cache"] is True
    assert same_fetch(again.attrs["fetched_at"], first.attrs["fetched_at"])
    pd.testing.assert_frame_equal(first, again)


def test_refresh_fetches_again_and_replaces_the_entry(
    standin: StandIn, client: VitecClient
) -> None:
    office = standin.customer_ids[0]
    first = client.contacts(customer_id=office, lead_score=5)
    standin.clear_requests()
    fresh = client.contacts(customer_id=office, lead_score=5, refresh=True)
    assert contact_requests(standin) == [f"/CRM/Contact/{office}"]
    assert fresh.attrs["from_cache"] is False
    assert fresh.attrs["fetched_at"] > first.attrs["fetched_at"]
    standin.clear_requests()
    cached = client.contacts(customer_id=office, lead_score=5)
    assert standin.requests == []
    assert same_fetch(cached.attrs["fetched_at"], fresh.attrs["fetched_at"])


def test_offline_miss_raises_not_cached_without_a_request(
    standin: StandIn, client: VitecClient
) -> None:
    standin.clear_requests()
    with pytest.raises(vnb.NotCachedError, match=r"not in the cache \(offline mode\)"):
        client.contacts(customer_id=standin.customer_ids[0], lead_score=2, offline=True)
    assert standin.requests == []


def test_offline_hit_answers_from_the_cache(standin: StandIn, client: VitecClient) -> None:
    office = standin.customer_ids[0]
    online = client.contacts(customer_id=office, lead_score=2)
    standin.clear_requests()
    offline = client.contacts(customer_id=office, lead_score=2, offline=True)
    assert standin.requests == []
    assert offline.attrs["from_cache"] is True
    pd.testing.assert_frame_equal(online, offline)


def test_expired_answer_is_fetched_again(standin: StandIn, client: VitecClient) -> None:
    office = standin.customer_ids[0]
    client.contacts(customer_id=office, lead_score=1)
    assert age_cache(client) == 1
    assert not client.is_cached(vnb.ContactQuery(office, lead_score=1))
    standin.clear_requests()
    again = client.contacts(customer_id=office, lead_score=1)
    assert contact_requests(standin) == [f"/CRM/Contact/{office}"]
    assert again.attrs["from_cache"] is False
    assert again.attrs["stale"] is False


def test_expired_answer_is_served_stale_when_the_server_fails(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=3, contacts=400, offices=1)
    client = make_client(s, max_retries=0)
    office = s.customer_ids[0]
    first = client.contacts(customer_id=office)
    age_cache(client)
    s.set_faults(error_rate=1.0, error_status=500)
    s.clear_requests()
    stale = client.contacts(customer_id=office)
    assert contact_requests(s) == [f"/CRM/Contact/{office}"]  # it did ask the server first
    assert stale.attrs["stale"] is True
    assert stale.attrs["from_cache"] is True
    pd.testing.assert_frame_equal(stale, first)


def test_is_cached_sends_nothing_and_follows_the_cache(
    standin: StandIn, client: VitecClient
) -> None:
    q = vnb.ContactQuery(standin.customer_ids[0], lead_score=5)
    standin.clear_requests()
    assert client.is_cached(q) is False
    assert standin.requests == []
    client.contacts(q)
    standin.clear_requests()
    assert client.is_cached(q) is True
    assert client.is_cached(q, format="xml") is False
    assert client.is_cached(q.replace(lead_score=1)) is False
    assert standin.requests == []


def test_xml_request_is_not_served_the_cached_json(standin: StandIn, client: VitecClient) -> None:
    office = standin.customer_ids[0]
    client.contacts(customer_id=office, lead_score=3)
    standin.clear_requests()
    client.contacts(customer_id=office, lead_score=3, format="xml")
    assert len(standin.requests) == 1
    assert "xml" in (standin.requests[0].accept or "")


def test_wrong_password_is_not_served_the_cached_answer(
    standin: StandIn, make_client: Callable[..., VitecClient]
) -> None:
    office = standin.customer_ids[0]
    right = make_client(standin)
    right.contacts(customer_id=office, lead_score=4)
    wrong = make_client(standin, password="not-the-password")  # same cache file
    standin.clear_requests()
    with pytest.raises(vnb.AuthenticationError):
        wrong.contacts(customer_id=office, lead_score=4)
    assert contact_requests(standin) == [f"/CRM/Contact/{office}"]
    assert standin.requests[0].status == 401


def test_second_valid_credential_gets_its_own_entry(
    standin: StandIn, make_client: Callable[..., VitecClient]
) -> None:
    office = standin.customer_ids[0]
    user = f"second-{office}"
    standin.add_account(user, {office: "another-secret-9"})
    first = make_client(standin)
    first.contacts(customer_id=office, lead_score=4)
    second = make_client(standin, username=user, password="another-secret-9")
    standin.clear_requests()
    frame = second.contacts(customer_id=office, lead_score=4)
    assert frame.attrs["from_cache"] is False
    assert [r.username for r in standin.requests] == [user]


def test_password_is_in_no_byte_of_the_cache_files(
    standin: StandIn, make_client: Callable[..., VitecClient], tmp_path: Path
) -> None:
    office = standin.customer_ids[0]
    user, password = f"scan-{office}", "Hemligt-lösen-7319"
    standin.add_account(user, {office: password})
    folder = tmp_path / "scanned"
    client = make_client(standin, username=user, password=password, cache=folder / "c.sqlite")
    client.contacts(customer_id=office, lead_score=5)
    client.contacts(customer_id=office, lead_score=5, format="xml")
    client.agents(office)
    wrong = make_client(standin, username=user, password=password + "x", cache=folder / "c.sqlite")
    with pytest.raises(vnb.AuthenticationError):
        wrong.contacts(customer_id=office)
    files = cache_files(folder)
    names = {Path(name).name for name, _ in files}
    assert {"c.sqlite", "c.sqlite.secret"} <= names
    forms = [
        password.encode(),
        base64.b64encode(f"{user}:{password}".encode()),
        base64.b64encode(f"{user}:{password}x".encode()),
    ]
    leaks = [name for name, data in files for form in forms if form in data]
    assert leaks == []


def test_secret_file_is_private_to_the_user(standin: StandIn, client: VitecClient) -> None:
    client.contacts(customer_id=standin.customer_ids[0], lead_score=5)
    db = Path(client.session.cache.responses.db_path)
    secret = db.with_name(db.name + ".secret")
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_cache_is_stored_as_json_not_pickle(standin: StandIn, client: VitecClient) -> None:
    from tests.plugins.reliability import sqlite_responses

    client.contacts(customer_id=standin.customer_ids[0], lead_score=5)
    db = Path(client.session.cache.responses.db_path)
    stored = sqlite_responses(db.parent)
    assert stored
    for _key, value in stored:
        assert value.lstrip()[:1] == b"{"  # a JSON document; pickle starts with b"\x80"


def test_cache_keys_are_hex_with_a_credential_tag(standin: StandIn, client: VitecClient) -> None:
    client.contacts(customer_id=standin.customer_ids[0], lead_score=5)
    keys = list(client.session.cache.responses.keys())
    assert len(keys) == 1
    base, tag = keys[0].split("-")
    int(base, 16), int(tag, 16)  # hex only: safe in SQL text and Redis keys
    assert len(tag) == 32


def test_remembered_cache_keys_equal_freshly_computed_ones(
    standin: StandIn, client: VitecClient
) -> None:
    """The key memo (one URL normalisation per request, not two) never changes a key."""
    from requests_cache import create_key

    from vitec_nb.cache import load_secret, make_key_fn
    from vitec_nb.credentials import CredentialTagger

    tagger = CredentialTagger(load_secret(client.session.cache))
    remembered = make_key_fn(tagger)
    office = standin.customer_ids[0]
    requests_made = [
        client._prepare(f"CRM/Contact/{office}", params, office, accept)
        for params in ({}, {"LeadScore": "5"}, {"LeadScore": "4"})
        for accept in ("application/json", "application/xml")
    ]
    other = client._prepare(f"CRM/Contact/{office}", {}, office, "application/json")
    other.headers["Authorization"] = "Basic " + base64.b64encode(b"someone:else").decode()
    requests_made.append(other)
    for _ in range(2):  # the second round is answered from the memo
        keys = [remembered(request=r) for r in requests_made]
        expected = [
            f"{create_key(r, match_headers=['Accept'])}-"
            f"{tagger.tag_for_header(r.headers.get('Authorization'))}"
            for r in requests_made
        ]
        assert keys == expected
    assert len(set(keys)) == len(keys)


def test_clearing_the_cache_keeps_its_expiry_index(standin: StandIn, client: VitecClient) -> None:
    """The index behind the cheap "still cached?" check survives `client.clear_cache()`."""
    import sqlite3

    from vitec_nb.cache_sqlite import EXPIRY_INDEX

    office = standin.customer_ids[0]
    client.contacts(customer_id=office, lead_score=5)
    client.clear_cache()
    db = client.session.cache.db_path
    with sqlite3.connect(db) as con:
        names = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
    assert EXPIRY_INDEX in names
    standin.clear_requests()
    client.contacts(customer_id=office, lead_score=5)
    assert len(contact_requests(standin)) == 1  # cleared means fetched again
    assert client.is_cached(customer_id=office, lead_score=5)


def test_malformed_answer_is_never_cached(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=4, contacts=300, offices=1, malformed_rate=1.0)
    client = make_client(s)
    office = s.customer_ids[0]
    with pytest.raises(vnb.MalformedResponseError, match=office):
        client.contacts(customer_id=office)
    assert len(contact_requests(s)) == 5  # asked again up to the retry budget (4 retries)
    assert len(client.session.cache.responses) == 0


def test_truncated_answer_is_never_cached(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=5, contacts=300, offices=1, truncate_rate=1.0)
    client = make_client(s)
    with pytest.raises(vnb.MalformedResponseError):
        client.contacts(customer_id=s.customer_ids[0])
    assert len(client.session.cache.responses) == 0


def test_error_answers_are_never_cached(
    standin: StandIn, make_client: Callable[..., VitecClient]
) -> None:
    client = make_client(standin, password="wrong")
    with pytest.raises(vnb.AuthenticationError):
        client.contacts(customer_id=standin.customer_ids[0])
    assert len(client.session.cache.responses) == 0


def test_malformed_lookup_is_never_cached(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=4, contacts=300, offices=1, malformed_rate=1.0, lookups=True)
    client = make_client(s)
    for lookup in (client.agents, client.newsletter_lists, client.custom_fields):
        with pytest.raises(vnb.MalformedResponseError):
            lookup(s.customer_ids[0])
    assert len(s.requests) == 3 * 5  # each asked again up to the retry budget (4 retries)
    assert len(client.session.cache.responses) == 0


def test_offline_returns_an_expired_answer_marked_stale(
    standin: StandIn, client: VitecClient
) -> None:
    office = standin.customer_ids[0]
    client.contacts(customer_id=office, lead_score=5)
    age_cache(client)
    standin.clear_requests()
    frame = client.contacts(customer_id=office, lead_score=5, offline=True)
    assert standin.requests == []
    assert frame.attrs["stale"] is True
    assert frame.attrs["from_cache"] is True


def test_expired_answer_is_served_stale_when_the_server_is_down(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=3, contacts=400, offices=1)
    client = make_client(s, max_retries=0)
    office = s.customer_ids[0]
    first = client.contacts(customer_id=office, lead_score=3)
    age_cache(client)
    s.set_faults(down=True)
    stale = client.contacts(customer_id=office, lead_score=3)
    assert stale.attrs["stale"] is True
    pd.testing.assert_frame_equal(stale, first)


def test_refresh_while_the_server_fails_returns_the_cached_answer_marked_stale(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=3, contacts=400, offices=1)
    client = make_client(s, max_retries=0)
    office = s.customer_ids[0]
    client.contacts(customer_id=office)
    s.set_faults(error_rate=1.0, error_status=502)
    frame = client.contacts(customer_id=office, refresh=True)
    assert frame.attrs["stale"] is True
    assert frame.attrs["from_cache"] is True


def test_rejected_credential_gets_no_stale_answer(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=3, contacts=400, offices=1)
    office = s.customer_ids[0]
    s.add_account("revoked", {office: "old-password-1"})
    client = make_client(s, username="revoked", password="old-password-1")
    client.contacts(customer_id=office)
    age_cache(client)
    s.add_account("revoked", {office: "new-password-2"})  # the old password stops working
    with pytest.raises(vnb.AuthenticationError):
        client.contacts(customer_id=office)


def test_cleared_cache_is_noticed_by_a_repeat_query(standin: StandIn, client: VitecClient) -> None:
    office = standin.customer_ids[0]
    client.contacts(customer_id=office, lead_score=5)
    client.clear_cache()
    with pytest.raises(vnb.NotCachedError):
        client.contacts(customer_id=office, lead_score=5, offline=True)


def test_a_new_client_on_the_same_cache_is_served_without_a_request(
    standin: StandIn, make_client: Callable[..., VitecClient]
) -> None:
    office = standin.customer_ids[0]
    first = make_client(standin).contacts(customer_id=office, lead_score=5)
    standin.clear_requests()
    again = make_client(standin).contacts(customer_id=office, lead_score=5)
    assert standin.requests == []
    assert again.attrs["from_cache"] is True
    pd.testing.assert_frame_equal(first, again)


def test_changing_a_returned_frame_does_not_change_the_next_answer(
    standin: StandIn, client: VitecClient
) -> None:
    office = standin.customer_ids[0]
    first = client.contacts(customer_id=office, lead_score=5)
    expected = first.copy()
    first.loc[first.index[0], "id"] = "CHANGED"
    first.attrs["query"] = None
    again = client.contacts(customer_id=office, lead_score=5)
    pd.testing.assert_frame_equal(again, expected)
    assert again.attrs["query"] == vnb.ContactQuery(office, lead_score=5)


def test_cache_location_comes_from_vitec_nb_cache(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "from-env" / "team.sqlite"
    monkeypatch.setenv("VITEC_NB_CACHE", str(target))
    client = vnb.connect(standin.url, standin.username, standin.password)
    client.contacts(customer_id=standin.customer_ids[0], lead_score=5)
    assert Path(client.session.cache.responses.db_path) == target
    assert client.settings.sources["cache"] == "VITEC_NB_CACHE"
    assert target.with_name("team.sqlite.secret").exists()


def test_any_requests_cache_backend_object_works(
    standin: StandIn, make_client: Callable[..., VitecClient]
) -> None:
    from requests_cache.backends import BaseCache

    client = make_client(standin, cache=BaseCache())  # in memory: no memo, no secret file
    office = standin.customer_ids[0]
    client.contacts(customer_id=office, lead_score=5)
    standin.clear_requests()
    again = client.contacts(customer_id=office, lead_score=5)
    assert standin.requests == []
    assert again.attrs["from_cache"] is True
    assert client.is_cached(vnb.ContactQuery(office, lead_score=5))
