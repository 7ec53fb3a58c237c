"""Credentials stay secret and apart: no password anywhere it could leak, no shared answers.

Passwords come from arguments, environment variables or the keyring. Whatever the source,
the client's repr, the log records (DEBUG), exception messages and every byte of the cache
(SQLite file with -wal/-shm) hold neither the password nor base64("user:password"). A second
credential asking the same question goes to the server and is rejected if wrong: it is never
served the first one's cached answer. The cache is JSON, never pickle.
"""

from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path

import pytest

import vitec_nb as vnb
from tests.plugins.reliability import (
    files_under,
    find_secrets,
    secret_forms,
    sqlite_responses,
)

# A password with characters that survive naive quoting differently in each encoding.
SECRET = "Hemligt-lösen+ord/42=="
USER = "analyst.isolation"


@pytest.fixture
def account(standin) -> tuple[str, str, str]:
    """A second account on the shared stand-in, allowed on the first office only."""
    customer_id = standin.customer_ids[0]
    standin.add_account(USER, passwords={customer_id: SECRET})
    return USER, SECRET, customer_id


def demo_account_client(standin, cache: Path) -> vnb.VitecClient:
    """A client of the stand-in's demo account, caching in `cache`/http.sqlite."""
    return vnb.connect(
        base_url=standin.url,
        username=standin.username,
        password=standin.password,
        cache=str(cache / "http.sqlite"),
    )


def _office_truth(standin, customer_id: str, **filters: int) -> set[str]:
    truth = standin.truth
    rows = truth[truth["customer_id"] == customer_id]
    for name, value in filters.items():
        rows = rows[rows[name] == value]
    return set(rows["id"].astype(str))


def _leaks(forms: list[bytes], *, client=None, caplog=None, errors=(), folder=None) -> list[str]:
    blobs: list[tuple[str, bytes]] = []
    if client is not None:
        blobs += [("repr(client)", repr(client).encode()), ("str(client)", str(client).encode())]
        blobs += [("describe()", client.describe().encode())]
        blobs += [("repr(settings)", repr(client.settings).encode())]
        blobs += [("repr(credentials)", repr(client.credentials).encode())]
    if caplog is not None:
        for i, record in enumerate(caplog.records):
            text = record.getMessage() + repr(record.args) + repr(record.__dict__)
            blobs.append((f"log record {i}: {record.name}", text.encode()))
    for i, err in enumerate(errors):
        text = "".join(traceback.format_exception(err)) + repr(err) + repr(err.args)
        text += repr(vars(err))
        blobs.append((f"error {i}: {type(err).__name__}", text.encode()))
    if folder is not None:
        blobs += files_under(folder)
    return find_secrets(blobs, forms)


def _exercise(client, customer_id: str) -> list[BaseException]:
    """A success, a repeat from the cache and an error, to give every leak path a chance."""
    client.contacts(customer_id=customer_id, lead_score=3)
    client.contacts(customer_id=customer_id, lead_score=3)
    errors: list[BaseException] = []
    try:
        client.contacts(customer_id="M99999")  # an office this account may not read
    except vnb.VitecError as err:
        errors.append(err)
    return errors


def test_password_from_arguments_never_leaks(standin, account, tmp_path, caplog) -> None:
    user, password, customer_id = account
    caplog.set_level(logging.DEBUG)
    cache = tmp_path / "cache"
    cache.mkdir()
    client = vnb.connect(
        base_url=standin.url,
        username=user,
        password=password,
        cache=str(cache / "http.sqlite"),
    )
    errors = _exercise(client, customer_id)
    assert errors, "the request for a foreign office should have failed"
    wrong = vnb.connect(
        base_url=standin.url,
        username=user,
        password="Fel-lösen/ord",
        cache=str(cache / "http.sqlite"),
    )
    with pytest.raises(vnb.AuthenticationError) as rejected:
        wrong.contacts(customer_id=customer_id, lead_score=3)
    errors.append(rejected.value)
    assert caplog.records, "DEBUG logging captured nothing: the scan would prove nothing"
    forms = secret_forms(user, password) + secret_forms(user, "Fel-lösen/ord")
    leaks = _leaks(forms, client=client, caplog=caplog, errors=errors, folder=cache)
    leaks += _leaks(forms, client=wrong)
    assert leaks == []


