"""Bad input is refused before any request, with a message naming the field and what is allowed.

One table of invalid inputs across the eleven filters (through `client.contacts`), the
breakdown options (through `client.breakdown`) and the form (set the widgets: Run is
disabled and the message names the field). Every case checks the stand-in's request log:
not one request may reach the server.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

import vitec_nb as vnb


@dataclass(frozen=True)
class Bad:
    """One invalid input: what is passed and which field(s) the message must name."""

    kwargs: dict[str, Any]
    fields: tuple[str, ...]
    # Filters that must be valid for the case to reach the option under test.
    base: dict[str, Any] = field(default_factory=dict)


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


@pytest.mark.parametrize("case", FILTER_CASES.values(), ids=FILTER_CASES.keys())
def test_invalid_filter_is_refused_before_any_request(case: Bad, quiet_client, standin) -> None:
    kwargs = {"customer_id": standin.customer_ids[0], **case.kwargs}
    with pytest.raises(vnb.InvalidQueryError) as info:
        quiet_client.contacts(**kwargs)
    assert_names_field_and_allowed(info.value, case.fields)
    assert list(standin.requests) == []


@pytest.mark.parametrize("case", BREAKDOWN_CASES.values(), ids=BREAKDOWN_CASES.keys())
def test_invalid_breakdown_option_is_refused_before_any_request(
    case: Bad, quiet_client, standin
) -> None:
    query = vnb.ContactQuery(standin.customer_ids[0])
    options = {"by": ("lead_score",), "start": "2024-01-01", "end": "2025-01-01", **case.kwargs}
    with pytest.raises(vnb.InvalidQueryError) as info:
        quiet_client.breakdown(query, **options)
    assert_names_field_and_allowed(info.value, case.fields)
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


def test_table_covers_every_filter_and_option() -> None:
    """At least 30 cases; every one of the eleven filters and six breakdown options hit."""
    import dataclasses

    filters = {f.name for f in dataclasses.fields(vnb.ContactQuery)}
    hit = {name for case in FILTER_CASES.values() for name in case.kwargs} | {"customer_id"}
    assert filters <= hit, filters - hit
    options = {name for case in BREAKDOWN_CASES.values() for name in case.kwargs}
    assert {"by", "measure", "period", "start", "end", "concurrency"} <= options
    assert len(FILTER_CASES) + len(BREAKDOWN_CASES) + len(FORM_CASES) >= 30


def test_request_log_sees_a_valid_query(quiet_client, standin) -> None:
    """Control: the same route with valid input does reach the stand-in's request log."""
    quiet_client.contacts(customer_id=standin.customer_ids[0], lead_score=5)
    assert [r.status for r in standin.requests] == [200]
