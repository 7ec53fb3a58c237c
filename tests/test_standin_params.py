"""How the stand-in reads contact parameters (pure decision table, no HTTP)."""

from __future__ import annotations

import pandas as pd
import pytest

from vitec_nb.standin.params import (
    ContactFilters,
    InvalidParameters,
    parse_contact_filters,
    parse_datetime,
)

TZ = "Europe/Stockholm"


def ns(text: str, **localize: object) -> int:
    ts = pd.Timestamp(text)
    if ts.tzinfo is None:
        ts = ts.tz_localize(TZ, **localize)
    return ts.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-31", ns("2025-01-31T00:00:00")),
        ("2025-01-31T12:00", ns("2025-01-31T12:00:00")),
        ("2025-01-31T12:00:00", ns("2025-01-31T12:00:00")),
        ("2025-07-31T12:00:00.5", ns("2025-07-31T12:00:00.5")),
        ("2025-07-31T12:00:00.123456", ns("2025-07-31T12:00:00.123456")),
        ("2025-07-31T12:00:00.1234567", ns("2025-07-31T12:00:00.1234567")),
        ("2025-07-31 12:00:00", ns("2025-07-31T12:00:00")),
        ("2025-07-31T12:00:00Z", ns("2025-07-31T12:00:00Z")),
        ("2025-07-31T12:00:00+01:00", ns("2025-07-31T12:00:00+01:00")),
        ("2025-07-31T12:00:00-0330", ns("2025-07-31T12:00:00-03:30")),
        ("2025-10-26T02:30:00", ns("2025-10-26T02:30:00", ambiguous=True)),
        ("2025-03-30T02:30:00", ns("2025-03-30T01:30:00Z")),
    ],
)
def test_dates_are_read_as_stockholm_time_unless_an_offset_is_given(text, expected):
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    "text", ["", "2025", "2025-02-30", "2025-01-01T24:00:00", "31/01/2025", "2025-01-01T1200"]
)
def test_unreadable_dates_are_refused(text):
    with pytest.raises(ValueError):
        parse_datetime(text)


def test_no_parameters_mean_no_filters():
    assert parse_contact_filters({}) == ContactFilters()


def test_names_are_case_insensitive_and_unknown_names_ignored():
    got = parse_contact_filters({"leadscore": "3", "AGENTID": "ABC", "page": "2"})
    assert got == ContactFilters(lead_score=3, agent_id="ABC")


def test_empty_values_mean_not_given():
    assert parse_contact_filters({"LeadScore": "", "AgentId": "  "}) == ContactFilters()


def test_unencoded_plus_in_an_offset_is_read_as_plus():
    got = parse_contact_filters({"CreatedAtFrom": "2025-07-31T12:00:00 02:00"})
    assert got.created_from == ns("2025-07-31T12:00:00+02:00")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"LeadScore": "abc"}, "LeadScore"),
        ({"LeadScore": "1.5"}, "LeadScore"),
        ({"LeadScore": "99999999999"}, "LeadScore"),
        ({"ContactScheduledOrderType": "Weekly"}, "ContactScheduledOrderType"),
        ({"CreatedAtTo": "soon"}, "CreatedAtTo"),
        ({"CustomFieldValue": "Villa"}, "CustomFieldValue"),
    ],
)
def test_invalid_values_are_reported_per_parameter(params, field):
    with pytest.raises(InvalidParameters) as caught:
        parse_contact_filters(params)
    assert list(caught.value.errors) == [field]
    assert caught.value.errors[field][0]