def test_password_from_environment_never_leaks(
    standin, account, tmp_path, caplog, clean_vitec_env
) -> None:
    user, password, customer_id = account
    caplog.set_level(logging.DEBUG)
    cache = tmp_path / "cache"
    cache.mkdir()
    clean_vitec_env.setenv("VITEC_BASE_URL", standin.url)
    clean_vitec_env.setenv("VITEC_USERNAME", user)
    clean_vitec_env.setenv(f"VITEC_PASSWORD_{customer_id}", password)
    clean_vitec_env.setenv("VITEC_NB_CACHE", str(cache / "http.sqlite"))
    standin.clear_requests()
    client = vnb.connect()
    assert not client.is_demo
    errors = _exercise(client, customer_id)
    assert any(r.username == user for r in standin.requests)
    forms = secret_forms(user, password)
    assert _leaks(forms, client=client, caplog=caplog, errors=errors, folder=cache) == []


def test_password_from_keyring_never_leaks(
    standin, account, tmp_path, caplog, clean_vitec_env, memory_keyring
) -> None:
    from vitec_nb.credentials import KEYRING_SERVICE

    user, password, customer_id = account
    caplog.set_level(logging.DEBUG)
    cache = tmp_path / "cache"
    cache.mkdir()
    memory_keyring.set_password(KEYRING_SERVICE, f"{user}@{customer_id}", password)
    standin.clear_requests()
    client = vnb.connect(
        base_url=standin.url,
        username=user,
        customer_ids=[customer_id],
        cache=str(cache / "http.sqlite"),
    )
    errors = _exercise(client, customer_id)
    assert any(r.username == user and r.status == 200 for r in standin.requests)
    forms = secret_forms(user, password)
    assert _leaks(forms, client=client, caplog=caplog, errors=errors, folder=cache) == []


def test_wrong_password_is_sent_and_rejected_not_served_from_cache(
    standin, account, tmp_path
) -> None:
    user, password, customer_id = account
    cache = str(tmp_path / "shared.sqlite")
    right = vnb.connect(base_url=standin.url, username=user, password=password, cache=cache)
    frame = right.contacts(customer_id=customer_id, lead_score=2)
    assert set(frame["id"].astype(str)) == _office_truth(standin, customer_id, lead_score=2)

    wrong = vnb.connect(base_url=standin.url, username=user, password="not-it", cache=cache)
    standin.clear_requests()
    with pytest.raises(vnb.AuthenticationError):
        wrong.contacts(customer_id=customer_id, lead_score=2)
    assert [r.status for r in standin.requests] == [401]


def test_second_credential_is_asked_again_not_served_the_first_ones_answer(
    standin, account, tmp_path
) -> None:
    user, password, customer_id = account
    cache = str(tmp_path / "shared.sqlite")
    first = vnb.connect(base_url=standin.url, username=user, password=password, cache=cache)
    first.contacts(customer_id=customer_id, lead_score=1)
    second = vnb.connect(
        base_url=standin.url, username=standin.username, password=standin.password, cache=cache
    )
    standin.clear_requests()
    frame = second.contacts(customer_id=customer_id, lead_score=1)
    assert [(r.username, r.status) for r in standin.requests] == [(standin.username, 200)]
    assert frame.attrs["from_cache"] is False
    # ... and the first credential still finds its own entry.
    standin.clear_requests()
    again = first.contacts(customer_id=customer_id, lead_score=1)
    assert list(standin.requests) == []
    assert again.attrs["from_cache"] is True


