"""A team cache on Redis: `connect(cache="redis://...")` shares answers between processes.

Runs against a throw-away Debian redis-server on loopback (fixture `redis_server`). Two
separate Python processes sharing one Redis database make each API call only once between
them, and the isolation guarantees of the SQLite cache hold here too: a second credential is
asked again, a wrong password is rejected by the server, the password is in no key or value,
and every stored response is JSON (pickle would run code from whoever can write to Redis).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

import vitec_nb as vnb
from tests.plugins.reliability import find_secrets, redis_dump, redis_responses, secret_forms

pytestmark = [
    pytest.mark.redis,
    # requests-cache 1.3 calls redis-py's setex, which redis-py 8 marks deprecated.
    pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning"),
]

# One process of the team: connect to the shared Redis cache, ask for some lead scores,
# print how many contacts each answer had and whether it came from the cache.
WORKER = """
import json, sys
import vitec_nb as vnb
url, user, password, cache, customer_id, scores = sys.argv[1:7]
client = vnb.connect(base_url=url, username=user, password=password, cache=cache)
out = {}
for score in scores.split(","):
    try:
        df = client.contacts(customer_id=customer_id, lead_score=int(score))
        out[score] = {"n": len(df), "from_cache": bool(df.attrs["from_cache"])}
    except vnb.VitecError as err:
        out[score] = {"error": type(err).__name__}
