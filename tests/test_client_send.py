"""The send path's pure decisions: when an expired answer may stand in, which format."""

from __future__ import annotations

import pytest

from vitec_nb._send import checked_format, serve_stale
from vitec_nb.errors import (
    InvalidQueryError,
    MalformedResponseError,
    NotCachedError,
    RequestTimeoutError,
    TransportError,
)


@pytest.mark.parametrize(
    ("status", "failure", "stale"),
    [
        (200, None, False),  # an answer: nothing stands in
        (401, None, False),  # a rejected credential never gets stale data
        (403, None, False),
        (404, None, False),
        (500, None, True),  # the server failed
        (503, None, True),
        (429, None, True),  # still limited after the retries
        ("error", TransportError("no connection"), True),
        ("error", RequestTimeoutError("too slow"), True),
        ("not-cached", NotCachedError("offline miss"), True),
        ("error", MalformedResponseError("cut off"), False),  # never for a bad body
    ],
)
def test_an_expired_answer_stands_in_only_for_server_failures(status, failure, stale) -> None:
    assert serve_stale(status, failure) is stale


def test_formats_are_json_or_xml_in_any_case() -> None:
    assert checked_format("JSON") == "json"
    assert checked_format("xml") == "xml"
    with pytest.raises(InvalidQueryError, match=r"format.*'csv' is not a format.*'json' or 'xml'"):
        checked_format("csv")


def test_a_call_the_planner_found_uncached_is_still_answered_from_the_cache(
    make_standin, make_client
) -> None:
    """`cached_answer` missed, so the call's own thread skips the parsed-answer lookup; if
    another client stored the answer meanwhile, the cache still answers (no request)."""
    from vitec_nb import ContactQuery

    s = make_standin(seed=2, contacts=200, offices=1)
    query = ContactQuery(s.customer_ids[0], lead_score=3)
    planner_side = make_client(s)
    assert planner_side.cached_answer(query) is None  # the planner's look: a miss
    other = make_client(s)  # the same cache file: another kernel on the same machine
    expected = other.contacts(query)
    s.clear_requests()
    got = planner_side.contacts(query)
    assert s.requests == []
    assert got.attrs["from_cache"] is True
    assert list(got["id"]) == list(expected["id"])
