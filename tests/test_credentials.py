"""Where credentials come from (arguments, environment, keyring), demo mode, and masking."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import vitec_nb as vnb
from vitec_nb.client import DEMO_BANNER, VitecClient
from vitec_nb.credentials import Credentials, credential_tag
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