print(json.dumps(out))
"""

SECRET = "Team-lösen/ord+7=="
USER = "analyst.redis"


def run_worker(standin, cache: str, scores: str, user: str, password: str) -> dict:
    """Run one worker process to completion and return what it printed."""
    done = subprocess.run(
        [sys.executable, "-c", WORKER, standin.url, user, password, cache,
         standin.customer_ids[0], scores],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _lead_score_truth(standin, score: int) -> int:
    truth = standin.truth
    office = truth[truth["customer_id"] == standin.customer_ids[0]]
    return int((office["lead_score"] == score).sum())


def test_redis_url_uses_requests_cache_redis_backend(standin, redis_url) -> None:
    client = vnb.connect(
        base_url=standin.url, username=standin.username, password=standin.password,
        cache=redis_url,
    )  # fmt: skip
    from requests_cache.backends.redis import RedisCache

    assert isinstance(client.session.cache, RedisCache)


def test_two_processes_make_each_call_once_between_them(standin, redis_url) -> None:
    standin.clear_requests()
    # Scores 1-5: each one call (0 is answered by the planner from the other calls).
    first = run_worker(standin, redis_url, "1,2", standin.username, standin.password)
    second = run_worker(standin, redis_url, "1,2,3,4,5", standin.username, standin.password)

    calls = Counter(
        r.params.get("LeadScore") for r in standin.requests if r.path.startswith("/CRM/Contact/")
    )
    assert calls == Counter({str(s): 1 for s in range(1, 6)})
    assert all(not v["from_cache"] for v in first.values())
    assert [second[str(s)]["from_cache"] for s in range(1, 6)] == [True] * 2 + [False] * 3
    for s in range(1, 6):
        assert second[str(s)]["n"] == _lead_score_truth(standin, s)


def test_wrong_password_in_another_process_is_rejected_by_the_server(standin, redis_url) -> None:
    customer_id = standin.customer_ids[0]
    standin.add_account(USER, passwords={customer_id: SECRET})
    run_worker(standin, redis_url, "3", USER, SECRET)
    standin.clear_requests()
    wrong = run_worker(standin, redis_url, "3", USER, "guess")
    assert wrong == {"3": {"error": "AuthenticationError"}}
    assert [(r.username, r.status) for r in standin.requests] == [(USER, 401)]


def test_second_credential_is_asked_again_with_a_shared_redis_cache(standin, redis_url) -> None:
    customer_id = standin.customer_ids[0]
    standin.add_account(USER, passwords={customer_id: SECRET})
    run_worker(standin, redis_url, "4", USER, SECRET)
    standin.clear_requests()
    other = run_worker(standin, redis_url, "4", standin.username, standin.password)
    assert other["4"]["from_cache"] is False
    assert [(r.username, r.status) for r in standin.requests] == [(standin.username, 200)]


@pytest.fixture(scope="module")
def filled_redis(standin, redis_server) -> int:
    """Database 1 of the Redis after two processes used it: one with the right password
    (answers stored), one with a wrong one (rejected). Returns the database number."""
    db = 1
    redis_server.client(db).flushdb()
    customer_id = standin.customer_ids[0]
    standin.add_account(USER, passwords={customer_id: SECRET})
    url = redis_server.url(db)
    run_worker(standin, url, "1,5", USER, SECRET)
    rejected = run_worker(standin, url, "1", USER, "wrong-password")
    assert rejected == {"1": {"error": "AuthenticationError"}}
    return db


def test_redis_holds_no_password(redis_server, filled_redis) -> None:
    dump = redis_dump(redis_server, filled_redis)
    assert dump, "nothing was cached in Redis"
    assert find_secrets(dump, secret_forms(USER, SECRET)) == []
    assert find_secrets(dump, secret_forms(USER, "wrong-password")) == []


def test_redis_holds_only_json_200_answers(redis_server, filled_redis) -> None:
    from vitec_nb.cache import REDIS_SECRET_KEY
    from vitec_nb.parsed_store import REDIS_PREFIX

    # The credential-tag secret is the one plain value (random hex); the parsed copies
    # beside the answers are Arrow IPC streams (data only); the rest are answers.
    stored = redis_responses(redis_server, filled_redis)
    parsed = [(k, v) for k, v in stored if k.startswith(REDIS_PREFIX)]
    responses = [(k, v) for k, v in stored if k != REDIS_SECRET_KEY and (k, v) not in parsed]
    assert len(responses) == 2  # lead scores 1 and 5; the rejected call left nothing
    for key, data in responses:
        assert not data.startswith(b"\x80"), f"{key} is pickled"
        assert json.loads(data)["status_code"] == 200, key
    assert sorted(k.removeprefix(REDIS_PREFIX) for k, _ in parsed) == sorted(
        k.removeprefix("vitec_nb:") for k, _ in responses
    )
    import pyarrow.ipc

    for key, data in parsed:
        assert pyarrow.ipc.open_stream(data).read_all().num_rows >= 0, key


def test_unreachable_redis_cache_is_a_clear_error_at_connect(standin) -> None:
    from tests.plugins.reliability import free_port

    port = free_port()  # nothing listens there
    with pytest.raises(vnb.ConfigurationError) as info:
        vnb.connect(
            base_url=standin.url, username=standin.username, password=standin.password,
            cache=f"redis://:team-secret@127.0.0.1:{port}/0",
        )  # fmt: skip
    message = str(info.value)
    assert f"redis://127.0.0.1:{port}/0" in message and "cannot be reached" in message
    assert "team-secret" not in message


def test_redis_going_away_mid_session_is_a_clear_error(standin, private_redis) -> None:
    client = vnb.connect(
        base_url=standin.url, username=standin.username, password=standin.password,
        cache=private_redis.url(),
    )  # fmt: skip
    cid = standin.customer_ids[0]
    client.contacts(customer_id=cid, lead_score=2)
    private_redis.process.terminate()
    private_redis.process.wait(timeout=10)
    with pytest.raises(vnb.TransportError) as info:
        client.contacts(customer_id=cid, lead_score=3)
    assert private_redis.url() in str(info.value)
    assert "cache" in str(info.value)


def test_a_redis_unix_socket_is_described_as_one(standin, unix_redis) -> None:
    """`describe()` and `vitec-nb cache info` name the socket (was redis://None:None/0)."""
    from vitec_nb.cache import cache_description

    client = vnb.connect(
        base_url=standin.url, username=standin.username, password=standin.password,
        cache=f"unix://{unix_redis}",
    )  # fmt: skip
    client.contacts(customer_id=standin.customer_ids[0], lead_score=5)
    where = f"unix://{unix_redis}"
    assert client.describe().endswith(f"cache {where}")
    info = cache_description(client.session)
    assert info["location"] == where
    assert info["responses"] >= 1
    assert "None" not in client.describe()


def test_cache_info_names_a_redis_unix_socket(unix_redis, capsys) -> None:
    from vitec_nb.cli import main

    assert main(["cache", "info", "--cache", f"unix://{unix_redis}"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"unix://{unix_redis}: ")
    assert "None" not in out


def test_a_damaged_redis_entry_is_a_miss_fetched_again(standin, redis_server, redis_url) -> None:
    client = vnb.connect(
        base_url=standin.url, username=standin.username, password=standin.password,
        cache=redis_url,
    )  # fmt: skip
    office = standin.customer_ids[0]
    first = client.contacts(customer_id=office, lead_score=2)
    raw = redis_server.client()
    (key,) = [
        k
        for k in raw.scan_iter("vitec_nb:*")
        if raw.type(k) == b"string" and not k.endswith(b"credential_secret")
    ]
    raw.set(key, b'{"_content": 5}')
    standin.clear_requests()
    with pytest.warns(RuntimeWarning, match="damaged"):
        again = client.contacts(customer_id=office, lead_score=2)
    assert [r.path for r in standin.requests] == [f"/CRM/Contact/{office}"]
    assert again.attrs["from_cache"] is False
    assert list(again["id"]) == list(first["id"])
