"""client.contacts() end to end over real HTTP: every filter against the stand-in's truth."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import vitec_nb as vnb
from vitec_nb.client import VitecClient
from vitec_nb.query import to_stockholm
from vitec_nb.standin import StandIn


def expected_ids(truth: pd.DataFrame, office: str | list[str], **f: Any) -> set[str]:
    """Ids the stand-in's ground truth says match the filters (the API's documented rules).

    Naive dates mean Swedish local time, as the API documents (`to_stockholm`); a `*_to`
    given as a date alone is that whole day (before the next midnight), one with a time is
    that instant, included.
    """
    offices = [office] if isinstance(office, str) else office
    t = truth[truth["customer_id"].astype(str).isin(offices)]
    if "agent_id" in f:
        t = t[t["agent_id"] == f["agent_id"]]
    if "created_from" in f:
        t = t[t["created_at"] >= to_stockholm(f["created_from"])]
    if "created_to" in f:
        t = t[_until(t["created_at"], f["created_to"])]
    if "changed_from" in f:
        t = t[t["changed_at"] >= to_stockholm(f["changed_from"])]
    if "changed_to" in f:
        t = t[_until(t["changed_at"], f["changed_to"])]
    if "custom_field_name" in f:
        name, value = f["custom_field_name"], f.get("custom_field_value")
        keep = [name in d and (value is None or d[name] == value) for d in t["custom_fields"]]
        t = t[keep]
    if "lead_score" in f:
        t = t[(t["lead_score"] == f["lead_score"]).fillna(False).astype(bool)]
    if "scheduled_order_type" in f:
        t = t[[f["scheduled_order_type"] in types for types in t["scheduled_order_types"]]]
    if "newsletter_list_id" in f:
        t = t[[f["newsletter_list_id"] in ids for ids in t["newsletter_list_ids"]]]
    return set(t["id"].astype(str))


def _until(when: pd.Series, bound: Any) -> pd.Series:
    """`when` up to `bound`: a date alone is the whole day, a time is that instant (included)."""
    text = str(bound)
    if isinstance(bound, datetime.date) and not isinstance(bound, datetime.datetime):
        text = bound.isoformat()
    if len(text) == 10:  # date only
        return when < to_stockholm(text) + pd.Timedelta(days=1)
    return when <= to_stockholm(bound)


def _sample(truth: pd.DataFrame, office: str) -> pd.Series:
    """A contact of the office that has an agent, a list, a custom field, a lead score and a
    scheduled order type."""
    t = truth[truth["customer_id"].astype(str) == office]
    ok = t["agent_id"].notna() & t["newsletter_list_ids"].map(len).gt(0)
    ok &= t["custom_fields"].map(len).gt(0) & t["lead_score"].notna()
    ok &= t["scheduled_order_types"].map(len).gt(0)
    return t[ok].iloc[len(t[ok]) // 2]


def filter_cases(s: StandIn) -> dict[str, dict[str, Any]]:
    """One set of filters per API filter (plus combinations), values taken from the truth."""
    office = s.customer_ids[0]
    row = _sample(s.truth, office)
    field, value = next(iter(row["custom_fields"].items()))
    created, changed = row["created_at"], row["changed_at"]
    return {
        "agent_id": {"agent_id": str(row["agent_id"])},
        "created_from": {"created_from": created},
        "created_to": {"created_to": created},
        "changed_from": {"changed_from": changed},
        "changed_to": {"changed_to": changed},
        "created_range": {"created_from": "2024-01-01", "created_to": "2024-03-31T23:59:59"},
        "changed_range": {"changed_from": "2025-06-01", "changed_to": "2025-06-30"},
        "custom_field_name": {"custom_field_name": field},
        "custom_field_value": {"custom_field_name": field, "custom_field_value": value},
        "lead_score": {"lead_score": int(row["lead_score"])},
        "scheduled_order_type": {"scheduled_order_type": int(row["scheduled_order_types"][0])},
        "newsletter_list_id": {"newsletter_list_id": row["newsletter_list_ids"][0]},
        "everything_combined": {
            "agent_id": str(row["agent_id"]),
            "lead_score": int(row["lead_score"]),
            "created_to": created,
            "newsletter_list_id": row["newsletter_list_ids"][0],
        },
    }


CASES = [
    "agent_id",
    "created_from",
    "created_to",
    "changed_from",
    "changed_to",
    "created_range",
    "changed_range",
    "custom_field_name",
    "custom_field_value",
    "lead_score",
    "scheduled_order_type",
    "newsletter_list_id",
    "everything_combined",
]


@pytest.mark.parametrize("case", CASES)
def test_each_filter_returns_exactly_the_matching_contacts(
    standin: StandIn, client: VitecClient, case: str
) -> None:
    office = standin.customer_ids[0]
    filters = filter_cases(standin)[case]
    frame = client.contacts(customer_id=office, **filters)
    want = expected_ids(standin.truth, office, **filters)
    assert want, "the case must select some contacts to mean anything"
    assert set(frame["id"].astype(str)) == want
    assert len(frame) == len(want)


def test_unfiltered_office_returns_every_contact_with_kind_and_change_time(
    standin: StandIn, client: VitecClient
) -> None:
    office = standin.customer_ids[1]
    frame = client.contacts(customer_id=office)
    truth = standin.truth[standin.truth["customer_id"].astype(str) == office]
    got = frame.set_index(frame["id"].astype(str)).sort_index()
    want = truth.set_index(truth["id"].astype(str)).sort_index()
    assert list(got.index) == list(want.index)
    assert (got["kind"].astype(str) == want["kind"].astype(str)).all()
    assert (got["changed_at"] == want["changed_at"]).all()
    assert set(got["customer_id"].astype(str)) == {office}


def test_frame_has_the_documented_schema(standin: StandIn, client: VitecClient) -> None:
    frame = client.contacts(customer_id=standin.customer_ids[0], lead_score=5)
    assert list(frame.columns) == ["kind", "id", "customer_id", "changed_at"]
    assert list(frame["kind"].cat.categories) == ["person", "company", "deceased_estate"]
    assert frame["id"].dtype == pd.StringDtype("pyarrow")
    assert isinstance(frame["customer_id"].dtype, pd.CategoricalDtype)
    assert frame["changed_at"].dtype == pd.DatetimeTZDtype("ns", "Europe/Stockholm")


def test_empty_answer_is_an_empty_frame_with_the_same_dtypes(
    standin: StandIn, client: VitecClient
) -> None:
    office = standin.customer_ids[0]
    full = client.contacts(customer_id=office, lead_score=5)
    empty = client.contacts(customer_id=office, agent_id="NO-SUCH-AGENT")
    assert len(empty) == 0
    assert dict(empty.dtypes) == dict(full.dtypes)


def test_json_and_xml_give_the_same_frame(standin: StandIn, client: VitecClient) -> None:
    office = standin.customer_ids[0]
    as_json = client.contacts(customer_id=office, lead_score=4)
    as_xml = client.contacts(customer_id=office, lead_score=4, format="xml")
    pd.testing.assert_frame_equal(as_json, as_xml, check_like=False)
    assert as_xml.attrs["from_cache"] is False  # XML is its own request, not the cached JSON
    accepts = [r.accept for r in standin.requests[-2:]]
    assert "application/xml" in (accepts[-1] or "")


def test_query_object_and_keywords_give_the_same_frame(
    standin: StandIn, client: VitecClient
) -> None:
    office = standin.customer_ids[0]
    by_query = client.contacts(vnb.ContactQuery(office, lead_score=3))
    by_keywords = client.contacts(customer_id=office, lead_score=3)
    pd.testing.assert_frame_equal(by_query, by_keywords)


def test_list_of_offices_is_one_call_each_and_one_frame(
    standin: StandIn, client: VitecClient
) -> None:
    offices = standin.customer_ids[:2]
    standin.clear_requests()
    frame = client.contacts(customer_id=offices, lead_score=2)
    assert [r.path for r in standin.requests] == [f"/CRM/Contact/{o}" for o in offices]
    assert set(frame["id"].astype(str)) == expected_ids(standin.truth, offices, lead_score=2)
    assert set(frame["customer_id"].astype(str)) == set(offices)
    assert set(frame.attrs["offices"]) == set(offices)
    assert frame.attrs["from_cache"] is False


def test_attrs_carry_query_fetch_time_and_source(standin: StandIn, client: VitecClient) -> None:
    before = pd.Timestamp.now(tz="UTC")
    frame = client.contacts(customer_id=standin.customer_ids[0], lead_score=1)
    attrs = frame.attrs
    assert attrs["query"] == vnb.ContactQuery(standin.customer_ids[0], lead_score=1)
    assert attrs["fetched_at"].tzinfo is not None
    assert attrs["fetched_at"] >= before
    assert attrs["from_cache"] is False
    assert attrs["stale"] is False
    assert attrs["demo"] is False
    assert attrs["source"] == standin.url


def test_one_client_serves_many_threads_at_once(
    standin: StandIn, make_client: Callable[..., VitecClient]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client = make_client(standin, concurrency=8)
    office = standin.customer_ids[0]
    scores = [0, 1, 2, 3, 4, 5] * 3
    with ThreadPoolExecutor(8) as pool:
        frames = list(pool.map(lambda s: client.contacts(customer_id=office, lead_score=s), scores))
    for score, frame in zip(scores, frames, strict=True):
        assert set(frame["id"].astype(str)) == expected_ids(standin.truth, office, lead_score=score)


def test_lookups_match_the_stand_in(standin: StandIn, client: VitecClient) -> None:
    office = standin.customer_ids[0]

    def rows(frame: pd.DataFrame, cols: list[str]) -> set[tuple[Any, ...]]:
        return set(frame[cols].astype(str).itertuples(index=False, name=None))

    agents = client.agents(office)
    truth_agents = standin.agents[standin.agents["customer_id"].astype(str) == office]
    cols = ["user_id", "name", "title", "archived", "public", "customer_id"]
    assert list(agents.columns) == cols
    assert rows(agents, cols) == rows(truth_agents, cols)

    lists = client.newsletter_lists(office)
    truth_lists = standin.newsletter_lists[standin.newsletter_lists["customer_id"] == office]
    assert rows(lists, ["id", "name", "customer_id"]) == rows(
        truth_lists, ["id", "name", "customer_id"]
    )

    fields = client.custom_fields(office)
    defs = standin.custom_field_defs[standin.custom_field_defs["customer_id"] == office]
    cols = ["name", "label", "type", "customer_id"]
    assert rows(fields, cols) == rows(defs, cols)


def test_lookups_are_cached(standin: StandIn, client: VitecClient) -> None:
    office = standin.customer_ids[0]
    client.agents(office)
    standin.clear_requests()
    client.agents(office)
    client.agents(office, offline=True)
    assert standin.requests == []
