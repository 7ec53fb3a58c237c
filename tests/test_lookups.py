"""Lookups over real HTTP: users (GetAllUsers, else GetUser), lists, fields, offices, groups."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pandas as pd
import pytest

import vitec_nb
from vitec_nb.client import VitecClient
from vitec_nb.errors import MalformedResponseError, NotCachedError, NotFoundError
from vitec_nb.lookups import LOOKUPS, OfficeLookups, contact_fields, fetch_lookup, office_label
from vitec_nb.standin import StandIn

SAMPLES = Path(__file__).parent / "fixtures" / "vitec-samples"
Answer = tuple[int, Any]  # (status, JSON value, or bytes as they are)


def sample(name: str) -> Any:
    """One of Vitec's documentation samples (tests/fixtures/vitec-samples/<name>.json)."""
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


class SampleServer:
    """A server of our own on loopback: `answer(path, params) -> (status, body)` per request.

    For bodies the stand-in never sends: Vitec's own samples, nulls, wrong shapes.
    `requests` logs (path, params) of every request.
    """

    def __init__(self, answer: Callable[[str, dict[str, str]], Answer]) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                split = urlsplit(self.path)
                params = dict(parse_qsl(split.query))
                outer.requests.append((split.path, params))
                status, body = answer(split.path, params)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sample_server(tmp_path: Path) -> Iterator[Callable[..., tuple[SampleServer, VitecClient]]]:
    """Factory: `sample_server(answer)` -> (server, a client of it on a fresh cache)."""
    made: list[tuple[SampleServer, VitecClient]] = []

    def make(answer: Callable[[str, dict[str, str]], Answer]) -> tuple[SampleServer, VitecClient]:
        server = SampleServer(answer)
        client = vitec_nb.connect(
            base_url=server.url, username="partner", password="secret-pw",
            customer_ids=["M30011"], cache=tmp_path / f"cache{len(made)}.sqlite",
            backoff_factor=0, max_retries=0,
        )  # fmt: skip
        made.append((server, client))
        return server, client

    yield make
    for server, client in made:
        client.close()
        server.close()


def paths(standin: StandIn) -> list[str]:
    return [r.path for r in standin.requests]


def as_rows(frame: pd.DataFrame, cols: list[str]) -> set[tuple[str, ...]]:
    return set(frame[cols].astype(str).itertuples(index=False, name=None))


USER_COLS = ["user_id", "name", "title", "archived", "public", "customer_id"]


# --- users --------------------------------------------------------------------------------


def test_agents_come_from_get_all_users_with_every_user(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=3, contacts=2_000)
    client = make_client(s)
    office = s.customer_ids[0]
    agents = client.agents(office)
    truth = s.agents[s.agents["customer_id"].astype(str) == office]
    assert list(agents.columns) == USER_COLS
    assert as_rows(agents, USER_COLS) == as_rows(truth, USER_COLS)
    assert (~agents["public"]).any(), "the stand-in has non-public users; they must be listed"
    assert agents.attrs["agents_complete"] is True
    assert paths(s) == ["/User/GetAllUsers"]
    assert s.requests[0].params == {"CustomerId": office}


def test_public_users_only_falls_back_to_get_user_and_asks_get_all_users_once(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=3, contacts=2_000, dialect="public-users-only")
    client = make_client(s)
    first, second = s.customer_ids[:2]
    agents = client.agents(first)
    truth = s.agents[(s.agents["customer_id"].astype(str) == first) & s.agents["public"]]
    assert as_rows(agents, USER_COLS) == as_rows(truth, USER_COLS)
    assert agents["public"].all()
    assert agents.attrs["agents_complete"] is False
    client.agents(second)
    client.agents(first, refresh=True)
    looks = client.lookups(second, refresh=True)
    assert looks.agents_complete is False
    assert paths(s).count("/User/GetAllUsers") == 1  # the refusal is remembered
    assert paths(s).count("/User/GetUser") == 4
    assert [r.status for r in s.requests if r.path == "/User/GetAllUsers"] == [404]


def test_lookups_are_cached_and_offline_works(standin: StandIn, client: VitecClient) -> None:
    office = standin.customer_ids[0]
    client.lookups(office)
    standin.clear_requests()
    again = client.lookups(office)
    offline = client.lookups(office, offline=True)
    assert standin.requests == []
    for looks in (again, offline):
        assert looks.agents is not None and looks.agents.attrs["from_cache"] is True


