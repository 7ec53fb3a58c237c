"""Bad input is refused before any request, with a message naming the field and what is allowed.

One table of invalid inputs for every public entry point: `connect()` options, `ContactQuery`
itself, the eleven filters (through `client.contacts`), `client.plan` and
`client.breakdown` options, `client.contact_details`, and the form (set the widgets: Run is
disabled and the message names the field). Types, None, NaN, bools, empty, huge, unicode
and control characters, path traversal, years 1 and 9999, DST gaps, unknown keywords.
Every case checks the stand-in's request log: not one request may reach the server.

`BAD_INPUTS` counts them; docs/queries.md cites the figure ("N bad inputs tried, N
rejected, 0 requests"), checked by `test_docs_cite_the_count_of_bad_inputs`. A case whose
entry point belongs to another engineer and is not refused yet carries `pending` (the
owner, shown as the xfail reason): never skipped silently.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import vitec_nb as vnb

NAN, INF = float("nan"), float("inf")
HUGE_TEXT = "x" * 10_000
RLO = "a\u202eb"  # a right-to-left override: invisible, reorders what the analyst reads


@dataclass(frozen=True)
class Bad:
    """One invalid input: what is passed and which field(s) the message must name."""

    kwargs: dict[str, Any]
    fields: tuple[str, ...]
    # Filters that must be valid for the case to reach the option under test.
    base: dict[str, Any] = field(default_factory=dict)
    pending: str | None = None  # the engineer whose entry point does not refuse it yet


def cases(table: dict[str, Bad]) -> list[Any]:
    """pytest params; a pending case is an xfail naming its owner (never a silent skip)."""
    return [
        pytest.param(
            case,
            id=name,
            marks=[pytest.mark.xfail(reason=f"pending: {case.pending}", strict=False)]
            if case.pending
            else [],
        )
        for name, case in table.items()
    ]


# --- the eleven filters, through client.contacts(customer_id=..., **filters) -------------
# customer_id is filled in from the stand-in unless the case sets it.
FILTER_CASES: dict[str, Bad] = {
    "customer_id empty": Bad({"customer_id": ""}, ("customer_id",)),
    "customer_id digits only": Bad({"customer_id": "30011"}, ("customer_id",)),
    "customer_id unknown prefix": Bad({"customer_id": "X30011"}, ("customer_id",)),
    "customer_id letter inside": Bad({"customer_id": "M30O11"}, ("customer_id",)),
    "customer_id one bad in a list": Bad({"customer_id": ["M30011", "nope"]}, ("customer_id",)),
    "agent_id empty": Bad({"agent_id": ""}, ("agent_id",)),
    "agent_id whitespace": Bad({"agent_id": "   "}, ("agent_id",)),
    "created_from not a date": Bad({"created_from": "not a date"}, ("created_from",)),
    "created_to impossible day": Bad({"created_to": "2024-02-30"}, ("created_to",)),
    "created_from after created_to": Bad(
        {"created_from": "2024-06-01", "created_to": "2024-01-01"},
        ("created_from", "created_to"),
    ),
    "changed_from word": Bad({"changed_from": "yesterday"}, ("changed_from",)),
    "changed_to month 13": Bad({"changed_to": "2024-13-01"}, ("changed_to",)),
    "changed_from after changed_to": Bad(
        {"changed_from": "2025-01-02T00:00:00", "changed_to": "2025-01-01T23:59:59"},
        ("changed_from", "changed_to"),
    ),
    "custom_field_name empty": Bad({"custom_field_name": ""}, ("custom_field_name",)),
    "custom_field_name whitespace": Bad({"custom_field_name": " \t"}, ("custom_field_name",)),
    "custom_field_value without name": Bad(
        {"custom_field_value": "gold"}, ("custom_field_value", "custom_field_name")
    ),
    "custom_field_value empty": Bad(
        {"custom_field_name": "segment", "custom_field_value": ""}, ("custom_field_value",)
    ),
    "lead_score above 5": Bad({"lead_score": 6}, ("lead_score",)),
    "lead_score negative": Bad({"lead_score": -1}, ("lead_score",)),
    "lead_score fraction": Bad({"lead_score": 2.5}, ("lead_score",)),
    "lead_score word": Bad({"lead_score": "many"}, ("lead_score",)),
    "scheduled_order_type negative": Bad({"scheduled_order_type": -1}, ("scheduled_order_type",)),
    "scheduled_order_type unknown name": Bad(
        {"scheduled_order_type": "NoSuchService"}, ("scheduled_order_type",)
    ),
    "scheduled_order_type fraction": Bad({"scheduled_order_type": 1.5}, ("scheduled_order_type",)),
    "newsletter_list_id empty": Bad({"newsletter_list_id": ""}, ("newsletter_list_id",)),
    "newsletter_list_id whitespace": Bad({"newsletter_list_id": "\t"}, ("newsletter_list_id",)),
    # the options of client.contacts itself
    "filter name misspelt": Bad({"leadscore": 3}, ("leadscore",)),
    "format unknown": Bad({"format": "csv"}, ("format",)),
    "refresh not a bool": Bad({"refresh": "yes"}, ("refresh",)),
    "refresh and offline together": Bad({"refresh": True, "offline": True}, ("refresh", "offline")),
    # types, None, NaN, bools, empty, huge, unicode, control characters, traversal, years
    "customer_id None": Bad({"customer_id": None}, ("customer_id",)),
    "customer_id number": Bad({"customer_id": 30011}, ("customer_id",)),
    "customer_id path traversal": Bad({"customer_id": "../x"}, ("customer_id",)),
    "customer_id traversal after an id": Bad({"customer_id": "M30011/../M1"}, ("customer_id",)),
    "customer_id huge": Bad({"customer_id": "M" + "1" * 5000}, ("customer_id",)),
    "customer_id empty list": Bad({"customer_id": []}, ("customer_id",)),
    "customer_id twice": Bad({"customer_id": ["M30011", "m30011"]}, ("customer_id",)),
    "agent_id number": Bad({"agent_id": 17}, ("agent_id",)),
    "agent_id bool": Bad({"agent_id": True}, ("agent_id",)),
    "agent_id NUL": Bad({"agent_id": "HAN\x00"}, ("agent_id",)),
    "agent_id newline": Bad({"agent_id": "HAN1\nX-Injected: 1"}, ("agent_id",)),
    "agent_id right-to-left override": Bad({"agent_id": RLO}, ("agent_id",)),
    "agent_id huge": Bad({"agent_id": HUGE_TEXT}, ("agent_id",)),
    "newsletter_list_id list": Bad({"newsletter_list_id": ["L1"]}, ("newsletter_list_id",)),
    "newsletter_list_id tab inside": Bad({"newsletter_list_id": "L\t1"}, ("newsletter_list_id",)),
    "custom_field_name huge": Bad({"custom_field_name": HUGE_TEXT}, ("custom_field_name",)),
    "custom_field_value carriage return": Bad(
        {"custom_field_name": "segment", "custom_field_value": "a\r\nb"}, ("custom_field_value",)
    ),
    "custom_field_value number": Bad(
        {"custom_field_name": "segment", "custom_field_value": 5}, ("custom_field_value",)
    ),
    "lead_score NaN": Bad({"lead_score": NAN}, ("lead_score",)),
    "lead_score infinite": Bad({"lead_score": INF}, ("lead_score",)),
    "lead_score bool": Bad({"lead_score": True}, ("lead_score",)),
    "lead_score huge": Bad({"lead_score": 10**100}, ("lead_score",)),
    "lead_score empty text": Bad({"lead_score": ""}, ("lead_score",)),
    "lead_score list": Bad({"lead_score": [3]}, ("lead_score",)),
    "scheduled_order_type zero": Bad({"scheduled_order_type": 0}, ("scheduled_order_type",)),
    "scheduled_order_type invented name": Bad(
        {"scheduled_order_type": "valuation"}, ("scheduled_order_type",)
    ),
    "scheduled_order_type NaN": Bad({"scheduled_order_type": NAN}, ("scheduled_order_type",)),
    "scheduled_order_type bool": Bad({"scheduled_order_type": False}, ("scheduled_order_type",)),
    "scheduled_order_type huge": Bad({"scheduled_order_type": 10**30}, ("scheduled_order_type",)),
    "created_from year 1": Bad({"created_from": "0001-01-01"}, ("created_from",)),
    "created_from year 1 short": Bad({"created_from": "1-01-01T00:00:00"}, ("created_from",)),
    "created_to year 9999": Bad({"created_to": "9999-12-31"}, ("created_to",)),
    "created_to date year 1": Bad({"created_to": dt.date(1, 1, 1)}, ("created_to",)),
    "changed_from before 1900": Bad({"changed_from": dt.datetime(1899, 6, 1)}, ("changed_from",)),
    "changed_to in the DST gap": Bad({"changed_to": "2025-03-30T02:30"}, ("changed_to",)),
    "changed_from in the 1916 gap": Bad({"changed_from": "1916-05-14T23:30"}, ("changed_from",)),
    "created_from number": Bad({"created_from": 20250101}, ("created_from",)),
    "created_from NaT": Bad({"created_from": "NaT"}, ("created_from",)),
    "created_from empty": Bad({"created_from": ""}, ("created_from",)),
    "created_to before created_from by a day": Bad(
        {"created_from": "2025-01-02", "created_to": dt.date(2025, 1, 1)},
        ("created_to",),
    ),
    "created_to_open as text": Bad(
        {"created_to": "2025-01-01", "created_to_open": "yes"}, ("created_to_open",)
    ),
    "changed_to_open without changed_to": Bad({"changed_to_open": True}, ("changed_to_open",)),
    "format None": Bad({"format": None}, ("format",)),
    "offline as number": Bad({"offline": 1}, ("offline",)),
    "query not a ContactQuery": Bad({"query": {"customer_id": "M30011"}}, ("query",)),
}

# --- ContactQuery itself (no client) ------------------------------------------------------
QUERY_CASES: dict[str, Bad] = {
    "no customer id": Bad({"customer_id": None}, ("customer_id",)),
    "customer id bytes": Bad({"customer_id": b"M30011"}, ("customer_id",)),
    "customer id with NUL": Bad({"customer_id": "M30011\x00"}, ("customer_id",)),
    "unicode digits": Bad({"customer_id": "M３００１１"}, ("customer_id",)),
    "lead score as word": Bad({"customer_id": "M1", "lead_score": "five"}, ("lead_score",)),
    "date as float": Bad({"customer_id": "M1", "changed_to": 1.5}, ("changed_to",)),
    "finer than a microsecond": Bad(
        {"customer_id": "M1", "created_from": "2025-01-01T00:00:00.0000001"}, ("created_from",)
    ),
    "service as dict": Bad(
        {"customer_id": "M1", "scheduled_order_type": {"2": 2}}, ("scheduled_order_type",)
    ),
}

# --- the breakdown options, through client.breakdown(query, **options) -------------------
BREAKDOWN_CASES: dict[str, Bad] = {
    "by unknown dimension": Bad({"by": ("colour",)}, ("by",)),
    "by unknown dimension as a string": Bad({"by": "shoe_size"}, ("by",)),
    "measure unknown": Bad({"measure": "deleted"}, ("measure",)),
    "period unknown": Bad({"period": "fortnight"}, ("period",)),
    "start not a date": Bad({"start": "not a date"}, ("start",)),
    "end impossible day": Bad({"end": "2024-02-30"}, ("end",)),
    "start after end": Bad({"start": "2025-01-01", "end": "2024-01-01"}, ("start", "end")),
    "concurrency zero": Bad({"concurrency": 0}, ("concurrency",)),
    "concurrency negative": Bad({"concurrency": -2}, ("concurrency",)),
    "concurrency word": Bad({"concurrency": "four"}, ("concurrency",)),
    "allow_partial as text": Bad({"allow_partial": "no"}, ("allow_partial",)),
    "progress neither flag nor callable": Bad({"progress": "loud"}, ("progress",)),
    "option unknown": Bad({"colour": "red"}, ("colour",)),
    "start year 1": Bad({"start": "0001-01-01"}, ("start",)),
    "end year 9999": Bad({"end": "9999-12-31"}, ("end",)),
    "start in the 1916 gap": Bad({"start": "1916-05-14T23:30"}, ("start",)),
    "end in the DST gap": Bad({"end": "2025-03-30T02:30"}, ("end",)),
    "max_calls word": Bad({"max_calls": "x"}, ("max_calls",)),
    "max_calls negative": Bad({"max_calls": -1}, ("max_calls",)),
    "max_calls NaN": Bad({"max_calls": NAN}, ("max_calls",)),
    "concurrency NaN": Bad({"concurrency": NAN}, ("concurrency",)),
    "concurrency bool": Bad({"concurrency": True}, ("concurrency",)),
    "infer_last as text": Bad({"infer_last": "no"}, ("infer_last",)),
    "include_archived as text": Bad({"include_archived": "no"}, ("include_archived",)),
    "scheduled_order_types zero": Bad(
        {"by": ("scheduled_order_type",), "scheduled_order_types": [0]}, ("scheduled_order_types",)
    ),
    "scheduled_order_types one value twice": Bad(
        {"by": ("scheduled_order_type",), "scheduled_order_types": [1, "1"]},
        ("scheduled_order_types",),
    ),
    "scheduled_order_types invented name": Bad(
        {"by": ("scheduled_order_type",), "scheduled_order_types": ["none"]},
        ("scheduled_order_types",),
    ),
    "newsletter_list_ids None inside": Bad(
        {"by": ("newsletter_list",), "newsletter_list_ids": [None]}, ("newsletter_list_ids",)
    ),
    "agent_ids None inside": Bad({"by": ("agent",), "agent_ids": [None]}, ("agent_ids",)),
    "agent_ids control character": Bad({"by": ("agent",), "agent_ids": ["HAN\n1"]}, ("agent_ids",)),
    "custom_field_values None inside": Bad(
        {"by": ("custom_field",), "custom_field_name": "segment", "custom_field_values": [None]},
        ("custom_field_values",),
    ),
    "by a number": Bad({"by": 5}, ("by",)),
    "by None inside": Bad({"by": (None,)}, ("by",)),
    "measure None as text": Bad({"measure": "None"}, ("measure",)),
}

# --- client.plan(query, by, **options): the same checks, nothing sent but lookups ----------
PLAN_CASES: dict[str, Bad] = {
    "plan period unknown": Bad({"period": "fortnight"}, ("period",)),
    "plan start year 9999": Bad({"start": "9999-01-01"}, ("start",)),
    "plan run option": Bad({"concurrency": 2}, ("concurrency",)),
    "plan max_calls bool": Bad({"max_calls": True}, ("max_calls",)),
    "plan unknown keyword": Bad({"colour": "red"}, ("colour",)),
}

# --- client.contact_details(customer_id, ids, fields) ------------------------------------
DETAILS_CASES: dict[str, Bad] = {
    "details ids None": Bad({"ids": None}, ("ids",)),
    "details ids number": Bad({"ids": 17}, ("ids",)),
    "details ids empty text": Bad({"ids": [""]}, ("ids",)),
    "details id path traversal": Bad({"ids": ["../x"]}, ("ids",)),
    "details id with a slash": Bad({"ids": ["ADR1/Person"]}, ("ids",)),
    "details id with a comma": Bad({"ids": ["ADR1,ADR2"]}, ("ids",)),
    "details id control character": Bad({"ids": ["ADR\n1"]}, ("ids",)),
    "details id right-to-left override": Bad({"ids": [RLO]}, ("ids",)),
    "details id NUL": Bad({"ids": ["ADR1\x00"]}, ("ids",)),
    "details offline as number": Bad({"ids": ["ADR1"], "offline": 1}, ("offline",)),
    "details id huge": Bad({"ids": ["ADR" + "F" * 500]}, ("ids",)),
    "details ids mapping": Bad({"ids": {"ADR1": 1}}, ("ids",)),
    "details field unknown": Bad({"ids": ["ADR1"], "fields": ["password"]}, ("fields",)),
    "details fields number": Bad({"ids": ["ADR1"], "fields": 5}, ("fields",)),
    "details customer id traversal": Bad(
        {"customer_id": "../M1", "ids": ["ADR1"]}, ("customer_id",)
    ),
    "details refresh as text": Bad({"ids": ["ADR1"], "refresh": "yes"}, ("refresh",)),
    "details unknown keyword": Bad({"ids": ["ADR1"], "colour": "red"}, ("colour",)),
}

# --- the lookups: client.<method>(customer_id) for each one-office lookup -----------------
LOOKUP_METHODS = ("agents", "newsletter_lists", "custom_fields", "lookups", "office_label")
LOOKUP_CASES: dict[str, Bad] = {
    f"{method} {what}": Bad({"method": method, "customer_id": value}, ("customer_id",))
    for method in LOOKUP_METHODS
    for what, value in (
        ("traversal", "../M30011"),
        ("None", None),
        ("number", 30011),
        ("control character", "M300\x0011"),
        ("huge", "M" + "9" * 100),
    )
}
LOOKUP_CASES["agents refresh as text"] = Bad(
    {"method": "agents", "customer_id": "M30011", "refresh": "yes"}, ("refresh",)
)
LOOKUP_CASES["offices bad office"] = Bad(
    {"method": "offices", "customer_id": "../x"}, ("customer_id",)
)
LOOKUP_CASES["office_groups bad office"] = Bad(
    {"method": "office_groups", "customer_id": "x1"}, ("customer_id",)
)

# --- connect(): every option, refused before anything is sent -----------------------------
CONNECT_CASES: dict[str, Bad] = {
    "timeout NaN": Bad({"timeout": NAN}, ("timeout",)),
    "timeout infinite": Bad({"timeout": INF}, ("timeout",)),
    "timeout text": Bad({"timeout": "10"}, ("timeout",)),
    "timeout zero": Bad({"timeout": 0}, ("timeout",)),
    "timeout three values": Bad({"timeout": (1, 2, 3)}, ("timeout",)),
    "expire_after NaN": Bad({"expire_after": NAN}, ("expire_after",)),
    "expire_after huge": Bad({"expire_after": 1e300}, ("expire_after",)),
    "max_retries float": Bad({"max_retries": 2.0}, ("max_retries",)),
    "max_retries negative": Bad({"max_retries": -1}, ("max_retries",)),
    "backoff_factor NaN": Bad({"backoff_factor": NAN}, ("backoff_factor",)),
    "max_retry_after infinite": Bad({"max_retry_after": INF}, ("max_retry_after",)),
    "concurrency zero": Bad({"concurrency": 0}, ("concurrency",)),
    "concurrency huge": Bad({"concurrency": 10**9}, ("concurrency",)),
    "concurrency bool": Bad({"concurrency": True}, ("concurrency",)),
    "demo as text": Bad({"demo": "yes"}, ("demo",)),
    "demo with credentials": Bad({"demo": True}, ("demo",)),
    "base_url not a url": Bad({"base_url": "not a url"}, ("base_url",)),
    "base_url with user info": Bad({"base_url": "https://u:p@example.com"}, ("base_url",)),
    "base_url with a query": Bad({"base_url": "https://example.com/?a=1"}, ("base_url",)),
    "base_url ftp": Bad({"base_url": "ftp://example.com"}, ("base_url",)),
    "base_url traversal": Bad({"base_url": "https://example.com/../x"}, ("base_url",)),
    "base_url number": Bad({"base_url": 8080}, ("base_url",)),
    "username with a colon": Bad({"username": "a:b"}, ("username",)),
    "username control character": Bad({"username": "a\x07"}, ("username",)),
    "password number": Bad({"password": 1234}, ("password",)),
    "passwords a list": Bad({"passwords": ["pw"]}, ("passwords",)),
    "passwords bad office": Bad({"passwords": {"../x": "pw"}}, ("passwords",)),
    "passwords number value": Bad({"passwords": {"M30011": 5}}, ("passwords",)),
    "token not base64": Bad({"token": "!!!"}, ("token",)),
    "token without colon": Bad({"token": "dXNlcg=="}, ("token",)),
    "token and password": Bad({"token": "dTpw"}, ("token", "password")),
    "customer_ids bad": Bad({"customer_ids": ["M30011", "x30012"]}, ("customer_ids",)),
    "customer_ids number": Bad({"customer_ids": 30011}, ("customer_ids",)),
    "cache number": Bad({"cache": 5}, ("cache",)),
    "cache unknown scheme": Bad({"cache": "ftp://x"}, ("cache",)),
    "deadline NaN": Bad({"deadline": NAN}, ("deadline",)),
    "cache_lock_timeout negative": Bad({"cache_lock_timeout": -1}, ("cache_lock_timeout",)),
    "unknown keyword": Bad({"colour": "red"}, ("colour",)),
}

# --- the form: widget attribute -> value ------------------------------------------------
FORM_CASES: dict[str, Bad] = {
    "form created from after created to": Bad(
        {"created_from": dt.date(2024, 6, 1), "created_to": dt.date(2024, 1, 1)},
        ("created_from", "created_to"),
    ),
    "form changed from after changed to": Bad(
        {"changed_from": dt.date(2025, 3, 2), "changed_to": dt.date(2025, 3, 1)},
        ("changed_from", "changed_to"),
    ),
    "form field value without a field": Bad(
        {"custom_value": "gold"}, ("custom_field_value", "custom_field_name")
    ),
    "form scheduled order type negative": Bad(
        {"scheduled_order_type": "-3"}, ("scheduled_order_type",)
    ),
    "form scheduled order type word": Bad(
        {"scheduled_order_type": "soon"}, ("scheduled_order_type",)
    ),
    "form time of day without a date": Bad(
        {"changed_from_time": dt.time(12, 0)}, ("changed_from",)
    ),
}


def assert_names_field_and_allowed(exc: vnb.InvalidQueryError, fields: tuple[str, ...]) -> None:
    """The message names one of the expected fields and says what is allowed."""
    message = str(exc)
    assert exc.field in fields, f"field {exc.field!r} not one of {fields}: {message}"
    assert exc.field in message, message
    assert exc.allowed, f"no 'allowed' text: {message}"
    assert exc.allowed in message, message


@pytest.fixture
def quiet_client(standin, tmp_path):
    """A client on the shared stand-in with a fresh cache; the request log starts empty."""
    client = vnb.connect(
        base_url=standin.url,
        username=standin.username,
        password=standin.password,
        cache=str(tmp_path / "cache.sqlite"),
        customer_ids=standin.customer_ids,
    )
    standin.clear_requests()
    return client


@pytest.mark.parametrize("case", cases(FILTER_CASES))
def test_invalid_filter_is_refused_before_any_request(case: Bad, quiet_client, standin) -> None:
    kwargs = {"customer_id": standin.customer_ids[0], **case.kwargs}
    query = kwargs.pop("query", None)
    with pytest.raises(vnb.InvalidQueryError) as info:
        if query is None:
            quiet_client.contacts(**kwargs)
        else:
            quiet_client.contacts(query)
    assert_names_field_and_allowed(info.value, case.fields)
    assert list(standin.requests) == []


@pytest.mark.parametrize("case", cases(QUERY_CASES))
def test_invalid_query_is_refused_by_contact_query(case: Bad) -> None:
    with pytest.raises(vnb.InvalidQueryError) as info:
        vnb.ContactQuery(**case.kwargs)
    assert_names_field_and_allowed(info.value, case.fields)


BREAKDOWN_BASE = {"by": ("lead_score",), "start": "2024-01-01", "end": "2025-01-01"}


@pytest.mark.parametrize("case", cases(BREAKDOWN_CASES))
def test_invalid_breakdown_option_is_refused_before_any_request(
    case: Bad, quiet_client, standin
) -> None:
    query = vnb.ContactQuery(standin.customer_ids[0])
    with pytest.raises(vnb.InvalidQueryError) as info:
        quiet_client.breakdown(query, **{**BREAKDOWN_BASE, **case.kwargs})
    assert_names_field_and_allowed(info.value, case.fields)
    assert list(standin.requests) == []


@pytest.mark.parametrize("case", cases(PLAN_CASES))
def test_invalid_plan_option_is_refused_before_any_request(
    case: Bad, quiet_client, standin
) -> None:
    query = vnb.ContactQuery(standin.customer_ids[0])
    with pytest.raises(vnb.InvalidQueryError) as info:
        quiet_client.plan(query, **{**BREAKDOWN_BASE, **case.kwargs})
    assert_names_field_and_allowed(info.value, case.fields)
    assert list(standin.requests) == []


@pytest.mark.parametrize("case", cases(DETAILS_CASES))
def test_invalid_contact_details_input_is_refused_before_any_request(
    case: Bad, quiet_client, standin
) -> None:
    kwargs = {"customer_id": standin.customer_ids[0], **case.kwargs}
    if "colour" in kwargs:  # an unknown keyword: Python's own error names it
        with pytest.raises(TypeError, match="colour"):
            quiet_client.contact_details(**kwargs)
    else:
        with pytest.raises(vnb.InvalidQueryError) as info:
            quiet_client.contact_details(**kwargs)
        assert_names_field_and_allowed(info.value, case.fields)
    assert list(standin.requests) == []


@pytest.mark.parametrize("case", cases(LOOKUP_CASES))
def test_invalid_lookup_input_is_refused_before_any_request(
    case: Bad, quiet_client, standin
) -> None:
    kwargs = dict(case.kwargs)
    method = getattr(quiet_client, kwargs.pop("method"))
    with pytest.raises(vnb.InvalidQueryError) as info:
        method(kwargs.pop("customer_id"), **kwargs)
    assert_names_field_and_allowed(info.value, case.fields)
    assert list(standin.requests) == []


@pytest.mark.parametrize("case", cases(CONNECT_CASES))
def test_invalid_connect_option_is_refused_before_anything_is_sent(
    case: Bad, standin, tmp_path
) -> None:
    kwargs = {
        "base_url": standin.url,
        "username": standin.username,
        "password": standin.password,
        "cache": tmp_path / "cache.sqlite",
        **case.kwargs,
    }
    if "token" in case.kwargs and "password" not in case.fields:
        del kwargs["password"], kwargs["username"]
    standin.clear_requests()
    with pytest.raises((vnb.ConfigurationError, TypeError)) as info:
        vnb.connect(**kwargs)
    message = str(info.value)
    assert any(f in message for f in case.fields), message
    assert standin.password not in message
    assert list(standin.requests) == []


def test_invalid_filter_is_refused_by_the_query_itself() -> None:
    """ContactQuery validates at construction, so a bad query cannot even be built."""
    with pytest.raises(vnb.InvalidQueryError) as info:
        vnb.ContactQuery("M30011", lead_score=9)
    assert_names_field_and_allowed(info.value, ("lead_score",))


@pytest.fixture
def explorer(quiet_client, standin):
    """The form on the shared stand-in, its lookups loaded; the request log starts empty."""
    form = vnb.ContactExplorer(quiet_client)
    standin.clear_requests()
    return form


@pytest.mark.parametrize("case", FORM_CASES.values(), ids=FORM_CASES.keys())
def test_invalid_form_input_disables_run_and_names_the_field(case: Bad, explorer, standin) -> None:
    from vitec_nb.widgets import FIELD_LABELS

    assert not explorer.run_button.disabled, explorer.status_text
    for name, value in case.kwargs.items():
        getattr(explorer, name).value = value
    assert explorer.run_button.disabled
    message = explorer.status_text
    named = [f for f in case.fields if f in message or FIELD_LABELS[f] in message]
    assert named, f"none of {case.fields} named in {message!r}"
    assert "allowed" in message, message
    explorer.run_button.click()  # a click on a disabled button must still not send anything
    assert list(standin.requests) == []


TABLES = {
    "connect": CONNECT_CASES,
    "ContactQuery": QUERY_CASES,
    "contacts": FILTER_CASES,
    "plan": PLAN_CASES,
    "breakdown": BREAKDOWN_CASES,
    "contact_details": DETAILS_CASES,
    "lookups": LOOKUP_CASES,
    "the form": FORM_CASES,
}
BAD_INPUTS = sum(len(table) for table in TABLES.values())


def test_table_covers_every_entry_point_filter_and_option() -> None:
    """Every ContactQuery field, the breakdown and connect options and each entry point hit."""
    import dataclasses
    import inspect

    filters = {f.name for f in dataclasses.fields(vnb.ContactQuery)}
    hit = {name for case in FILTER_CASES.values() for name in case.kwargs} | {"customer_id"}
    assert filters <= hit, filters - hit
    options = {name for case in BREAKDOWN_CASES.values() for name in case.kwargs}
    assert {"by", "measure", "period", "start", "end", "concurrency", "max_calls"} <= options
    connect_options = set(inspect.signature(vnb.connect).parameters) - {"cache"}
    tried = {name for case in CONNECT_CASES.values() for name in case.kwargs} | {"cache"}
    assert connect_options <= tried | {"cache"}, connect_options - tried
    assert all(TABLES.values())
    assert BAD_INPUTS >= 200


def test_docs_cite_the_count_of_bad_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    """The figure docs/queries.md (and docs/reliability.md) cite is this table's."""
    pending = sum(1 for t in TABLES.values() for c in t.values() if c.pending)
    figure = f"{BAD_INPUTS} bad inputs tried, {BAD_INPUTS - pending} rejected, 0 requests"
    with capsys.disabled():
        print(f"\nbad-input table: {figure} ({pending} pending on other engineers' work)")
    docs = (Path(__file__).resolve().parents[1] / "docs" / "queries.md").read_text()
    assert figure in docs, f"docs/queries.md should say: {figure}"


def test_request_log_sees_a_valid_query(quiet_client, standin) -> None:
    """Control: the same route with valid input does reach the stand-in's request log."""
    quiet_client.contacts(customer_id=standin.customer_ids[0], lead_score=5)
    assert [r.status for r in standin.requests] == [200]