def test_cache_is_stored_as_json_not_pickle(standin, tmp_path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    client = demo_account_client(standin, cache)
    client.contacts(customer_id=standin.customer_ids[0], lead_score=4)
    client.agents(standin.customer_ids[0])
    rows = sqlite_responses(cache)
    assert rows, "nothing was cached"
    for key, data in rows:
        assert not data.startswith(b"\x80"), f"{key} is pickled"
        json.loads(data)  # raises if not JSON


def test_cache_files_do_not_hold_the_demo_password(standin, tmp_path: Path) -> None:
    """The stand-in's demo account too: its password must not reach the cache."""
    cache = tmp_path / "cache"
    cache.mkdir()
    client = demo_account_client(standin, cache)
    for score in range(3):
        client.contacts(customer_id=standin.customer_ids[0], lead_score=score)
    forms = secret_forms(standin.username, standin.password)
    assert find_secrets(files_under(cache), forms) == []


def test_scan_finds_a_planted_authorization_header(tmp_path: Path) -> None:
    """Control for the scans above: a leaked Basic header in a SQLite WAL file is found."""
    import base64
    import sqlite3

    con = sqlite3.connect(tmp_path / "planted.sqlite")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t (v TEXT)")
    header = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
    con.execute("INSERT INTO t VALUES (?)", (header,))
    con.commit()
    leaks = find_secrets(files_under(tmp_path), secret_forms(USER, SECRET))
    con.close()
    assert leaks


@pytest.mark.notebook
def test_executed_notebook_outputs_hold_no_password(
    standin, account, tmp_path, clean_vitec_env
) -> None:
    """The shipped explorer notebook plus an analyst's scratch cells (the client's repr, a
    query, a rejected password), executed by a real kernel: no output, widget state or
    traceback holds the password or the Basic header."""
    import nbformat
    from nbclient import NotebookClient

    from vitec_nb.report import EXPLORER_NOTEBOOK

    user, password, customer_id = account
    clean_vitec_env.setenv("VITEC_BASE_URL", standin.url)
    clean_vitec_env.setenv("VITEC_USERNAME", user)
    clean_vitec_env.setenv("VITEC_PASSWORD", password)
    clean_vitec_env.setenv("VITEC_CUSTOMER_IDS", customer_id)
    clean_vitec_env.setenv("VITEC_NB_CACHE", str(tmp_path / "http_cache.sqlite"))
    nb = nbformat.read(EXPLORER_NOTEBOOK, as_version=4)
    scratch = [
        "client",
        "print(repr(client), client.describe())",
        f"client.contacts(customer_id={customer_id!r}, lead_score=4).attrs",
        "import os\nwrong = vnb.connect(password=os.environ['VITEC_PASSWORD'][::-1])\nwrong",
        f"wrong.contacts(customer_id={customer_id!r}, lead_score=4)",
    ]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in scratch]
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    errors = [
        out.get("ename")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert errors == ["AuthenticationError"]  # only the deliberately wrong password failed
    text = nbformat.writes(nb).encode()
    forms = secret_forms(user, password) + secret_forms(user, password[::-1])
    assert find_secrets([("executed notebook", text)], forms) == []
    assert find_secrets(files_under(tmp_path), forms) == []


def test_credential_tag_secret_is_readable_by_its_owner_only(standin, tmp_path: Path) -> None:
    import stat

    cache = tmp_path / "cache"
    client = demo_account_client(standin, cache)
    client.contacts(customer_id=standin.customer_ids[0], lead_score=5)
    secrets = [p for p in cache.iterdir() if p.name.endswith(".secret")]
    assert len(secrets) == 1
    assert stat.S_IMODE(secrets[0].stat().st_mode) == 0o600


def test_cache_files_are_created_private_to_their_owner(standin, tmp_path: Path) -> None:
    """The SQLite file and its -wal and -shm hold contact lists: mode 0600, like the secret."""
    import stat

    cache = tmp_path / "cache"
    client = demo_account_client(standin, cache)
    client.contacts(customer_id=standin.customer_ids[0], lead_score=5)
    modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in cache.iterdir()}
    assert {"http.sqlite", "http.sqlite-wal", "http.sqlite-shm"} <= set(modes)
    folders = {p.name for p in cache.iterdir() if p.is_dir()}
    assert folders == {"http.sqlite.parsed"}  # the parsed copies: a private folder
    assert modes.pop("http.sqlite.parsed") == "0o700"
    parsed = list((cache / "http.sqlite.parsed").iterdir())
    modes.update({p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in parsed})
    assert parsed and set(modes.values()) == {"0o600"}, modes