def test_lookups_bundle_one_office(standin: StandIn, client: VitecClient) -> None:
    office = standin.customer_ids[1]
    looks = client.lookups(office)
    assert isinstance(looks, OfficeLookups)
    assert looks.office == office and looks.agents_complete is True
    name = standin.offices.set_index("customer_id").loc[office, "name"]
    assert looks.office_name == name
    assert looks.newsletter_lists is not None and looks.custom_fields is not None
    truth = standin.newsletter_lists
    assert as_rows(looks.newsletter_lists, ["id", "name", "customer_id"]) == as_rows(
        truth[truth["customer_id"].astype(str) == office], ["id", "name", "customer_id"]
    )
    for frame in (looks.agents, looks.newsletter_lists, looks.custom_fields):
        assert frame.attrs["source"] == standin.url and frame.attrs["demo"] is False
        assert frame.attrs["customer_id"] == office
        assert frame.attrs["fetched_at"].tzinfo is not None


def test_custom_fields_carry_valid_for_and_contact_fields_keep_person_or_company(
    standin: StandIn, client: VitecClient
) -> None:
    office = standin.customer_ids[0]
    fields = client.custom_fields(office)
    defs = standin.custom_field_defs
    defs = defs[defs["customer_id"].astype(str) == office]
    cols = ["name", "label", "type", "customer_id"]
    assert as_rows(fields, cols) == as_rows(defs, cols)
    assert dict(zip(fields["name"], fields["valid_for"], strict=True)) == dict(
        zip(defs["name"], map(tuple, defs["valid_for"]), strict=True)
    )
    usable = contact_fields(fields)
    expected = {
        str(n) for n, v in zip(defs["name"], defs["valid_for"], strict=True)
        if {"Person", "Company"} & set(v)
    }  # fmt: skip
    assert set(usable["name"]) == expected
    assert len(usable) < len(fields), "the stand-in defines estate-only fields"


# --- offices and groups --------------------------------------------------------------------


def test_offices_of_every_configured_office(
    standin: StandIn, make_client: Callable[..., VitecClient]
) -> None:
    client = make_client(standin, customer_ids=standin.customer_ids)
    offices = client.offices()
    truth = standin.offices
    assert list(offices.columns) == [
        "customer_id", "office_id", "name", "archived", "chain_id", "chain_name", "groups",
    ]  # fmt: skip
    assert as_rows(offices, ["customer_id", "office_id", "name", "chain_id"]) == as_rows(
        truth, ["customer_id", "office_id", "name", "chain_id"]
    )
    assert dict(zip(offices["customer_id"], offices["groups"], strict=True)) == dict(
        zip(truth["customer_id"], map(tuple, truth["groups"]), strict=True)
    )
    assert set(offices.attrs["offices"]) == set(standin.customer_ids)
    office = standin.customer_ids[0]
    name = truth.set_index("customer_id").loc[office, "name"]
    assert client.office_label(office) == f"{name} ({office})"


def test_office_groups(standin: StandIn, make_client: Callable[..., VitecClient]) -> None:
    client = make_client(standin, customer_ids=standin.customer_ids)
    groups = client.office_groups()
    truth = standin.office_groups
    assert list(groups.columns) == ["id", "name", "offices"]
    assert {(g, n, tuple(o)) for g, n, o in truth[["id", "name", "offices"]].itertuples(
        index=False)} == {(g, n, o) for g, n, o in groups.itertuples(index=False)}  # fmt: skip
    office = standin.customer_ids[0]
    one = client.office_groups(office)
    assert set(one["id"]) <= set(groups["id"])
    assert all(office in offices for offices in one["offices"])


def test_offices_and_groups_ask_each_office_once_and_say_which_came_from_the_cache(
    standin: StandIn, make_client: Callable[..., VitecClient]
) -> None:
    client = make_client(standin, customer_ids=standin.customer_ids)
    first, second, third = standin.customer_ids[:3]
    standin.clear_requests()
    client.offices([first, first.lower(), second])  # one office twice: asked once
    client.office_groups()  # every configured office
    asked = sorted((r.path, tuple(sorted(r.params.items()))) for r in standin.requests)
    assert asked == sorted([
        ("/Office/GetOffice", (("CustomerId", first),)),
        ("/Office/GetOffice", (("CustomerId", second),)),
        *((f"/CRM/Officegroups/{cid}", ()) for cid in standin.customer_ids),
    ])  # fmt: skip
    standin.clear_requests()
    offices = client.offices()
    assert [(r.path, r.params) for r in standin.requests] == [
        ("/Office/GetOffice", {"CustomerId": third})
    ]
    assert offices.attrs["from_cache"] is False  # one office's answer was new
    per_office = offices.attrs["offices"]
    assert [per_office[cid]["from_cache"] for cid in (first, second, third)] == [True, True, False]
    assert sorted(offices["customer_id"]) == sorted(standin.customer_ids)


