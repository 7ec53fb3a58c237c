"""ContactQuery: validation, dates and time zones, API parameters (pure, no network)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pandas as pd
import pytest

from vitec_nb import vocab
from vitec_nb.errors import InvalidQueryError
from vitec_nb.query import (
    PARAMETERS,
    PARAMETERS_BY_API_NAME,
    SCHEDULED_ORDER_TYPES,
    TIMEZONE,
    ContactQuery,
    to_stockholm,
)

SEED_PAGE = Path(__file__).parent / "fixtures" / "seed_help_page.txt"


def seed_example_url() -> str:
    """The curl example URL from the seed help page."""
    match = re.search(r'curl "(https://[^"]+)"', SEED_PAGE.read_text(encoding="utf-8"))
    assert match, "the seed page has a curl example"
    return match.group(1)


# -- the seed page's example --------------------------------------------------------------


def test_seed_example_request_rebuilt_from_a_query_has_the_same_parameters() -> None:
    url = urlsplit(seed_example_url())
    seed_params = dict(parse_qsl(url.query))
    # The seed's generator writes 0 for every integer; 0 is no published service, so the
    # rebuilt request asks for service 2 instead (placeholder customer id as well).
    assert seed_params["ContactScheduledOrderType"] == "0"
    seed_params["ContactScheduledOrderType"] = "2"
    query = ContactQuery.from_params("M30011", seed_params)
    assert query.to_params() == seed_params
    assert list(query.to_params()) == list(seed_params)  # same order as the help page


def test_seed_example_path_has_the_customer_id_after_crm_contact() -> None:
    seed_path = urlsplit(seed_example_url()).path.lstrip("/")
    assert seed_path.rsplit("/", 1)[0] == ContactQuery("M30011").path.rsplit("/", 1)[0]
    assert ContactQuery("M30011").path.endswith("/M30011")


def test_parameters_table_names_the_eleven_filters_in_field_order() -> None:
    fields = [f.name for f in dataclasses.fields(ContactQuery)]
    assert list(PARAMETERS) == fields[:11]
    assert fields[11:] == ["created_to_open", "changed_to_open"]  # flags, not filters
    assert len(PARAMETERS) == 11
    assert all(PARAMETERS_BY_API_NAME[p.api_name] is p for p in PARAMETERS.values())


# -- customer ids -------------------------------------------------------------------------


@pytest.mark.parametrize("cid", ["M30011", "S1", "O42", "G2", "T2"])
def test_customer_id_with_known_prefix_is_accepted(cid: str) -> None:
    assert ContactQuery(cid).customer_id == cid


def test_customer_id_is_upper_cased_and_stripped() -> None:
    assert ContactQuery(" m30011 ").customer_id == "M30011"


@pytest.mark.parametrize("cid", ["X30011", "M", "30011", "M30 011", "M30011a", "", "   "])
def test_customer_id_of_wrong_shape_is_rejected(cid: str) -> None:
    with pytest.raises(InvalidQueryError, match="customer_id") as info:
        ContactQuery(cid)
    assert info.value.field == "customer_id"
    assert info.value.allowed and "M30011" in info.value.allowed


@pytest.mark.parametrize("cid", [30011, None, b"M30011", {"M30011"}])
def test_customer_id_that_is_not_text_is_rejected_by_type(cid: object) -> None:
    with pytest.raises(InvalidQueryError, match="customer_id: must be text"):
        ContactQuery(cid)  # type: ignore[arg-type]


@pytest.mark.parametrize("ids", [["M1", "S2"], ("M1", "S2")])
def test_several_customer_ids_are_stored_as_a_tuple(ids: list[str] | tuple[str, ...]) -> None:
    query = ContactQuery(ids)
    assert query.customer_id == ("M1", "S2")
    assert query.customer_ids == ("M1", "S2")


def test_single_customer_id_is_also_a_one_element_customer_ids() -> None:
    assert ContactQuery("M1").customer_ids == ("M1",)


def test_empty_list_of_customer_ids_is_rejected() -> None:
    with pytest.raises(InvalidQueryError, match="customer_id"):
        ContactQuery([])


def test_duplicate_customer_ids_are_rejected() -> None:
    with pytest.raises(InvalidQueryError, match="M1 given more than once"):
        ContactQuery(["M1", "m1"])


def test_path_of_a_multi_office_query_is_an_error_pointing_to_for_office() -> None:
    with pytest.raises(InvalidQueryError, match="for_office"):
        _ = ContactQuery(["M1", "S2"]).path


def test_to_params_of_a_multi_office_query_is_an_error() -> None:
    with pytest.raises(InvalidQueryError, match="customer_id"):
        ContactQuery(["M1", "S2"], lead_score=1).to_params()


def test_for_office_keeps_the_filters_for_one_office() -> None:
    query = ContactQuery(["M1", "S2"], lead_score=4, agent_id="u1")
    single = query.for_office("s2")
    assert single == ContactQuery("S2", lead_score=4, agent_id="u1")
    assert single.path == "CRM/Contact/S2"


def test_for_office_outside_the_query_is_rejected() -> None:
    with pytest.raises(InvalidQueryError, match="not one of this query's offices"):
        ContactQuery(["M1", "S2"]).for_office("M3")


# -- text filters ---------------------------------------------------------------------------

TEXT_FIELDS = ["agent_id", "custom_field_name", "newsletter_list_id"]


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("value", ["", " ", "\t\n"])
def test_empty_or_whitespace_text_is_rejected(field: str, value: str) -> None:
    with pytest.raises(InvalidQueryError, match=f"{field}: must not be empty") as info:
        ContactQuery("M1", **{field: value})
    assert info.value.field == field


def test_empty_custom_field_value_is_rejected() -> None:
    with pytest.raises(InvalidQueryError, match="custom_field_value: must not be empty"):
        ContactQuery("M1", custom_field_name="f", custom_field_value=" ")


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("value", [5, 5.0, ["a"], b"a"])
def test_text_field_of_another_type_names_the_field_and_type(field: str, value: object) -> None:
    with pytest.raises(InvalidQueryError, match=rf"{field}: must be .*{type(value).__name__}"):
        ContactQuery("M1", **{field: value})


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("value", ["a\x00b", "a\nb", "a\u202eb", "a\u2028b", "\x7f"])
def test_text_with_control_or_invisible_format_characters_is_rejected(
    field: str, value: str
) -> None:
    with pytest.raises(InvalidQueryError, match=f"{field}: .*control character"):
        ContactQuery("M1", **{field: value})


def test_text_longer_than_the_limit_is_rejected_and_unicode_text_is_kept() -> None:
    with pytest.raises(InvalidQueryError, match="agent_id: is 1001 characters long"):
        ContactQuery("M1", agent_id="a" * 1001)
    query = ContactQuery("M1", custom_field_name="Område", custom_field_value="Södermalm ✓")
    assert query.to_params()["CustomFieldValue"] == "Södermalm ✓"


@pytest.mark.parametrize("cid", ["M" + "1" * 40, "../M1", "M1/../M2", "M３"])
def test_customer_id_too_long_or_with_a_path_is_rejected(cid: str) -> None:
    with pytest.raises(InvalidQueryError, match=r"customer_id: .*is not a customer id"):
        ContactQuery(cid)


def test_agent_id_given_as_number_says_it_must_be_a_text_id() -> None:
    with pytest.raises(InvalidQueryError, match="agent_id: must be a text id"):
        ContactQuery("M1", agent_id=5)  # type: ignore[arg-type]


def test_text_filters_are_kept_exactly_as_given() -> None:
    query = ContactQuery("M1", custom_field_name="Intresse", custom_field_value=" Villa ")
    assert query.to_params()["CustomFieldValue"] == " Villa "


def test_custom_field_value_without_a_name_is_rejected() -> None:
    with pytest.raises(InvalidQueryError, match=r"custom_field_value: .*needs custom_field_name"):
        ContactQuery("M1", custom_field_value="villa")


def test_custom_field_name_alone_is_allowed() -> None:
    assert ContactQuery("M1", custom_field_name="Intresse").to_params() == {
        "CustomFieldName": "Intresse"
    }


# -- lead score -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [(0, 0), (5, 5), (3.0, 3), ("3", 3), (" 4 ", 4), (np.int64(2), 2), (np.float64(1.0), 1)],
)
def test_lead_score_accepts_whole_numbers_0_to_5(value: object, stored: int) -> None:
    query = ContactQuery("M1", lead_score=value)  # type: ignore[arg-type]
    assert query.lead_score == stored
    assert type(query.lead_score) is int


@pytest.mark.parametrize("value", [-1, 6, 3.5, True, False, "three", "3.5", "", float("nan"), [3]])
def test_lead_score_rejects_anything_else(value: object) -> None:
    with pytest.raises(InvalidQueryError, match="lead_score") as info:
        ContactQuery("M1", lead_score=value)  # type: ignore[arg-type]
    assert info.value.allowed == "a whole number of stars from 0 to 5"


# -- scheduled order type (the published ContactScheduledOrderType) ---------------------


def test_scheduled_order_types_are_vocab_s_published_services() -> None:
    assert SCHEDULED_ORDER_TYPES is vocab.SCHEDULED_ORDER_TYPES
    names = {n: s.name for n, s in SCHEDULED_ORDER_TYPES.items()}
    assert names == {1: "EstateValue", 2: "FinalPricesInArea", 3: "BoneoSearchProfile"}


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (1, 1),
        (2, 2),
        (3, 3),
        ("2", 2),
        (2.0, 2),
        ("FinalPricesInArea", 2),
        ("final_prices_in_area", 2),
        ("FINALPRICESINAREA", 2),
        ("estatevalue", 1),
        (" Boneo_Search_Profile ", 3),
        (vocab.SCHEDULED_ORDER_TYPES[3], 3),
    ],
)
def test_scheduled_order_type_takes_a_published_service_by_number_or_name(
    value: object, number: int
) -> None:
    query = ContactQuery("M1", scheduled_order_type=value)  # type: ignore[arg-type]
    assert query.scheduled_order_type == number
    assert query.to_params() == {"ContactScheduledOrderType": str(number)}


def test_final_prices_in_area_is_sent_as_2_and_described_by_its_published_name() -> None:
    query = ContactQuery("M30011", scheduled_order_type="FinalPricesInArea")
    assert query.to_params() == {"ContactScheduledOrderType": "2"}
    assert query.describe() == "M30011 · service FinalPricesInArea"


@pytest.mark.parametrize("value", [4, 7, 1234, "12", 2**31])
def test_an_unpublished_positive_integer_is_accepted_and_labelled_by_number(
    value: object,
) -> None:
    query = ContactQuery("M1", scheduled_order_type=value)  # type: ignore[arg-type]
    assert query.scheduled_order_type == int(value)  # type: ignore[call-overload]
    assert query.describe() == f"M1 · service {int(value)}"  # type: ignore[call-overload]


@pytest.mark.parametrize("value", [0, "0", 0.0])
def test_zero_is_refused_as_no_published_service_and_no_active_service_is_derived(
    value: object,
) -> None:
    with pytest.raises(InvalidQueryError, match="0 is not a published service") as info:
        ContactQuery("M1", scheduled_order_type=value)  # type: ignore[arg-type]
    assert "derived bucket in breakdowns" in str(info.value)
    assert info.value.field == "scheduled_order_type"


@pytest.mark.parametrize(
    "name", ["none", "valuation", "sales_start", "market_update", "newsletter"]
)
def test_the_invented_names_of_earlier_versions_are_refused(name: str) -> None:
    with pytest.raises(InvalidQueryError, match="is not a published service"):
        ContactQuery("M1", scheduled_order_type=name)


@pytest.mark.parametrize(
    "value", [-1, "-3", 1.5, True, "no such type", [1], float("nan"), float("inf"), 2**63]
)
def test_scheduled_order_type_rejects_anything_else(value: object) -> None:
    with pytest.raises(InvalidQueryError, match="scheduled_order_type") as info:
        ContactQuery("M1", scheduled_order_type=value)  # type: ignore[arg-type]
    assert info.value.allowed and "FinalPricesInArea" in info.value.allowed


# -- dates ----------------------------------------------------------------------------------


def stockholm(*args: int) -> pd.Timestamp:
    return pd.Timestamp(dt.datetime(*args), tz=TIMEZONE)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2025, 1, 31), stockholm(2025, 1, 31)),
        (dt.datetime(2025, 1, 31, 12, 30), stockholm(2025, 1, 31, 12, 30)),
        (pd.Timestamp("2025-01-31 12:30"), stockholm(2025, 1, 31, 12, 30)),
        ("2025-01-31", stockholm(2025, 1, 31)),
        ("2025-01-31T12:30:00", stockholm(2025, 1, 31, 12, 30)),
        ("2025-01-31 12:30", stockholm(2025, 1, 31, 12, 30)),
        ("2025-07-01T12:00:00.250000", stockholm(2025, 7, 1, 12, 0, 0, 250000)),
        (np.datetime64("2025-01-31T12:30"), stockholm(2025, 1, 31, 12, 30)),
    ],
)
def test_naive_dates_of_each_type_mean_stockholm_local_time(
    value: object, expected: pd.Timestamp
) -> None:
    assert to_stockholm(value) == expected
    assert str(to_stockholm(value).tz) == TIMEZONE


@pytest.mark.parametrize(
    "value",
    [
        "2025-01-31T11:30:00Z",
        "2025-01-31T11:30:00+00:00",
        "2025-01-31T06:30:00-05:00",
        dt.datetime(2025, 1, 31, 11, 30, tzinfo=dt.UTC),
        pd.Timestamp("2025-01-31 11:30", tz="UTC"),
        pd.Timestamp("2025-01-31 20:30", tz="Asia/Tokyo"),
    ],
)
def test_aware_dates_are_converted_to_stockholm(value: object) -> None:
    result = to_stockholm(value)
    assert result == pd.Timestamp("2025-01-31 11:30", tz="UTC")
    assert str(result.tz) == TIMEZONE
    assert result.hour == 12  # CET is UTC+1 in winter


@pytest.mark.parametrize("value", [dt.date(2025, 1, 31), "2025-01-31", " 2025-01-31 "])
@pytest.mark.parametrize("end", ["created_to", "changed_to"])
def test_a_date_as_upper_bound_is_the_whole_day_stored_as_the_open_next_midnight(
    end: str, value: object
) -> None:
    query = ContactQuery("M1", **{end: value})
    assert getattr(query, end) == stockholm(2025, 2, 1)
    assert getattr(query, f"{end}_open") is True
    api = PARAMETERS[end].api_name
    assert query.to_params() == {api: "2025-02-01T00:00:00"}


@pytest.mark.parametrize(
    "value",
    [
        "2025-01-31T00:00:00",
        "2025-01-31T00:00",
        dt.datetime(2025, 1, 31),
        pd.Timestamp("2025-01-31"),
        np.datetime64("2025-01-31T00:00"),
    ],
)
def test_a_value_with_a_time_as_upper_bound_is_that_instant_included(value: object) -> None:
    query = ContactQuery("M1", created_to=value)
    assert query.created_to == stockholm(2025, 1, 31)
    assert query.created_to_open is False
    assert query.to_params() == {"CreatedAtTo": "2025-01-31T00:00:00"}


def test_a_date_as_lower_bound_is_midnight_that_day() -> None:
    query = ContactQuery("M1", created_from=dt.date(2025, 1, 31))
    assert query.created_from == stockholm(2025, 1, 31)
    assert query.to_params() == {"CreatedAtFrom": "2025-01-31T00:00:00"}


def test_the_last_day_of_a_dst_change_ends_at_the_next_local_midnight() -> None:
    # 26 Oct 2025 has 25 hours: its whole day ends at 00:00+01:00 on the 27th.
    query = ContactQuery("M1", changed_to="2025-10-26")
    assert query.changed_to == pd.Timestamp("2025-10-26T23:00:00Z")
    assert query.changed_to.utcoffset() == dt.timedelta(hours=1)


def test_an_explicit_open_flag_takes_the_value_as_the_stored_bound() -> None:
    query = ContactQuery("M1", created_to="2025-02-01T00:00:00", created_to_open=True)
    assert query == ContactQuery("M1", created_to=dt.date(2025, 1, 31))
    closed = ContactQuery("M1", created_to=dt.date(2025, 2, 1), created_to_open=False)
    assert closed.created_to == stockholm(2025, 2, 1) and closed.created_to_open is False


@pytest.mark.parametrize("flag", ["yes", 1, "True"])
def test_open_flag_must_be_a_bool(flag: object) -> None:
    with pytest.raises(InvalidQueryError, match=r"created_to_open: .*not a bool"):
        ContactQuery("M1", created_to="2025-01-01", created_to_open=flag)  # type: ignore[arg-type]


def test_open_flag_without_a_bound_is_refused() -> None:
    with pytest.raises(InvalidQueryError, match="changed_to_open: is True but changed_to"):
        ContactQuery("M1", changed_to_open=True)


def test_replace_of_a_to_bound_follows_the_convention_afresh() -> None:
    whole = ContactQuery("M1", created_to="2025-01-31")
    assert whole.replace(lead_score=3).created_to_open is True
    instant = whole.replace(created_to="2025-01-31T12:00")
    assert (instant.created_to, instant.created_to_open) == (stockholm(2025, 1, 31, 12), False)
    again = instant.replace(created_to=dt.date(2025, 3, 1))
    assert (again.created_to, again.created_to_open) == (stockholm(2025, 3, 2), True)


def test_from_params_reads_a_to_value_as_the_instant_sent() -> None:
    query = ContactQuery.from_params("M1", {"CreatedAtTo": "2025-02-01"})
    assert (query.created_to, query.created_to_open) == (stockholm(2025, 2, 1), False)


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01",
        "1899-12-31T23:59:59",
        "9999-01-01",
        dt.date(1, 1, 1),
        dt.datetime(9999, 12, 31, 23, 59),
        np.datetime64("1850-06-01"),
        "1-01-01T00:00:00",
        "12025-01-01",
    ],
)
def test_years_outside_1900_to_9998_are_refused_explaining_the_range(value: object) -> None:
    with pytest.raises(InvalidQueryError, match="created_to: ") as info:
        ContactQuery("M1", created_to=value)  # type: ignore[arg-type]
    assert "1900-9998" in str(info.value)
    assert "four-digit year" in str(info.value)


def test_the_last_allowed_day_still_has_a_four_digit_next_midnight() -> None:
    query = ContactQuery("M1", created_from="1900-01-01", created_to="9998-12-31")
    assert query.to_params() == {
        "CreatedAtFrom": "1900-01-01T00:00:00",
        "CreatedAtTo": "9999-01-01T00:00:00",
    }


def test_stockholm_s_1916_summer_time_gap_is_refused_and_its_fold_is_first() -> None:
    with pytest.raises(InvalidQueryError, match="does not exist"):
        ContactQuery("M1", created_from="1916-05-14T23:30")
    assert to_stockholm("1916-09-30T23:30").utcoffset() == dt.timedelta(hours=2)


@pytest.mark.parametrize(
    "local", ["2025-03-30T02:00:00", "2025-03-30T02:30:00", "2025-03-30 02:59"]
)
def test_local_time_in_the_spring_dst_gap_is_rejected_naming_the_field(local: str) -> None:
    with pytest.raises(InvalidQueryError, match=r"changed_from: .*does not exist") as info:
        ContactQuery("M1", changed_from=local)
    assert info.value.field == "changed_from"


def test_same_instant_given_with_an_offset_in_the_gap_hour_is_accepted() -> None:
    # 02:30+01:00 is 03:30 summer time: it exists.
    assert to_stockholm("2025-03-30T02:30:00+01:00") == stockholm(2025, 3, 30, 3, 30)


def test_ambiguous_autumn_local_time_means_the_first_occurrence() -> None:
    result = to_stockholm("2025-10-26T02:30:00")
    assert result.utcoffset() == dt.timedelta(hours=2)  # still summer time
    naive = to_stockholm(dt.datetime(2025, 10, 26, 2, 30))
    assert naive == result


def test_ambiguous_datetime_with_fold_1_means_the_second_occurrence() -> None:
    result = to_stockholm(dt.datetime(2025, 10, 26, 2, 30, fold=1))
    assert result.utcoffset() == dt.timedelta(hours=1)


@pytest.mark.parametrize(
    "value",
    [20250131, 1.5, "yesterday", "31/01/2025", "", pd.NaT, np.datetime64("NaT"), ["2025-01-01"]],
)
def test_unusable_date_is_rejected_naming_the_field(value: object) -> None:
    with pytest.raises(InvalidQueryError, match="created_from: ") as info:
        ContactQuery("M1", created_from=value)  # type: ignore[arg-type]
    assert info.value.allowed


@pytest.mark.parametrize(
    "value", ["2025-01-01T00:00:00.0000001", pd.Timestamp("2025-01-01 00:00:00.000000001")]
)
def test_precision_finer_than_a_microsecond_is_rejected(value: object) -> None:
    with pytest.raises(InvalidQueryError, match="finer than a microsecond"):
        to_stockholm(value, field="created_to")


@pytest.mark.parametrize(
    ("start", "end"), [("created_from", "created_to"), ("changed_from", "changed_to")]
)
def test_from_after_to_is_rejected_naming_the_to_field(start: str, end: str) -> None:
    with pytest.raises(InvalidQueryError, match=rf"{end}: .*before {start}"):
        ContactQuery("M1", **{start: "2025-02-01", end: "2025-01-31T23:59:59"})


@pytest.mark.parametrize(
    ("start", "end"), [("created_from", "created_to"), ("changed_from", "changed_to")]
)
def test_from_equal_to_an_included_instant_is_allowed(start: str, end: str) -> None:
    query = ContactQuery("M1", **{start: "2025-02-01", end: "2025-02-01T00:00:00"})
    assert getattr(query, start) == getattr(query, end)


def test_one_whole_day_from_and_to_the_same_date_is_allowed() -> None:
    query = ContactQuery("M1", created_from="2025-02-01", created_to=dt.date(2025, 2, 1))
    assert query.created_to - query.created_from == pd.Timedelta(days=1)
    assert query.describe() == "M1 · created 1 Feb 2025"


def test_from_at_the_open_midnight_is_an_empty_range_and_refused() -> None:
    with pytest.raises(InvalidQueryError, match=r"created_to: 31 Jan 2025 ends before"):
        ContactQuery("M1", created_from="2025-02-01T00:00", created_to="2025-01-31")


def test_from_before_to_is_compared_as_instants_not_as_text() -> None:
    # 01:30 UTC is 02:30 local: after 02:00 local, so the pair is valid.
    query = ContactQuery(
        "M1", created_from="2025-01-31T02:00:00", created_to="2025-01-31T01:30:00Z"
    )
    assert query.created_from < query.created_to


# -- to_params --------------------------------------------------------------------------------


def test_to_params_leaves_out_unset_filters() -> None:
    assert ContactQuery("M1").to_params() == {}


def test_to_params_uses_the_api_names_for_every_filter() -> None:
    query = ContactQuery(
        "M1",
        agent_id="a",
        created_from="2025-01-01",
        created_to="2025-01-02",
        changed_from="2025-01-03",
        changed_to="2025-01-04",
        custom_field_name="n",
        custom_field_value="v",
        lead_score=2,
        scheduled_order_type=3,
        newsletter_list_id="l",
    )
    params = query.to_params()
    expected_names = [p.api_name for p in PARAMETERS.values() if not p.in_path]
    assert list(params) == expected_names
    assert all(isinstance(v, str) for v in params.values())


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("2025-01-31T12:00:00", "2025-01-31T12:00:00"),
        ("2025-01-31T12:00:00.5", "2025-01-31T12:00:00.500000"),
        ("2025-01-31T12:00:00.000001", "2025-01-31T12:00:00.000001"),
        ("2025-01-31T11:00:00Z", "2025-01-31T12:00:00"),
        ("2025-07-31T10:00:00Z", "2025-07-31T12:00:00"),
        (dt.date(2025, 1, 31), "2025-01-31T00:00:00"),
    ],
)
def test_dates_are_sent_as_stockholm_local_time_with_fractions_only_when_set(
    value: object, text: str
) -> None:
    assert ContactQuery("M1", changed_from=value).to_params() == {"ChangedAtFrom": text}


def test_integers_are_sent_as_decimal_strings() -> None:
    params = ContactQuery("M1", lead_score=5.0, scheduled_order_type="17").to_params()
    assert params == {"LeadScore": "5", "ContactScheduledOrderType": "17"}


def test_from_params_round_trips_to_params() -> None:
    query = ContactQuery(
        "M30011",
        agent_id="a1",
        created_from="2025-01-01T10:00:00.123456",
        changed_to="2025-06-01T08:00:00",
        lead_score=4,
        scheduled_order_type=2,
    )
    assert ContactQuery.from_params("M30011", query.to_params()) == query


def test_from_params_matches_api_names_case_insensitively() -> None:
    query = ContactQuery.from_params("M1", {"leadscore": "3", "AGENTID": "a"})
    assert (query.lead_score, query.agent_id) == (3, "a")


def test_from_params_rejects_an_unknown_parameter_by_name() -> None:
    with pytest.raises(InvalidQueryError, match="Colour: is not a parameter"):
        ContactQuery.from_params("M1", {"Colour": "blue"})


# -- replace, equality, display ---------------------------------------------------------------


def test_replace_returns_a_validated_copy() -> None:
    query = ContactQuery("M1", created_from="2025-01-01")
    later = query.replace(created_to="2025-02-01")
    assert later.created_to == stockholm(2025, 2, 2)
    assert query.created_to is None
    assert later.created_to_open is True
    with pytest.raises(InvalidQueryError, match="created_to"):
        query.replace(created_to="2024-12-30")


def test_query_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ContactQuery("M1").lead_score = 3  # type: ignore[misc]


def test_equal_filters_given_differently_make_equal_hashable_queries() -> None:
    a = ContactQuery("m1", lead_score="3", created_from=dt.date(2025, 1, 1))
    b = ContactQuery("M1", lead_score=3, created_from="2024-12-31T23:00:00Z")
    assert a == b
    assert hash(a) == hash(b)


def test_repr_evaluates_back_to_an_equal_query() -> None:
    query = ContactQuery(["M1", "S2"], lead_score=2, changed_from="2025-03-01T08:15:00.5")
    assert eval(repr(query), {"ContactQuery": ContactQuery}) == query


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        (
            {"lead_score": 5, "created_from": "2025-01-01", "created_to": "2025-12-31"},
            "M30011 · created 1 Jan – 31 Dec 2025 · lead score 5",
        ),
        (
            {"created_from": "2024-12-01", "created_to": dt.date(2025, 1, 31)},
            "M30011 · created 1 Dec 2024 – 31 Jan 2025",
        ),
        ({"changed_from": "2025-01-01T08:30"}, "M30011 · changed from 1 Jan 2025 08:30"),
        ({"changed_to": "2025-03-31"}, "M30011 · changed until 31 Mar 2025"),
        (
            {"created_from": "2025-01-01", "created_to": "2025-02-01T00:00"},
            "M30011 · created 1 Jan 2025 – 1 Feb 2025 00:00",
        ),
        (
            {"changed_to": "2025-01-01T12:00:00.5"},
            "M30011 · changed until 1 Jan 2025 12:00:00.500000",
        ),
        ({"agent_id": "HAN1", "newsletter_list_id": "L1"}, "M30011 · agent HAN1 · newsletter L1"),
        ({"custom_field_name": "Intresse", "custom_field_value": "Villa"},
         "M30011 · Intresse = Villa"),
    ],
)  # fmt: skip
def test_describe_says_each_filter_and_the_range_as_the_user_wrote_it(
    kwargs: dict[str, object], text: str
) -> None:
    assert ContactQuery("M30011", **kwargs).describe() == text
