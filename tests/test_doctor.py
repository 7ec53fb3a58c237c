"""`client.doctor()` over real HTTP: every stand-in dialect named, few calls, no secret shown."""

from __future__ import annotations

import base64
import dataclasses
import json
import stat
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pandas as pd
import pytest

import vitec_nb
from vitec_nb.doctor import profile_path
from vitec_nb.errors import InvalidQueryError
from vitec_nb.profile import PROFILE_FILE, ServerProfile, load_profile, save_profile
from vitec_nb.standin import DIALECTS, StandIn

NOW = pd.Timestamp("2026-10-31 18:00", tz="Europe/Stockholm")  # the stand-in's last day
FIELDS = ("changed_at_offset", "empty_lists", "zero_filters", "all_users", "error_shape",
          "answer_cap")  # fmt: skip
SECRET = "S3cret-Doctor-Passw0rd"


@pytest.fixture(scope="module")
def dialect_standin() -> Iterator[StandIn]:
    """A stand-in of our own (its dialect is switched per test), 10 000 contacts, 3 offices."""
    with StandIn(seed=0, contacts=10_000, offices=3) as s:
        s.add_account("doctor-user", {cid: SECRET for cid in s.customer_ids})
        yield s
        s.set_dialect(None)


def _client(s: StandIn, tmp_path: Path, **kw: Any) -> vitec_nb.VitecClient:
    kw.setdefault("password", SECRET)
    kw.setdefault("customer_ids", s.customer_ids)
    return vitec_nb.connect(
        base_url=s.url, username="doctor-user",
        cache=tmp_path / "cache" / "http_cache.sqlite", backoff_factor=0, **kw,
    )  # fmt: skip


@pytest.mark.parametrize("name", list(DIALECTS))
def test_doctor_names_every_dialect_with_fewer_than_30_calls(
    dialect_standin: StandIn, tmp_path: Path, name: str
) -> None:
    s = dialect_standin
    s.set_dialect(name)
    s.clear_requests()
    with _client(s, tmp_path) as client:
        report = client.doctor(now=NOW)
    sent = s.requests
    assert report.dialect == name
    learnt = {f: getattr(report.profile, f) for f in FIELDS}
    assert learnt == {f: getattr(DIALECTS[name], f) for f in FIELDS}
    assert report.calls_made == len(sent) < 30
    assert f"Made {len(sent)} calls" in report.text()
    assert all(r.username == "doctor-user" for r in sent)


def test_every_switch_at_once_is_told_apart(dialect_standin: StandIn, tmp_path: Path) -> None:
    from vitec_nb.standin import Dialect

    odd = Dialect(changed_at_offset=False, empty_lists="absent", zero_filters=True,
                  all_users=False, error_shape="camel", answer_cap=1000)  # fmt: skip
    dialect_standin.set_dialect(odd)
    with _client(dialect_standin, tmp_path) as client:
        report = client.doctor(now=NOW)
    assert {f: getattr(report.profile, f) for f in FIELDS} == dataclasses.asdict(odd)
    assert report.dialect is None  # no preset differs from "documented" in every switch


def test_every_office_gets_a_row_and_each_endpoint_answers(
    dialect_standin: StandIn, tmp_path: Path
) -> None:
    dialect_standin.set_dialect("public-users-only")
    with _client(dialect_standin, tmp_path) as client:
        report = client.doctor(now=NOW)
    assert [c.office for c in report.offices] == dialect_standin.customer_ids
    first, *others = report.offices
    assert first.endpoints == {
        "contact list": "ok", "GetUser": "ok", "GetAllUsers": "404", "newsletter lists": "ok",
        "custom fields": "ok", "offices": "ok", "office groups": "ok", "details": "ok",
    }  # fmt: skip
    assert all(c.authenticated and c.endpoints["GetAllUsers"] == "404" for c in others)
    assert all(c.endpoints["details"] == "-" for c in others)  # asked once, on the first
    assert any("Agents from GetUser (public users only)" in a for a in report.actions)
    assert "0 stars derived" in report.text()


def test_output_and_stored_profile_hold_no_secret(dialect_standin: StandIn, tmp_path: Path) -> None:
    dialect_standin.set_dialect(None)
    with _client(dialect_standin, tmp_path) as client:
        report = client.doctor(now=NOW)
        stored = Path(str(report.stored_at)).read_text()
    token = base64.b64encode(f"doctor-user:{SECRET}".encode()).decode()
    shown = report.text() + json.dumps(report.to_dict(), default=str) + repr(report) + stored
    for secret in (SECRET, token, token.rstrip("=")):
        assert secret not in shown