def test_office_label_without_a_name_is_the_id() -> None:
    assert office_label("M30011", "Södermalm") == "Södermalm (M30011)"
    assert office_label("M30011", None) == "M30011"
    assert office_label("M30011", "  ") == "M30011"


# --- Vitec's own samples and bodies the stand-in never sends ------------------------------


def _samples(path: str, params: dict[str, str]) -> Answer:
    """Vitec's samples, the customer ids set to the office asked for."""
    low = path.lower()
    if low.endswith("/user/getallusers"):
        return 404, {"Message": "No HTTP resource was found."}
    if low.endswith("/user/getuser"):
        users = sample("user-getuser")
        users[1]["customerId"] = [params["CustomerId"], "M99999"]
        return 200, users  # users[0] lists only other offices ("sample string 1/2")
    if low.endswith("/newsletterlists"):
        return 200, sample("newsletter-lists")
    if low.endswith("/customfield/get"):
        return 200, sample("customfield-get")
    if low.endswith("/office/getoffice"):
        offices = sample("office-getoffice")
        offices[0]["customerId"] = params["CustomerId"]
        return 200, offices
    if low.startswith("/crm/officegroups/"):
        return 200, sample("officegroups")
    return 404, {"Message": "not here"}


def test_vitec_samples_parse(sample_server: Callable[..., Any]) -> None:
    _server, client = sample_server(_samples)
    looks = client.lookups("M30011")
    agents = looks.agents
    assert agents is not None and looks.agents_complete is False
    assert agents.to_dict("records") == [{
        "user_id": "sample string 2", "name": "sample string 3", "title": "sample string 6",
        "archived": True, "public": True, "customer_id": "M30011",
    }]  # fmt: skip
    assert looks.newsletter_lists is not None
    assert looks.newsletter_lists.to_dict("records") == [
        {"id": "sample string 1", "name": "sample string 2", "customer_id": "M30011"}
    ]
    fields = looks.custom_fields
    assert fields is not None and list(fields["valid_for"].unique()) == [("House", "House")]
    assert contact_fields(fields).empty  # valid for houses only: no contact can match
    assert looks.office_name == "sample string 4"
    office = client.offices().iloc[0].to_dict()
    assert office["chain_id"] == "sample string 1" and office["chain_name"] == "sample string 2"
    assert office["groups"] == ("sample string 1", "sample string 1")
    groups = client.office_groups()
    assert groups.to_dict("records") == [
        {"id": "sample string 1", "name": "sample string 2", "offices": ("sample string 1",)}
    ]


@pytest.mark.parametrize("empty", [[], None, b""], ids=["[]", "null", "no body"])
def test_empty_answers_are_empty(sample_server: Callable[..., Any], empty: Any) -> None:
    def answer(path: str, params: dict[str, str]) -> Answer:
        if path.endswith("/CustomField/Get"):  # a group whose fields list is left out
            return 200, [{"customerId": "M30011"}] if empty == b"" else empty
        return 200, empty

    _server, client = sample_server(answer)
    looks = client.lookups("M30011")
    for frame in (looks.agents, looks.newsletter_lists, looks.custom_fields):
        assert frame is not None and frame.empty
    assert looks.agents_complete is True  # GetAllUsers answered (with nobody)
    assert looks.office_name is None
    assert client.office_groups().empty
    assert list(client.offices().columns)[:3] == ["customer_id", "office_id", "name"]


def test_wrong_shaped_lookup_is_refused_and_not_cached(sample_server: Callable[..., Any]) -> None:
    _server, client = sample_server(lambda p, q: (200, {"items": [{"id": "1"}]}))
    with pytest.raises(MalformedResponseError, match="newsletter lists answer is not a list"):
        client.newsletter_lists("M30011")
    with pytest.raises(NotCachedError):
        client.newsletter_lists("M30011", offline=True)


def test_get_all_users_failing_otherwise_is_not_a_fallback(
    sample_server: Callable[..., Any],
) -> None:
    server, client = sample_server(lambda p, q: (401, {"Message": "Authorization denied."}))
    with pytest.raises(vitec_nb.errors.AuthenticationError, match="Authorization denied"):
        client.agents("M30011")
    assert [p for p, _ in server.requests] == ["/User/GetAllUsers"]


