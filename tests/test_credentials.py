"""Where credentials come from (arguments, environment, keyring), demo mode, and masking."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import vitec_nb as vnb
from vitec_nb.client import DEMO_BANNER, VitecClient
from vitec_nb.credentials import Credentials, CredentialTagger, credential_tag
from vitec_nb.settings import DEFAULT_BASE_URL, Settings
from vitec_nb.standin import StandIn


def test_arguments_win_over_environment(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VITEC_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("VITEC_USERNAME", "someone-else")
    monkeypatch.setenv("VITEC_PASSWORD", "not-this")
    client = vnb.connect(standin.url, standin.username, standin.password, cache=tmp_path / "c")
    assert client.base_url == standin.url
    assert client.credentials.username == standin.username
    assert client.settings.sources["password"] == "argument"
    assert len(client.contacts(customer_id=standin.customer_ids[0], lead_score=5)) > 0


def test_credentials_from_environment(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VITEC_BASE_URL", standin.url)
    monkeypatch.setenv("VITEC_USERNAME", standin.username)
    monkeypatch.setenv("VITEC_PASSWORD", standin.password)
    client = vnb.connect()
    assert not client.is_demo
    assert client.settings.sources["username"] == "VITEC_USERNAME"
    frame = client.contacts(customer_id=standin.customer_ids[0], lead_score=5)
    assert frame.attrs["demo"] is False
    assert standin.requests[-1].username == standin.username


def test_per_office_passwords_from_environment_list_the_offices(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = standin.customer_ids[:2]
    monkeypatch.setenv("VITEC_BASE_URL", standin.url)
    monkeypatch.setenv("VITEC_USERNAME", standin.username)
    monkeypatch.setenv(f"VITEC_PASSWORD_{first}", standin.password)
    monkeypatch.setenv(f"VITEC_PASSWORD_{second}", standin.password)
    client = vnb.connect()
    assert client.customer_ids == (first, second)
    frame = client.contacts(customer_id=[first, second], lead_score=5)
    assert set(frame["customer_id"].astype(str)) == {first, second}


def test_credentials_from_keyring(standin: StandIn, isolated_environment: Any) -> None:
    import keyring

    keyring.set_password("vitec_nb", "username", standin.username)
    keyring.set_password("vitec_nb", standin.username, standin.password)
    client = vnb.connect(standin.url)
    assert not client.is_demo
    assert client.settings.sources["password"] == "keyring"
    assert len(client.contacts(customer_id=standin.customer_ids[0], lead_score=5)) > 0


def test_per_office_password_from_keyring(standin: StandIn, isolated_environment: Any) -> None:
    import keyring

    office = standin.customer_ids[0]
    keyring.set_password("vitec_nb", f"{standin.username}@{office}", standin.password)
    client = vnb.connect(standin.url, standin.username, customer_ids=[office])
    assert client.customer_ids == (office,)
    assert client.settings.sources[f"passwords[{office}]"] == "keyring"
    assert len(client.contacts(customer_id=office, lead_score=5)) > 0


def test_nothing_configured_means_demo_mode() -> None:
    client = vnb.connect()
    assert client.is_demo
    assert DEMO_BANNER in repr(client)
    assert client.describe().startswith("DEMO DATA from the built-in stand-in")
    assert len(client.customer_ids) >= 2
    frame = client.contacts(customer_id=client.customer_ids[0], lead_score=5)
    assert frame.attrs["demo"] is True
    assert frame.attrs["source"] == client.base_url
    assert client.base_url.startswith("http://127.0.0.1:")
    assert client.agents(client.customer_ids[0]).attrs["demo"] is True


def test_demo_stand_in_is_started_once_per_process() -> None:
    first, second = vnb.connect(), vnb.connect()
    assert first.base_url == second.base_url
    assert first.standin is second.standin


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"VITEC_USERNAME": "anna"}, "no password"),
        ({"VITEC_PASSWORD": "secret-1"}, "no user name"),
        ({"VITEC_PASSWORD_M30011": "secret-1"}, "no user name"),
        ({"VITEC_BASE_URL": "https://connect-qa.maklare.vitec.net"}, "VITEC_BASE_URL"),
        (
            {"VITEC_USERNAME": "anna", "VITEC_PASSWORD_M30011": "s",
             "VITEC_CUSTOMER_IDS": "M30011,M30012"},
            "M30012",
        ),
    ],
    ids=["user_only", "password_only", "office_password_only", "url_only", "office_missing"],
)  # fmt: skip
def test_partial_configuration_is_an_error_not_demo_mode(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], needle: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(vnb.ConfigurationError, match=needle) as info:
        vnb.connect()
    assert "secret-1" not in str(info.value)


def test_username_without_password_says_where_a_password_may_come_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VITEC_USERNAME", "anna")
    with pytest.raises(vnb.ConfigurationError) as info:
        vnb.connect()
    text = str(info.value)
    for where in ("password=", "VITEC_PASSWORD", "VITEC_PASSWORD_<CUSTOMERID>", "keyring"):
        assert where in text


def test_demo_false_refuses_demo_mode() -> None:
    with pytest.raises(vnb.ConfigurationError, match="no credentials"):
        vnb.connect(demo=False)


def test_default_base_url_is_the_live_vitec_address() -> None:
    settings = Settings.resolve(username="anna", password="pw", environ={})
    assert settings.base_url == DEFAULT_BASE_URL == "https://connect.maklare.vitec.net"


def test_settings_and_client_repr_mask_every_password(
    standin: StandIn, make_client: Callable[..., VitecClient]
) -> None:
    office = standin.customer_ids[0]
    settings = Settings.resolve(
        username="anna", password="Lösen-123", passwords={office: "Kontor-456"}, environ={}
    )
    text = repr(settings) + str(settings.credentials)
    assert "password=***" in text
    assert "Lösen-123" not in text and "Kontor-456" not in text
    client = make_client(standin)
    assert standin.password not in repr(client) + client.describe() + repr(client.settings)


def test_bad_settings_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(vnb.ConfigurationError, match="expire_after"):
        vnb.connect(username="a", password="b", expire_after=-5, cache=tmp_path / "c")
    with pytest.raises(vnb.ConfigurationError, match="timeout"):
        vnb.connect(username="a", password="b", timeout=0, cache=tmp_path / "c")
    with pytest.raises(vnb.ConfigurationError, match="passwords"):
        vnb.connect(username="a", passwords={"not-an-office": "x"}, cache=tmp_path / "c")


def test_credential_tag_is_stable_keyed_and_not_the_password() -> None:
    secret, other_secret = b"s" * 32, b"t" * 32
    tag = credential_tag("anna", "pw-1", secret)
    assert tag == credential_tag("anna", "pw-1", secret)
    assert tag != credential_tag("anna", "pw-2", secret)
    assert tag != credential_tag("bertil", "pw-1", secret)
    assert tag != credential_tag("anna", "pw-1", other_secret)
    assert all(c in "0123456789abcdef" for c in tag)
    assert b"pw-1".hex() not in tag


def test_credentials_for_an_office_prefer_its_own_password() -> None:
    creds = Credentials("anna", password="every", passwords={"M30011": "own"})
    assert creds.auth_for("M30011") == ("anna", "own")
    assert creds.auth_for("M30012") == ("anna", "every")


def test_password_outside_latin_1_is_sent_as_utf_8(
    standin: StandIn, make_client: Callable[..., VitecClient]
) -> None:
    office = standin.customer_ids[0]
    standin.add_account("euro-user", {office: "pris-100€-ok"})
    client = make_client(standin, username="euro-user", password="pris-100€-ok")
    frame = client.contacts(customer_id=office, lead_score=5)
    assert standin.requests[-1].username == "euro-user"
    assert standin.requests[-1].status == 200
    assert len(frame) > 0


def test_docs_name_every_environment_variable_settings_reads() -> None:
    import re

    root = Path(__file__).resolve().parents[1]
    source = (root / "vitec_nb" / "settings.py").read_text()
    names = set(re.findall(r'"(VITEC_[A-Z_]+)"', source))
    docs = (root / "docs" / "credentials.md").read_text()
    assert names, "settings.py reads no VITEC_ variable?"
    assert sorted(n for n in names if n.rstrip("_") not in docs) == []


# -- Vitec's token: base64 of user:password --------------------------------------------------


def token_of(user: str, password: str, codec: str = "utf-8") -> str:
    return base64.b64encode(f"{user}:{password}".encode(codec)).decode("ascii")


def test_a_token_argument_authenticates_like_user_and_password(
    standin: StandIn, tmp_path: Path
) -> None:
    client = vnb.connect(
        standin.url, token=token_of(standin.username, standin.password), cache=tmp_path / "c"
    )
    assert client.credentials.username == standin.username
    assert client.settings.sources["password"] == "token"
    frame = client.contacts(customer_id=standin.customer_ids[0], lead_score=5)
    assert standin.requests[-1].username == standin.username
    assert standin.requests[-1].status == 200 and len(frame) > 0


def test_tokens_from_the_environment_and_per_office(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = standin.customer_ids[:2]
    monkeypatch.setenv("VITEC_BASE_URL", standin.url)
    monkeypatch.setenv(f"VITEC_TOKEN_{first.lower()}", token_of(standin.username, standin.password))
    monkeypatch.setenv(f"VITEC_TOKEN_{second}", token_of(standin.username, standin.password))
    client = vnb.connect()
    assert client.customer_ids == (first, second)
    assert client.settings.sources[f"passwords[{first}]"] == f"VITEC_TOKEN_{first.lower()}"
    frame = client.contacts(customer_id=[first, second], lead_score=5)
    assert set(frame["customer_id"].astype(str)) == {first, second}


def test_a_token_from_the_keyring(standin: StandIn, isolated_environment: Any) -> None:
    import keyring

    keyring.set_password("vitec_nb", "token", token_of(standin.username, standin.password))
    client = vnb.connect(standin.url)
    assert client.settings.sources["password"] == "keyring entry 'token'"
    assert len(client.contacts(customer_id=standin.customer_ids[0], lead_score=5)) > 0


def test_a_token_and_the_same_user_and_password_share_cached_answers(
    standin: StandIn, tmp_path: Path
) -> None:
    office = standin.customer_ids[0]
    cache = tmp_path / "shared.sqlite"
    by_password = vnb.connect(standin.url, standin.username, standin.password, cache=cache)
    first = by_password.contacts(customer_id=office, lead_score=4)
    by_password.close()
    standin.clear_requests()
    by_token = vnb.connect(
        standin.url, token=token_of(standin.username, standin.password), cache=cache
    )
    again = by_token.contacts(customer_id=office, lead_score=4, offline=True)
    assert standin.requests == []
    assert again.attrs["from_cache"] is True
    pd.testing.assert_frame_equal(first, again)


def test_a_latin_1_token_is_sent_byte_for_byte(standin: StandIn, tmp_path: Path) -> None:
    office = standin.customer_ids[0]
    standin.add_account("åsa", {office: "lösen-ö"})
    token = token_of("åsa", "lösen-ö", "latin-1")
    client = vnb.connect(standin.url, token=token, cache=tmp_path / "c")
    assert client.credentials.basic_auth_for(office) == (
        "åsa".encode("latin-1"),
        "lösen-ö".encode("latin-1"),
    )
    client.contacts(customer_id=office, lead_score=5)
    assert (standin.requests[-1].username, standin.requests[-1].status) == ("åsa", 200)


@pytest.mark.parametrize(
    ("token", "needle"),
    [
        ("not base64 at all!", "not base64"),
        (base64.b64encode(b"no-colon-here").decode(), "does not decode to user:password"),
        (base64.b64encode(b":only-a-password").decode(), "does not decode to user:password"),
        (base64.b64encode(b"user:").decode(), "does not decode to user:password"),
        (base64.b64encode(b"user:pass\nword").decode(), "does not decode to user:password"),
        ("", "not base64"),
    ],
)
def test_a_bad_token_is_refused_without_repeating_it(token: str, needle: str) -> None:
    with pytest.raises(vnb.ConfigurationError, match=needle) as info:
        Settings.resolve(token=token or " ", environ={})
    assert "token" in str(info.value)
    if token:
        assert token not in str(info.value)


def test_a_bad_token_in_the_environment_names_the_variable() -> None:
    with pytest.raises(vnb.ConfigurationError, match="VITEC_TOKEN_M30011: the token") as info:
        Settings.resolve(environ={"VITEC_TOKEN_M30011": "c2VjcmV0LW9ubHk="})
    assert "c2VjcmV0LW9ubHk=" not in str(info.value)


def test_a_token_never_shows_in_repr_str_or_sources(standin: StandIn, tmp_path: Path) -> None:
    token = token_of(standin.username, standin.password)
    client = vnb.connect(standin.url, token=token, cache=tmp_path / "c")
    shown = repr(client) + client.describe() + repr(client.settings) + str(client.credentials)
    shown += repr(dict(client.settings.sources))
    assert token not in shown and standin.password not in shown


def test_a_token_for_another_user_than_the_user_name_is_refused() -> None:
    with pytest.raises(vnb.ConfigurationError, match=r"token is for user 'bertil'.*'anna'"):
        Settings.resolve(username="anna", token=token_of("bertil", "pw"), environ={})


@pytest.mark.parametrize(
    ("kwargs", "env"),
    [
        ({"password": "pw", "token": token_of("anna", "pw")}, {}),
        ({}, {"VITEC_PASSWORD": "pw", "VITEC_TOKEN": token_of("anna", "pw")}),
        ({}, {"VITEC_PASSWORD_M30011": "pw", "VITEC_TOKEN_M30011": token_of("anna", "pw")}),
    ],
    ids=["arguments", "environment", "one office"],
)
def test_a_token_and_a_password_for_the_same_scope_are_refused(
    kwargs: dict[str, str], env: dict[str, str]
) -> None:
    with pytest.raises(vnb.ConfigurationError, match=r"both .* are set") as info:
        Settings.resolve(username="anna", environ=env, **kwargs)
    assert "pw" not in str(info.value).replace("password", "")


def test_the_tag_of_a_token_header_is_the_tag_of_the_same_user_and_password() -> None:
    secret = b"k" * 32
    tagger = CredentialTagger(secret)
    for user, password in (("anna", "pw-1"), ("åsa", "lösen-€")):
        header = f"Basic {token_of(user, password)}"
        assert tagger.tag_for_header(header) == credential_tag(user, password, secret)


# -- strict options: every connect() / Settings option checked before anything is sent ----


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"demo": "yes"}, "demo: 'yes'"),
        ({"demo": 1}, "demo: 1"),
        ({"demo": True, "username": "anna", "password": "pw"}, "demo=True .*password, username"),
        ({"demo": True, "base_url": "https://x.example"}, "demo=True .*base_url"),
        ({"timeout": float("nan")}, "timeout: nan is not a finite number"),
        ({"timeout": float("inf")}, "timeout: inf is not a finite number"),
        ({"timeout": (5, float("nan"))}, "timeout"),
        ({"timeout": "10"}, "timeout: '10' .*not a number"),
        ({"expire_after": float("nan")}, "expire_after"),
        ({"expire_after": 10**12}, "expire_after"),
        ({"max_retries": 2.0}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"backoff_factor": float("inf")}, "backoff_factor"),
        ({"max_retry_after": -1}, "max_retry_after"),
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": 10**6}, "concurrency"),
        ({"cache": 5}, "cache: 5"),
        ({"cache": True}, "cache: True"),
        ({"customer_ids": 30011}, "customer_ids"),
        ({"customer_ids": []}, "customer_ids: the list is empty"),
        ({"customer_ids": ["M30011", "x"]}, "customer_ids: 'x'"),
    ],
)
def test_bad_options_are_refused_naming_the_option(kwargs: dict[str, Any], needle: str) -> None:
    base = {} if kwargs.get("demo") is True else {"username": "anna", "password": "pw-77"}
    with pytest.raises(vnb.ConfigurationError, match=needle) as info:
        Settings.resolve(**{**base, **kwargs}, environ={})
    assert "pw-77" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("not a url", "space or control"),
        ("ftp://connect.maklare.vitec.net", "not allowed"),
        ("https://", "not allowed"),
        ("connect.maklare.vitec.net", "not allowed"),
        ("https://anna:Hemligt-1@connect.maklare.vitec.net", "user name or password"),
        ("https://anna@connect.maklare.vitec.net", "user name or password"),
        ("https://connect.maklare.vitec.net/?token=Hemligt-1", "query string or fragment"),
        ("https://connect.maklare.vitec.net/#Hemligt-1", "query string or fragment"),
        ("https://connect.maklare.vitec.net:99999", "not allowed"),
        ("https://connect.maklare.vitec.net/../x", "'..'"),
        ("https://connect.maklare\x00.vitec.net", "control"),
        (5, "must be text"),
    ],
)
def test_a_bad_base_url_is_refused_without_repeating_its_secret_part(
    url: Any, needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(vnb.ConfigurationError, match=needle) as info:
        vnb.connect(url, "anna", "pw")
    assert str(info.value).startswith("base_url:")
    assert "Hemligt-1" not in str(info.value)
    if isinstance(url, str) and url.isprintable():
        monkeypatch.setenv("VITEC_BASE_URL", url)
        with pytest.raises(vnb.ConfigurationError, match="VITEC_BASE_URL") as info:
            vnb.connect(username="anna", password="pw")
        assert "Hemligt-1" not in str(info.value)


def test_a_base_url_with_a_path_and_a_final_slash_is_kept_without_the_slash() -> None:
    settings = Settings.resolve("https://proxy.example:8443/vitec/", "anna", "pw", environ={})
    assert settings.base_url == "https://proxy.example:8443/vitec"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"passwords": ["pw"]}, "passwords: must be a mapping of office -> password"),
        ({"passwords": "M30011=pw"}, "passwords: must be a mapping"),
        ({"passwords": {"M30011": 1234}}, r"passwords\[M30011\]: a password must be text"),
        ({"passwords": {"M30011": None}}, "passwords: the password for M30011 is empty"),
        ({"passwords": {"M30011": ""}}, "passwords: the password for M30011 is empty"),
        ({"password": 1234}, "password: a password must be text, not int"),
        ({"password": b"pw"}, "password: a password must be text, not bytes"),
        ({"password": "pw\x00"}, "password: the password holds a control character"),
        ({"username": "an:na", "password": "pw"}, "username: 'an:na' is not allowed"),
        ({"username": "anna\n", "password": "pw"}, None),
        ({"username": "an\tna", "password": "pw"}, "username"),
        ({"username": 5, "password": "pw"}, "username: must be text"),
    ],
)
def test_credentials_of_the_wrong_shape_are_refused(
    kwargs: dict[str, Any], needle: str | None
) -> None:
    kwargs.setdefault("username", "anna")
    if needle is None:  # surrounding whitespace is stripped, not an error
        assert Settings.resolve(**kwargs, environ={}).credentials.username == "anna"
        return
    with pytest.raises(vnb.ConfigurationError, match=needle) as info:
        Settings.resolve(**kwargs, environ={})
    assert "1234" not in str(info.value)


def test_lower_case_customer_ids_from_the_environment_are_accepted() -> None:
    env = {"VITEC_USERNAME": "anna", "VITEC_PASSWORD": "pw", "VITEC_CUSTOMER_IDS": "m30011, s5"}
    assert Settings.resolve(environ=env).customer_ids == ("M30011", "S5")
    env = {"VITEC_USERNAME": "anna", "VITEC_PASSWORD_m30011": "pw"}
    assert Settings.resolve(environ=env).customer_ids == ("M30011",)


def test_demo_true_alone_ignores_credentials_in_the_environment() -> None:
    settings = Settings.resolve(demo=True, environ={"VITEC_USERNAME": "a", "VITEC_PASSWORD": "b"})
    assert settings.demo and settings.credentials is None


def test_a_cache_secret_that_is_a_directory_is_a_configuration_error_naming_it(
    standin: StandIn, tmp_path: Path
) -> None:
    cache = tmp_path / "http_cache.sqlite"
    (tmp_path / "http_cache.sqlite.secret").mkdir()
    standin.clear_requests()
    with pytest.raises(vnb.ConfigurationError, match="is a directory") as info:
        vnb.connect(standin.url, standin.username, standin.password, cache=cache)
    assert "http_cache.sqlite.secret" in str(info.value)
    assert standin.requests == []