def test_what_was_learnt_is_remembered_0600_and_loaded_as_client_profile(
    dialect_standin: StandIn, tmp_path: Path
) -> None:
    dialect_standin.set_dialect("local-times")
    with _client(dialect_standin, tmp_path) as client:
        assert client.profile == ServerProfile()  # never checked: nothing known
        report = client.doctor(now=NOW)
        assert client.profile == report.profile
    path = Path(str(report.stored_at))
    assert path == tmp_path / "cache" / PROFILE_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with _client(dialect_standin, tmp_path) as again:  # a new client, a new process alike
        assert again.profile == report.profile
        assert again.profile.changed_at_offset is False
        assert again.profile.checked_at == NOW.tz_convert("UTC").isoformat()


def test_the_store_keeps_one_profile_per_base_url_and_survives_damage(tmp_path: Path) -> None:
    path = tmp_path / PROFILE_FILE
    one, two = ServerProfile(all_users=False), ServerProfile(answer_cap=500, empty_lists="null")
    save_profile("https://connect.maklare.vitec.net/", one, path)
    save_profile("http://127.0.0.1:9", two, path)
    assert load_profile("HTTPS://Connect.Maklare.Vitec.net", path) == one
    assert load_profile("http://127.0.0.1:9", path) == two
    assert load_profile("http://elsewhere", path) == ServerProfile()
    path.write_text("{not json")
    assert load_profile("http://127.0.0.1:9", path) == ServerProfile()
    path.write_text(json.dumps({"http://x": {"answer_cap": True, "empty_lists": "[x]"}}))
    assert load_profile("http://x", path) == ServerProfile()  # wrong types: not trusted


def test_profile_path_is_beside_the_cache(tmp_path: Path) -> None:
    assert profile_path(tmp_path / "c.sqlite") == tmp_path / PROFILE_FILE
    assert profile_path(str(tmp_path / "dir" / "c")) == tmp_path / "dir" / PROFILE_FILE
    assert profile_path("redis://localhost:6379/0").name == PROFILE_FILE


def test_a_wrong_password_is_reported_per_office_without_showing_it(
    dialect_standin: StandIn, tmp_path: Path
) -> None:
    dialect_standin.set_dialect(None)
    first, *rest = dialect_standin.customer_ids
    passwords = {first: "Wrong-Passw0rd-123", **{cid: SECRET for cid in rest}}
    with _client(dialect_standin, tmp_path, passwords=passwords, password=None) as client:
        report = client.doctor(now=NOW)
    assert [c.authenticated for c in report.offices] == [False, True, True]
    assert not report.ok
    assert report.offices[0].endpoints["GetUser"] == "-"  # nothing more asked without access
    assert report.findings["checked on"] == rest[0]  # the server was checked on the next
    assert report.dialect == "documented"
    assert "REFUSED" in report.text() and "Wrong-Passw0rd-123" not in report.text()


def test_bad_offices_are_refused_before_any_request(
    dialect_standin: StandIn, tmp_path: Path
) -> None:
    dialect_standin.clear_requests()
    only = {"passwords": {"M30011": SECRET}, "password": None, "customer_ids": ["M30011"]}
    with _client(dialect_standin, tmp_path, **only) as c:
        with pytest.raises(InvalidQueryError, match=r"office: 'X-1' is not an office id"):
            c.doctor(["X-1"])
        with pytest.raises(InvalidQueryError, match="no password is configured for office M30012"):
            c.doctor(["M30011", "m30012"])
    assert dialect_standin.requests == []


# --- a server of our own, for what the stand-in never does ----------------------------------


def _ref(n: int) -> dict[str, str]:
    return {"id": f"ADR{n:032X}", "changedAt": "2026-10-30T10:00:00", "customerId": "M30011"}


def _cautious_server(path: str, params: dict[str, str]) -> tuple[int, Any]:
    """A window of 0-star persons only; LeadScore accepts anything; no cap, no estates."""
    if path == "/CRM/Contact/M30011":
        if "ChangedAtTo" in params or params.get("ChangedAtFrom", "") > "2026-11":
            return 200, {}
        return 200, {"persons": [_ref(n) for n in range(8)], "companies": None}
    if path.startswith("/CRM/Contact/M30011/Person"):
        return 200, [{"id": _ref(n)["id"], "leadScore": 0} for n in range(8)]
    return 404, "No HTTP resource was found"