def test_get_all_users_refused_with_no_get_user_either(sample_server: Callable[..., Any]) -> None:
    server, client = sample_server(lambda p, q: (404, {"Message": "No HTTP resource."}))
    with pytest.raises(NotFoundError, match="No HTTP resource"):
        client.agents("M30011")
    assert [p for p, _ in server.requests] == ["/User/GetAllUsers", "/User/GetUser"]


def test_bad_flags_are_refused_before_any_request(sample_server: Callable[..., Any]) -> None:
    server, client = sample_server(_samples)
    with pytest.raises(vitec_nb.errors.InvalidQueryError, match="refresh"):
        client.agents("M30011", refresh="yes")  # type: ignore[arg-type]
    with pytest.raises(vitec_nb.errors.InvalidQueryError, match="refresh"):
        client.lookups("M30011", refresh=True, offline=True)
    with pytest.raises(vitec_nb.errors.InvalidQueryError, match="customer_id"):
        client.offices(["M30011", "not an office"])
    unconfigured = vitec_nb.connect(base_url=server.url, username="u", password="p",
                                    cache=client.settings.cache)  # fmt: skip
    with pytest.raises(vitec_nb.errors.InvalidQueryError, match="no office is configured"):
        unconfigured.office_groups()
    unconfigured.close()
    assert server.requests == []


# --- formats and dialects -------------------------------------------------------------------


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


@pytest.mark.parametrize("name", sorted(LOOKUPS))
def test_xml_answers_give_the_json_frames(standin: StandIn, client: VitecClient, name: str) -> None:
    office = standin.customer_ids[0]
    as_json = fetch_lookup(client, LOOKUPS[name], office)
    as_xml = fetch_lookup(client, LOOKUPS[name], office, format="xml")
    assert not as_json.empty
    _same(as_json, as_xml)


@pytest.mark.parametrize("dialect", ["null-lists", "absent-lists", "local-times"])
def test_every_dialect_gives_the_documented_frames(
    make_standin: Callable[..., StandIn],
    make_client: Callable[..., VitecClient],
    dialect: str,
) -> None:
    plain, other = (make_standin(seed=2, contacts=300, offices=3, dialect=d)
                    for d in ("documented", dialect))  # fmt: skip
    clients = make_client(plain), make_client(other)
    for office in plain.customer_ids:
        for name in sorted(LOOKUPS):
            documented, seen = (fetch_lookup(c, LOOKUPS[name], office) for c in clients)
            _same(documented, seen)
    assert any(r.path == "/CRM/Officegroups/M30011" for r in other.requests)


def test_a_refused_office_lookup_gives_no_name_and_is_not_asked_again(
    sample_server: Callable[..., Any],
) -> None:
    def answer(path: str, params: dict[str, str]) -> Answer:
        if path.lower().endswith("/office/getoffice"):
            return 404, {"Message": "No HTTP resource was found."}
        return _samples(path, params)

    server, client = sample_server(answer)
    assert client.lookups("M30011").office_name is None
    assert client.office_label("M30011") == "M30011"
    client.lookups("M30011", refresh=True)
    asked = [p for p, _ in server.requests]
    assert asked.count("/Office/GetOffice") == 1 and asked.count("/User/GetAllUsers") == 1


def test_a_failing_office_lookup_is_not_fatal(sample_server: Callable[..., Any]) -> None:
    def answer(path: str, params: dict[str, str]) -> Answer:
        if path.lower().endswith("/office/getoffice"):
            return 500, {"Message": "An error has occurred."}
        return _samples(path, params)

    _server, client = sample_server(answer)
    looks = client.lookups("M30011")
    assert looks.office_name is None and looks.agents is not None
    with pytest.raises(vitec_nb.errors.ServerError, match="An error has occurred"):
        client.offices()


def test_a_403_on_get_all_users_falls_back_for_that_office_only(
    sample_server: Callable[..., Any],
) -> None:
    def answer(path: str, params: dict[str, str]) -> Answer:
        if path.endswith("/User/GetAllUsers"):
            if params["CustomerId"] == "M30011":
                return 403, {"Message": "Access to customer 'M30011' is denied."}
            return 200, [{"userId": "HAN1", "userName": "Anna", "public": False}]
        return _samples(path, params)

    server, client = sample_server(answer)
    assert client.agents("M30011").attrs["agents_complete"] is False
    other = client.agents("M30012", refresh=True)
    assert other.attrs["agents_complete"] is True and list(other["public"]) == [False]
    client.agents("M30011", refresh=True)
    asked = [(p, q.get("CustomerId")) for p, q in server.requests]
    assert asked.count(("/User/GetAllUsers", "M30011")) == 1
    assert asked.count(("/User/GetUser", "M30011")) == 2
