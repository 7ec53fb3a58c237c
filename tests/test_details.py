"""Contact details over real HTTP: 20 ids a call, cached, personal data only when asked."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from tests.test_lookups import Answer, sample
from tests.test_lookups import sample_server as sample_server  # the fixture
from vitec_nb.client import VitecClient
from vitec_nb.details import COLUMNS, PERSONAL_FIELDS, batches, planned_calls
from vitec_nb.errors import InvalidQueryError, MalformedResponseError, NotCachedError
from vitec_nb.standin import StandIn

ID_A, ID_B, ID_C = (f"ADR{c * 32}" for c in "ABC")


def detail_paths(standin: StandIn) -> list[str]:
    return [r.path for r in standin.requests if r.path.count("/") > 3]


def some_ids(standin: StandIn, office: str, n: int) -> list[str]:
    truth = standin.truth
    mine = truth[truth["customer_id"].astype(str) == office]
    # every kind among them, deceased estates included
    picked = pd.concat([mine[mine["kind"] == k].head(5) for k in ("deceased_estate", "company")])
    picked = picked.head(n)
    rest = mine[~mine["id"].isin(picked["id"])].head(n - len(picked))
    return [str(i) for i in pd.concat([picked, rest])["id"]]


# --- against the stand-in ------------------------------------------------------------------


def test_45_ids_make_3_calls_and_match_the_truth(standin: StandIn, client: VitecClient) -> None:
    office = standin.customer_ids[0]
    ids = some_ids(standin, office, 45)
    standin.clear_requests()
    frame = client.contact_details(office, ids)
    assert len(detail_paths(standin)) == 3
    assert all(len(p.rsplit("/", 1)[1].split(",")) <= 20 for p in detail_paths(standin))
    assert list(frame.columns) == list(COLUMNS)  # no personal data unless asked
    assert list(frame["id"]) == ids and frame.attrs["missing"] == ()
    truth = standin.truth.set_index("id").loc[ids]
    assert list(frame["kind"].astype(str)) == list(truth["kind"].astype(str))
    for col in ("created_at", "changed_at"):
        assert str(frame[col].dtype) == "datetime64[ns, Europe/Stockholm]"
        assert (frame[col].to_numpy() == truth[col].to_numpy()).all()
    assert frame["agent_id"].fillna("-").tolist() == truth["agent_id"].fillna("-").tolist()
    assert str(frame["lead_score"].dtype) == "Int64"
    estates = (frame["kind"] == "deceased_estate").to_numpy()
    assert estates.any() and frame["lead_score"][estates].isna().all()
    assert (
        frame["lead_score"].fillna(-1).to_numpy() == truth["lead_score"].fillna(-1).to_numpy()
    ).all()
    assert frame["name"].str.len().min() > 0
    assert frame.attrs["calls"] == 3 and frame.attrs["source"] == standin.url


def test_a_second_run_makes_no_call(standin: StandIn, client: VitecClient) -> None:
    office = standin.customer_ids[1]
    ids = some_ids(standin, office, 45)
    assert planned_calls(client, office, ids) == (3, 0)
    first = client.contact_details(office, ids)
    assert planned_calls(client, office, [*ids, ID_A]) == (3, 1)  # the ids after ID_A shift
    assert planned_calls(client, office, ids) == (3, 3)
    standin.clear_requests()
    again = client.contact_details(office, list(reversed(ids)))  # same ids, other order
    offline = client.contact_details(office, ids, offline=True)
    assert standin.requests == []
    assert again.attrs["from_cache"] is True and list(again["id"]) == list(reversed(ids))
    pd.testing.assert_frame_equal(first, offline, check_like=False)


def test_personal_data_only_when_asked(
    standin: StandIn, client: VitecClient, caplog: pytest.LogCaptureFixture
) -> None:
    office = standin.customer_ids[0]
    ids = some_ids(standin, office, 12)
    caplog.set_level(logging.DEBUG, logger="vitec_nb")
    frame = client.contact_details(office, ids, fields=["email", "Phone"])
    assert list(frame.columns) == [*COLUMNS, "phone", "email"]
    assert frame["email"].notna().any()
    shown = [v for v in frame["email"].dropna()]
    assert not any(v in caplog.text for v in shown)
    everything = client.contact_details(office, ids, fields=PERSONAL_FIELDS)
    assert list(everything.columns) == [*COLUMNS, *PERSONAL_FIELDS]


def test_unknown_ids_are_reported_missing(
    standin: StandIn, client: VitecClient, caplog: pytest.LogCaptureFixture
) -> None:
    office = standin.customer_ids[0]
    other = standin.truth[standin.truth["customer_id"].astype(str) != office]["id"].iloc[0]
    ids = [*some_ids(standin, office, 3), ID_A, str(other)]
    frame = client.contact_details(office, ids)
    assert list(frame["id"]) == ids[:3]
    assert frame.attrs["missing"] == (ID_A, str(other))
    assert "2 of 5 contact ids not found in office M30011" in caplog.text


@pytest.mark.parametrize(
    ("ids", "fields", "complaint"),
    [
        ([ID_A, "ADR1,ADR2"], None, r"ids: item 1 \('ADR1,ADR2'\) is not an id"),
        ([ID_A, "ADR\n1"], None, "ids: item 1"),
        (["A" * 41], None, "ids: item 0"),
        ([""], None, "ids: item 0"),
        ([ID_A, 7], None, "ids: item 1 is 7, not text"),
        (12, None, "ids: int is not a list of ids"),
        ([ID_A], ["email", "salary"], "fields: 'salary' is not a detail field.*social_security"),
    ],
)
def test_bad_input_is_refused_with_zero_requests(
    standin: StandIn, client: VitecClient, ids: Any, fields: Any, complaint: str
) -> None:
    standin.clear_requests()
    with pytest.raises(InvalidQueryError, match=complaint):
        client.contact_details(standin.customer_ids[0], ids, fields)
    assert standin.requests == []


def test_no_ids_no_calls(standin: StandIn, client: VitecClient) -> None:
    standin.clear_requests()
    frame = client.contact_details(standin.customer_ids[0], [])
    assert frame.empty and list(frame.columns) == list(COLUMNS) and standin.requests == []


def test_calls_run_concurrently_within_the_limit(
    make_standin: Callable[..., StandIn], make_client: Callable[..., VitecClient]
) -> None:
    s = make_standin(seed=5, contacts=3_000, latency=0.05)
    client = make_client(s, concurrency=3)
    office = s.customer_ids[0]
    ids = some_ids(s, office, 200)
    seen: list[tuple[int, int]] = []
    s.clear_requests()
    client.contact_details(office, ids, progress=lambda done, total: seen.append((done, total)))
    assert s.max_in_flight == 3
    assert seen[-1] == (10, 10) and len(seen) == 10


def test_batches_are_stable() -> None:
    ids = [f"ADR{i:032X}" for i in range(45)]
    assert [len(b) for b in batches(ids)] == [20, 20, 5]
    assert batches(reversed(ids)) == batches(ids)


# --- Vitec's samples -----------------------------------------------------------------------


def _details(path: str, params: dict[str, str]) -> Answer:
    """The typed samples, as the mixed route would answer them, ids as asked."""
    asked = path.rsplit("/", 1)[1].split(",")
    records = [
        sample("contact-details-person")[0],
        sample("contact-details-company")[0],
        sample("contact-details-deceased-estate")[0],
        sample("contact-details-mixed")[0],
    ]
    for record, cid in zip(records, asked, strict=False):
        record["id"] = cid
    return 200, records[: len(asked)]


def test_vitec_samples_parse(sample_server: Callable[..., Any]) -> None:
    server, client = sample_server(_details)
    frame = client.contact_details("M30011", [ID_A, ID_B, ID_C], fields=PERSONAL_FIELDS)
    assert [p for p, _ in server.requests] == [f"/CRM/Contact/M30011/{ID_A},{ID_B},{ID_C}"]
    rows = frame.set_index("id")
    assert list(rows["kind"].astype(str)) == ["person", "company", "deceased_estate"]
    assert list(rows["name"]) == ["sample string 1 sample string 2", "sample string 1",
                                  "sample string 1"]  # fmt: skip
    assert rows["lead_score"].tolist()[:2] == [4, 4] and pd.isna(rows["lead_score"].iloc[2])
    assert rows.loc[ID_A, "customer_id"] == "sample string 8"
    assert rows.loc[ID_A, "agent_id"] == "sample string 9"
    created = rows.loc[ID_A, "created_at"]
    assert created == pd.Timestamp("2026-10-04T13:51:28.9471175+02:00")
    assert str(created.tz) == "Europe/Stockholm"
    assert (
        rows.loc[ID_A, "phone"]
        == "sample string 3, sample string 1, sample string 2, sample string 4"
    )
    assert rows.loc[ID_B, "phone"] == "sample string 1, sample string 2"  # {switch, other}
    assert rows.loc[ID_A, "email"] == "sample string 1, sample string 2"
    assert (
        rows.loc[ID_A, "address"]
        == "sample string 1, sample string 2 sample string 3, sample string 4"
    )
    assert rows.loc[ID_A, "social_security_number"] == "sample string 3"
    assert pd.isna(rows.loc[ID_B, "social_security_number"])
    assert rows.loc[ID_C, "note"] == "sample string 7"


def test_local_times_and_missing_scores(sample_server: Callable[..., Any]) -> None:
    def answer(path: str, params: dict[str, str]) -> Answer:
        return 200, [
            {"id": ID_A, "type": "Person", "firstName": "Anna", "lastName": None,
             "createdAt": "2025-10-26T02:30:00", "changedAt": "2025-03-30T12:00:00.1234567",
             "leadScore": None, "agentId": None},
            {"id": ID_B, "type": "DeceasedEstate", "name": "Dödsbo", "leadScore": 3},
        ]  # fmt: skip

    _server, client = sample_server(answer)
    frame = client.contact_details("M30011", [ID_A, ID_B]).set_index("id")
    assert frame.loc[ID_A, "name"] == "Anna"
    assert frame.loc[ID_A, "created_at"] == pd.Timestamp("2025-10-26T02:30:00+02:00")
    assert frame.loc[ID_A, "changed_at"] == pd.Timestamp("2025-03-30T12:00:00.1234567+02:00")
    assert pd.isna(frame.loc[ID_A, "lead_score"]) and pd.isna(frame.loc[ID_A, "agent_id"])
    assert pd.isna(frame.loc[ID_B, "lead_score"])  # an estate has no score
    assert pd.isna(frame.loc[ID_B, "created_at"])


def test_wrong_shape_is_not_cached_and_quotes_nothing(sample_server: Callable[..., Any]) -> None:
    body = b'{"persons": [{"socialSecurityNumber": "19121212-1212"}]}'
    _server, client = sample_server(lambda p, q: (200, body))
    with pytest.raises(MalformedResponseError) as caught:
        client.contact_details("M30011", [ID_A])
    assert "19121212" not in str(caught.value)
    with pytest.raises(NotCachedError):
        client.contact_details("M30011", [ID_A], offline=True)


@pytest.mark.parametrize("dialect", ["local-times", "null-lists", "absent-lists"])
def test_every_dialect_gives_the_same_details(
    make_standin: Callable[..., StandIn],
    make_client: Callable[..., VitecClient],
    dialect: str,
) -> None:
    plain, other = (make_standin(seed=2, contacts=600, offices=1, dialect=d)
                    for d in ("documented", dialect))  # fmt: skip
    office = plain.customer_ids[0]
    ids = some_ids(plain, office, 30)
    documented = make_client(plain).contact_details(office, ids, fields=PERSONAL_FIELDS)
    seen = make_client(other).contact_details(office, ids, fields=PERSONAL_FIELDS)
    pd.testing.assert_frame_equal(documented, seen)
    truth = plain.truth.set_index("id").loc[ids]
    assert (seen["changed_at"].to_numpy() == truth["changed_at"].to_numpy()).all()