@pytest.fixture
def own_server() -> Iterator[Callable[[Callable[[str, dict[str, str]], tuple[int, Any]]], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Callable[[str, dict[str, str]], tuple[int, Any]]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                split = urlsplit(self.path)
                status, body = answer(split.path, dict(parse_qsl(split.query)))
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_what_cannot_be_told_apart_is_reported_unknown(own_server: Any, tmp_path: Path) -> None:
    url = own_server(_cautious_server)
    client = vitec_nb.connect(base_url=url, username="u", password=SECRET, customer_ids="M30011",
                              cache=tmp_path / "c.sqlite", backoff_factor=0)  # fmt: skip
    with client:
        report = client.doctor(now=NOW)
    profile = report.profile
    # every contact of the window has 0 stars: "0 narrows" and "0 = no filter" look alike
    assert profile.zero_filters is None
    assert "unknown" in report.findings["LeadScore=0"]
    assert profile.error_shape is None  # the invalid request got no 400 to read
    assert profile.empty_lists is None  # null here, absent there: no single rule
    assert "mixed" in report.findings["empty lists"]
    assert profile.changed_at_offset is False and profile.all_users is False
    assert report.dialect is None or " or " in report.dialect
    assert dataclasses.asdict(load_profile(url, tmp_path / PROFILE_FILE)) == dataclasses.asdict(
        profile
    )


def test_an_unreachable_server_is_reported_and_nothing_is_remembered(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    client = vitec_nb.connect(base_url=url, username="u", password=SECRET, customer_ids="M30011",
                              cache=tmp_path / "c.sqlite", max_retries=0)  # fmt: skip
    with client:
        report = client.doctor(now=NOW)
    assert not report.ok and report.offices[0].authenticated is None
    assert "Could not reach" in str(report.offices[0].problem)
    assert report.profile == ServerProfile() and report.stored_at is None
    assert not (tmp_path / PROFILE_FILE).exists()


def test_a_contact_changed_during_the_check_misleads_nothing(
    own_server: Any, tmp_path: Path
) -> None:
    asked: list[dict[str, str]] = []

    def busy(path: str, params: dict[str, str]) -> tuple[int, Any]:
        """Every contact-list answer holds one more new contact than the one before."""
        if path == "/CRM/Contact/M30011":
            if params.get("LeadScore") == "not-a-number":
                return 400, {"Message": "The request is invalid.", "ModelState": {}}
            asked.append(params)
            refs = [_ref(n) for n in range(8 + len(asked))]
            return 200, {"persons": refs, "companies": [], "deceasedEstates": []}
        if path.startswith("/CRM/Contact/M30011/Person"):
            return 200, [{"id": _ref(n)["id"], "leadScore": n % 3} for n in range(8)]
        return 200, []

    client = vitec_nb.connect(base_url=own_server(busy), username="u", password=SECRET,
                              customer_ids="M30011", cache=tmp_path / "c.sqlite")  # fmt: skip
    with client:
        report = client.doctor(now=NOW)
    # LeadScore=0's answer has the window's contacts and a newer one: "no filter", proven
    assert report.profile.zero_filters is False
    assert report.profile.error_shape == "webapi" and report.profile.empty_lists == "[]"
    # the cap check's windows end before `now`: none of them is open to new changes
    year, older, newer = asked[-3:]
    end = (NOW - pd.Timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S")
    assert year["ChangedAtTo"] == newer["ChangedAtTo"] == end
    assert older["ChangedAtFrom"] == year["ChangedAtFrom"] < older["ChangedAtTo"]


def test_a_proxy_echoing_the_authorization_header_leaks_nothing(tmp_path: Path) -> None:
    """Every answer is a 404 whose body quotes the request's Authorization header."""

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            header = self.headers.get("Authorization", "")
            data = json.dumps({"Message": f"No route; you sent Authorization: {header}"}).encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        client = vitec_nb.connect(base_url=url, username="u", password=SECRET,
                                  customer_ids="M30011", cache=tmp_path / "c.sqlite")  # fmt: skip
        with client:
            report = client.doctor(now=NOW)
    finally:
        server.shutdown()
        server.server_close()
    shown = report.text() + json.dumps(report.to_dict(), default=str)
    basic = base64.b64encode(f"u:{SECRET}".encode()).decode()
    assert "you sent Authorization: Basic ***" in shown  # the server's words are quoted
    assert basic not in shown and SECRET not in shown
