"""parse_contacts: Vitec's and the seed's samples, the schema, JSON = XML, the dialects Vitec
leaves open (local times, empty lists), contract breaches, malformed bodies, 1M references."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from tests.plugins.parse import (
    XML_NS,
    contact_list,
    distinct_ids,
    json_body,
    million_bodies,
    xml_body,
)
from vitec_nb.errors import MalformedResponseError
from vitec_nb.parse import KINDS, ContractWarning, empty_contacts, parse_contacts

SCHEMA = {
    "kind": pd.CategoricalDtype(["person", "company", "deceased_estate"]),
    "id": pd.StringDtype("pyarrow"),
    "customer_id": "category",
    "changed_at": pd.DatetimeTZDtype("ns", "Europe/Stockholm"),
}
SEED_LISTS = {"person": "persons", "company": "companies", "deceased_estate": "deceasedEstates"}
REPO = Path(__file__).resolve().parent.parent


def assert_schema(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(SCHEMA)
    for column, dtype in SCHEMA.items():
        assert df[column].dtype == dtype, column
    assert list(df["kind"].cat.categories) == list(KINDS)
    assert isinstance(df.index, pd.RangeIndex) and df.index.start == 0


def assert_matches_truth(df: pd.DataFrame, truth: pd.DataFrame) -> None:
    assert len(df) == len(truth)
    assert df["kind"].astype(str).tolist() == truth["kind"].tolist()
    assert df["id"].tolist() == truth["id"].tolist()
    assert df["customer_id"].astype(str).tolist() == truth["customer_id"].tolist()
    assert (df["changed_at"].to_numpy() == truth["changed_at"].to_numpy()).all()


# -- the seed samples -------------------------------------------------------------------------


def seed_truth(seed_json: bytes) -> pd.DataFrame:
    """The seed's JSON sample read with the standard library: what every row must hold."""
    doc = json.loads(seed_json)
    rows = [{**ref, "kind": kind} for kind, name in SEED_LISTS.items() for ref in doc[name]]
    return pd.DataFrame(
        {
            "kind": [r["kind"] for r in rows],
            "id": [r["id"] for r in rows],
            "customer_id": [r["customerId"] for r in rows],
            "changed_at": pd.to_datetime([r["changedAt"] for r in rows]).tz_convert(
                "Europe/Stockholm"
            ),
        }
    )


@pytest.mark.parametrize("sample", ["seed_json", "vitec_json"])
def test_a_sample_with_distinct_ids_parses_to_six_rows_two_of_each_kind(
    sample: str, request: pytest.FixtureRequest
) -> None:
    body = distinct_ids(request.getfixturevalue(sample))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean answer warns about nothing
        df = parse_contacts(body, customer_id="M30011")
    assert_schema(df)
    assert df["kind"].value_counts().to_dict() == {k: 2 for k in KINDS}
    assert_matches_truth(df, seed_truth(body))


@pytest.mark.parametrize("sample", ["seed_json", "vitec_json"])
def test_a_sample_s_repeated_placeholder_id_is_a_contract_breach_kept_once(
    sample: str, request: pytest.FixtureRequest
) -> None:
    body = request.getfixturevalue(sample)
    with pytest.warns(ContractWarning) as caught:
        df = parse_contacts(body)
    assert len(caught) == 1  # once per answer
    text = str(caught[0].message)
    assert "more than one list" in text and "sample string 1" in text
    assert "not data changing" in text
    assert df["id"].tolist() == ["sample string 1"]
    assert df["kind"].tolist() == ["person"]  # the first occurrence


def test_vitec_sample_keeps_seven_fraction_digits_and_the_offset(vitec_json: bytes) -> None:
    df = parse_contacts(distinct_ids(vitec_json))
    first = json.loads(vitec_json)["persons"][0]["changedAt"]
    assert first == "2026-10-04T10:38:07.9668184+02:00"
    assert df["changed_at"].iat[0] == pd.Timestamp("2026-10-04T08:38:07.9668184Z")
    assert df["changed_at"].iat[0].nanosecond == 400


@pytest.mark.filterwarnings("ignore::vitec_nb.parse.ContractWarning")
def test_seed_xml_sample_parses_to_the_same_frame_as_the_json_sample(
    seed_json: bytes, seed_xml: bytes
) -> None:
    pd.testing.assert_frame_equal(
        parse_contacts(seed_xml, format="xml"), parse_contacts(seed_json, format="json")
    )


@pytest.mark.filterwarnings("ignore::vitec_nb.parse.ContractWarning")
def test_changed_at_keeps_the_offset_instant_and_sub_second_precision(seed_json: bytes) -> None:
    first = json.loads(seed_json)["persons"][0]["changedAt"]
    assert parse_contacts(seed_json)["changed_at"].iat[0] == pd.Timestamp(first)


# -- generated bodies -------------------------------------------------------------------------


@pytest.mark.parametrize("separators", [",", ", "])
def test_json_body_parses_to_the_truth_in_kind_then_body_order(
    truth_2k: pd.DataFrame, separators: str
) -> None:
    df = parse_contacts(json_body(truth_2k, separators=separators))
    assert_schema(df)
    assert_matches_truth(df, truth_2k)


def test_xml_body_parses_to_the_truth_although_xml_lists_come_alphabetically(
    truth_2k: pd.DataFrame,
) -> None:
    df = parse_contacts(xml_body(truth_2k), format="xml")
    assert_schema(df)
    assert_matches_truth(df, truth_2k)


def test_pretty_printed_json_parses_like_compact_json(truth_2k: pd.DataFrame) -> None:
    pretty = json.dumps(json.loads(json_body(truth_2k)), indent=2).encode()
    pd.testing.assert_frame_equal(parse_contacts(pretty), parse_contacts(json_body(truth_2k)))


def test_pascal_case_json_keys_are_accepted(truth_2k: pd.DataFrame) -> None:
    doc = json.loads(json_body(truth_2k))
    pascal = {
        name[0].upper() + name[1:]: [
            {k[0].upper() + k[1:]: v for k, v in ref.items()} for ref in refs
        ]
        for name, refs in doc.items()
    }
    df = parse_contacts(json.dumps(pascal).encode())
    assert_matches_truth(df, truth_2k)


def test_body_given_as_str_parses_like_bytes(seed_json: bytes) -> None:
    body = distinct_ids(seed_json)
    pd.testing.assert_frame_equal(parse_contacts(body.decode()), parse_contacts(body))


def test_unknown_extra_keys_are_ignored(truth_2k: pd.DataFrame) -> None:
    doc = json.loads(json_body(truth_2k))
    doc["totalCount"] = len(truth_2k)
    doc["persons"][0]["name"] = "Anna"
    assert_matches_truth(parse_contacts(json.dumps(doc).encode()), truth_2k)


def test_ids_with_escapes_and_non_ascii_round_trip() -> None:
    truth = contact_list(30, seed=3)
    truth.loc[0, "id"] = 'Å"},{\\ä'
    truth.loc[1, "id"] = "a]b"
    body = json.dumps(
        {
            name: [
                {
                    "id": r.id,
                    "changedAt": r.changed_at.isoformat(),
                    "customerId": r.customer_id,
                }
                for r in truth[truth["kind"] == kind].itertuples()
            ]
            for kind, name in SEED_LISTS.items()
        }
    ).encode()
    assert_matches_truth(parse_contacts(body), truth)


# -- changedAt without an offset (Vitec does not say; .NET writes none for a database date) --


def _one(changed: str) -> bytes:
    ref = {"id": "ADR" + "0" * 32, "changedAt": changed, "customerId": "M30011"}
    return json.dumps({"persons": [ref], "companies": [], "deceasedEstates": []}).encode()


@pytest.mark.parametrize(
    ("changed", "instant"),
    [
        ("2026-10-04T10:38:07.9668184", "2026-10-04T08:38:07.9668184Z"),  # summer, 7 digits
        ("2026-01-15T10:38:07.5", "2026-01-15T09:38:07.5Z"),  # winter, 1 digit
        ("2026-01-15T10:38:07", "2026-01-15T09:38:07Z"),  # no fraction
        ("2026-01-15T10:38:07.123", "2026-01-15T09:38:07.123Z"),
        ("2026-01-15T10:38:07.1234567+01:00", "2026-01-15T09:38:07.1234567Z"),
        ("2026-01-15T09:38:07.12Z", "2026-01-15T09:38:07.12Z"),
        ("2025-10-26T02:30:00", "2025-10-26T00:30:00Z"),  # the autumn hour: first occurrence
        ("2025-10-26T02:30:00+01:00", "2025-10-26T01:30:00Z"),  # its second, by offset
        ("2025-03-30T02:30:00", "2025-03-30T01:00:00Z"),  # in the gap: first instant after
    ],
)
def test_changed_at_with_or_without_offset_is_read_as_the_right_instant(
    changed: str, instant: str
) -> None:
    for fmt, body in (("json", _one(changed)), ("xml", _xml_one(changed))):
        df = parse_contacts(body, format=fmt)  # type: ignore[arg-type]
        assert df["changed_at"].iat[0] == pd.Timestamp(instant), fmt
        assert str(df["changed_at"].dt.tz) == "Europe/Stockholm"


def _xml_one(changed: str) -> bytes:
    return (
        f'<CrmContactList xmlns="{XML_NS}"><Persons><CrmContactReference>'
        f"<ChangedAt>{changed}</ChangedAt><CustomerId>M30011</CustomerId>"
        f"<Id>ADR{'0' * 32}</Id></CrmContactReference></Persons></CrmContactList>"
    ).encode()


def _local(body: bytes) -> bytes:
    return body.replace(b"+01:00", b"").replace(b"+02:00", b"")


def test_an_answer_in_local_time_parses_to_the_same_frame_as_with_offsets(
    truth_2k: pd.DataFrame,
) -> None:
    body = json_body(truth_2k)
    assert b"+01:00" in body and b"+02:00" in body and _local(body) != body
    truth = truth_2k.copy()
    # Local times cannot tell the autumn hour's two passes apart: the first is meant.
    wall = truth["changed_at"].dt.tz_localize(None)
    truth["changed_at"] = wall.dt.tz_localize("Europe/Stockholm", ambiguous=True)
    assert_matches_truth(parse_contacts(_local(body)), truth)
    assert_matches_truth(parse_contacts(_local(xml_body(truth_2k)), format="xml"), truth)


def test_a_mix_of_local_and_offset_times_in_one_list_is_read_value_by_value(
    truth_2k: pd.DataFrame,
) -> None:
    body = json_body(truth_2k)
    half = len(body) // 2
    mixed = body[:half] + _local(body[half:])
    df = parse_contacts(mixed)
    assert len(df) == len(truth_2k)
    assert (df["changed_at"] == truth_2k["changed_at"]).mean() > 0.99  # but the autumn hour


# -- contract breaches: an id twice, an id in two lists ------------------------------------


def _with_repeats(truth: pd.DataFrame) -> pd.DataFrame:
    """truth_2k with person 5 again at the end of persons and company 0 among the estates."""
    persons = truth[truth["kind"] == "person"]
    companies = truth[truth["kind"] == "company"]
    estates = truth[truth["kind"] == "deceased_estate"]
    again = persons.iloc[[5]]
    moved = companies.iloc[[0]].assign(kind="deceased_estate")
    return pd.concat([persons, again, companies, moved, estates], ignore_index=True)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_repeated_ids_are_one_contract_warning_naming_the_call_and_kept_once(
    truth_2k: pd.DataFrame, fmt: str
) -> None:
    repeated = _with_repeats(truth_2k)
    body = json_body(repeated) if fmt == "json" else xml_body(repeated)
    with pytest.warns(ContractWarning) as caught:
        df = parse_contacts(body, format=fmt, call="CRM/Contact/M30011?LeadScore=5")  # type: ignore[arg-type]
    assert len(caught) == 1
    text = str(caught[0].message)
    assert "CRM/Contact/M30011?LeadScore=5" in text
    assert "1 id(s) appear more than once in one list" in text
    assert "1 id(s) are in more than one list (companies, deceasedEstates" in text
    assert "2 row(s) dropped" in text and "changing" in text
    if fmt == "json":
        assert_matches_truth(df, truth_2k)  # every id once, in its first list
    else:
        assert sorted(df["id"].tolist()) == sorted(truth_2k["id"].tolist())


def test_an_answer_without_repeats_warns_about_nothing(truth_2k: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parse_contacts(json_body(truth_2k), call="CRM/Contact/M30011")


def test_ids_of_uneven_length_are_checked_exactly() -> None:
    refs = [{"id": i, "changedAt": "2026-01-01T10:00:00", "customerId": "M1"} for i in "ab"]
    refs.append({"id": "ADR1", "changedAt": "2026-01-01T10:00:00", "customerId": "M1"})
    doc = {"persons": refs, "companies": refs[:1], "deceasedEstates": []}
    with pytest.warns(ContractWarning, match="in more than one list"):
        df = parse_contacts(json.dumps(doc).encode())
    assert df["id"].tolist() == ["a", "b", "ADR1"]


# -- customer ids ---------------------------------------------------------------------------


def test_customer_id_categories_are_the_offices_in_the_body(truth_2k: pd.DataFrame) -> None:
    df = parse_contacts(json_body(truth_2k))
    assert set(df["customer_id"].cat.categories) == set(truth_2k["customer_id"])


def test_customer_id_argument_is_always_a_category(seed_json: bytes) -> None:
    df = parse_contacts(distinct_ids(seed_json, "M30011"), customer_id="M30011")
    assert "M30011" in df["customer_id"].cat.categories


def test_references_of_another_office_are_a_contract_breach_kept_as_sent(
    truth_2k: pd.DataFrame,
) -> None:
    with pytest.warns(ContractWarning, match="another office than G2") as caught:
        df = parse_contacts(json_body(truth_2k), customer_id="G2", call="CRM/Contact/G2")
    assert len(caught) == 1
    counts = truth_2k["customer_id"].value_counts()
    for office in ("M30011", "M30012", "S5"):
        assert f"{counts[office]} of {office}" in str(caught[0].message)
    assert "CRM/Contact/G2" in str(caught[0].message)
    assert df["customer_id"].cat.categories[0] == "G2"
    assert df["customer_id"].astype(str).tolist() == truth_2k["customer_id"].tolist()


def test_without_an_office_argument_several_offices_are_no_breach(truth_2k: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_matches_truth(parse_contacts(json_body(truth_2k)), truth_2k)


def test_missing_customer_id_is_filled_from_the_argument(seed_json: bytes) -> None:
    doc = json.loads(distinct_ids(seed_json, "M30011"))
    del doc["companies"][1]["customerId"]
    df = parse_contacts(json.dumps(doc).encode(), customer_id="M30011")
    assert df["customer_id"].iat[3] == "M30011"
    assert df["customer_id"].iat[2] == doc["companies"][0]["customerId"]


# -- empty answers ----------------------------------------------------------------------------

EMPTY_BODIES = {
    "json": b'{"persons":[],"companies":[],"deceasedEstates":[]}',
    "xml": (
        b'<CrmContactList xmlns="http://schemas.datacontract.org/2004/07/'
        b'Vitec.Housing.Connect.Api.Models.Contact.Crm"><Companies/><DeceasedEstates/>'
        b"<Persons/></CrmContactList>"
    ),
}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_empty_answer_is_an_empty_frame_with_the_schema(fmt: str) -> None:
    df = parse_contacts(EMPTY_BODIES[fmt], format=fmt)  # type: ignore[arg-type]
    assert len(df) == 0
    assert_schema(df)


@pytest.mark.parametrize("empty", ["[]", "null", "absent"])
@pytest.mark.parametrize("which", ["persons", "companies", "deceasedEstates"])
def test_an_empty_list_sent_as_brackets_null_or_left_out_is_empty(
    seed_json: bytes, which: str, empty: str
) -> None:
    doc = json.loads(distinct_ids(seed_json))
    if empty == "absent":
        del doc[which]
    else:
        doc[which] = json.loads(empty)
    df = parse_contacts(json.dumps(doc).encode())
    kinds = [k for k, name in SEED_LISTS.items() if name != which for _ in range(2)]
    assert df["kind"].astype(str).tolist() == kinds
    assert_schema(df)


@pytest.mark.parametrize(
    "body", [b"{}", b'{"persons":null,"companies":null,"deceasedEstates":null}', b'{"persons":[]}']
)
def test_an_answer_with_every_list_empty_in_any_spelling_is_an_empty_frame(body: bytes) -> None:
    df = parse_contacts(body, customer_id="M30011")
    assert len(df) == 0
    assert_schema(df)


@pytest.mark.parametrize(
    "lists",
    [
        "<Companies/><DeceasedEstates/>",
        '<Companies i:nil="true"/><DeceasedEstates i:nil="true"/><Persons i:nil="true"/>',
        "",
    ],
    ids=["persons missing", "all nil", "all missing"],
)
def test_xml_lists_left_out_or_nil_are_empty(lists: str) -> None:
    body = (
        '<CrmContactList xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="'
        f'{XML_NS}">{lists}</CrmContactList>'
    ).encode()
    df = parse_contacts(body, format="xml")
    assert len(df) == 0
    assert_schema(df)


def test_xml_with_a_list_left_out_keeps_the_others(truth_2k: pd.DataFrame) -> None:
    body = xml_body(truth_2k)
    start, end = body.index(b"<Companies>"), body.index(b"</Companies>") + len(b"</Companies>")
    df = parse_contacts(body[:start] + body[end:], format="xml")
    assert_matches_truth(df, truth_2k[truth_2k["kind"] != "company"].reset_index(drop=True))


def test_empty_contacts_has_the_schema_and_the_office_category() -> None:
    df = empty_contacts("M30011")
    assert len(df) == 0
    assert_schema(df)
    assert list(df["customer_id"].cat.categories) == ["M30011"]


def test_empty_frame_concatenates_with_a_full_one_keeping_dtypes(seed_json: bytes) -> None:
    full = parse_contacts(distinct_ids(seed_json))
    both = pd.concat([empty_contacts(), full], ignore_index=True)
    assert both["kind"].dtype == SCHEMA["kind"]
    assert both["changed_at"].dtype == SCHEMA["changed_at"]
    assert both["id"].dtype == SCHEMA["id"]


# -- malformed bodies -------------------------------------------------------------------------


def _edit_ref(body: bytes, change: dict) -> bytes:
    doc = json.loads(body)
    ref = doc["companies"][1]
    for key, value in change.items():
        if value is KeyError:
            del ref[key]
        else:
            ref[key] = value
    return json.dumps(doc).encode()


MALFORMED_JSON = {
    "not json": (lambda b: b"<html><body>Service Unavailable</body></html>", "not valid JSON"),
    "truncated": (lambda b: b[: len(b) // 2], "not valid JSON"),
    "empty body": (lambda b: b"", "not valid JSON"),
    "a list": (lambda b: b"[]", "not a contact list"),
    "missing comma between references": (
        lambda b: b.replace(b"},\n    {", b"}\n    {", 1),
        "not valid JSON",
    ),
    "two documents": (lambda b: b + b, "not valid JSON"),
    "no list at all": (
        lambda b: b'{"Message": "An error has occurred."}',
        "none of the lists persons, companies and deceasedEstates",
    ),
    "list not a list": (
        lambda b: b.replace(b'"companies": [', b'"companies": {"x": [', 1).replace(
            b'\n  ],\n  "deceasedEstates"', b'\n  ]},\n  "deceasedEstates"', 1
        ),
        "companies is a dict",
    ),
    "item missing id": (
        lambda b: _edit_ref(b, {"id": KeyError}),
        "Reference 1 of companies has no id",
    ),
    "item null id": (lambda b: _edit_ref(b, {"id": None}), "Reference 1 of companies has an empty"),
    "item numeric id": (lambda b: _edit_ref(b, {"id": 17}), "id that is int"),
    "item missing changedAt": (
        lambda b: _edit_ref(b, {"changedAt": KeyError}),
        "Reference 1 of companies has no changedAt",
    ),
    "bad changedAt": (
        lambda b: _edit_ref(b, {"changedAt": "yesterday"}),
        "changedAt 'yesterday', which is not an ISO 8601",
    ),
    "changedAt date only": (
        lambda b: _edit_ref(b, {"changedAt": "2024-11-21T"}),
        "not an ISO 8601 date-time",
    ),
    "missing customerId": (
        lambda b: _edit_ref(b, {"customerId": KeyError}),
        "has no customerId",
    ),
    "item not an object": (
        lambda b: json.dumps({**json.loads(b), "persons": ["abc"]}).encode(),
        "Reference 0 of persons is str",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_JSON))
def test_malformed_json_raises_a_readable_error(seed_json: bytes, case: str) -> None:
    make, expected = MALFORMED_JSON[case]
    with pytest.raises(MalformedResponseError, match=expected):
        parse_contacts(make(seed_json))


MALFORMED_XML = {
    "not xml": (lambda b: b'{"persons": []}', "not valid XML"),
    "truncated": (lambda b: b[: len(b) // 2], "not valid XML"),
    "wrong root": (lambda b: b"<Error><Message>no</Message></Error>", "root is <Error>"),
    "item missing id": (
        lambda b: b.replace(b"<Id>sample string 1</Id>", b"", 1),
        "Reference 0 of companies has no id",
    ),
    "bad changedAt": (
        lambda b: b.replace(b"2024-11-21T11:13:17.501382+01:00", b"soon", 1),
        "changedAt 'soon'",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_XML))
def test_malformed_xml_raises_a_readable_error(seed_xml: bytes, case: str) -> None:
    make, expected = MALFORMED_XML[case]
    with pytest.raises(MalformedResponseError, match=expected):
        parse_contacts(make(seed_xml), format="xml")


def test_xml_entity_declarations_are_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><CrmContactList>&b;</CrmContactList>'
    )
    with pytest.raises(MalformedResponseError, match="entities"):
        parse_contacts(bomb, format="xml")


def test_error_message_quotes_at_most_about_80_characters_of_the_body() -> None:
    body = b'{"persons": "' + b"x" * 10_000 + b'"}'
    with pytest.raises(MalformedResponseError) as info:
        parse_contacts(body)
    assert len(str(info.value)) < 250
    assert "xxxx" in str(info.value)


def test_error_for_a_truncated_large_body_stays_short(truth_2k: pd.DataFrame) -> None:
    body = json_body(truth_2k)
    with pytest.raises(MalformedResponseError) as info:
        parse_contacts(body[:-5])
    assert len(str(info.value)) < 250


def test_unknown_format_is_rejected(seed_json: bytes) -> None:
    with pytest.raises(ValueError, match="format"):
        parse_contacts(seed_json, format="csv")  # type: ignore[arg-type]


# -- a million references ---------------------------------------------------------------------

# Peak resident memory of a fresh interpreter that reads the body and parses it. VmHWM is
# per address space; ru_maxrss would inherit the (large) test process's peak across exec.
PEAK_PROBE = textwrap.dedent(
    """
    import re, sys
    import pandas as pd
    from vitec_nb.parse import parse_contacts
    body = open(sys.argv[1], "rb").read()
    df = parse_contacts(body)
    status = open("/proc/self/status").read()
    peak_kib = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
    del body
    df.to_parquet(sys.argv[2])
    print(peak_kib * 1024)
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_a_million_references_parse_under_500_mb_peak_and_equal_the_input(
    tmp_path: Path,
) -> None:
    truth = contact_list(1_000_000, seed=11, offices=("M30011", "M30012"))
    body_path, frame_path = tmp_path / "body.json", tmp_path / "frame.parquet"
    body_path.write_bytes(json_body(truth))
    done = subprocess.run(
        [sys.executable, "-c", PEAK_PROBE, str(body_path), str(frame_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    peak = int(done.stdout.split()[-1])
    assert peak < 500_000_000, f"peak RSS {peak / 1e6:.0f} MB"
    df = pd.read_parquet(frame_path)
    assert_matches_truth(df, truth)


def test_id_column_is_pyarrow_backed(seed_json: bytes) -> None:
    ids = parse_contacts(distinct_ids(seed_json))["id"].array
    assert isinstance(ids, pd.arrays.ArrowStringArray)
    assert pa.types.is_large_string(ids._pa_array.type) or pa.types.is_string(ids._pa_array.type)


# -- the stand-in's dialects: every undocumented shape parses to the same contacts ----------


@pytest.mark.parametrize("dialect", ["local-times", "null-lists", "absent-lists"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_stand_in_s_answers_in_each_dialect_parse_to_the_documented_answer(
    make_standin, dialect: str, fmt: str
) -> None:
    import requests

    s = make_standin(seed=3, contacts=3000, offices=2)
    office = s.customer_ids[0]
    headers = {"Accept": "application/xml"} if fmt == "xml" else {}

    def answer(params: dict[str, str]) -> pd.DataFrame:
        url = f"{s.url}/CRM/Contact/{office}"
        got = requests.get(url, params=params, auth=(s.username, s.password), headers=headers)
        got.raise_for_status()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the stand-in keeps the contract
            return parse_contacts(got.content, format=fmt, customer_id=office)  # type: ignore[arg-type]

    # the whole office, and a filter that leaves lists empty (a deceased estate has no stars)
    for params in ({}, {"LeadScore": "5"}, {"CreatedAtFrom": "2999-01-01T00:00:00"}):
        s.set_dialect("documented")
        expected = answer(params)
        s.set_dialect(dialect)
        got = answer(params)
        if dialect == "local-times":  # the autumn hour's second pass reads as its first
            wall = expected["changed_at"].dt.tz_localize(None)
            expected["changed_at"] = wall.dt.tz_localize("Europe/Stockholm", ambiguous=True)
        pd.testing.assert_frame_equal(got, expected)


# -- XML: the DataContract scan, the strict parser, entity tricks -------------------------

XML_HEAD = f'<CrmContactList xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{XML_NS}">'


def _strict(body: bytes) -> bytes:
    """The same answer with a comment after the root's start tag: well-formed XML that the
    DataContract scan leaves to the strict (streaming) parser."""
    start = body.index(b">") + 1
    return body[:start] + b"<!-- read by the strict parser -->" + body[start:]


def test_xml_the_scan_leaves_to_the_strict_parser_reads_to_the_same_frame(
    truth_2k: pd.DataFrame,
) -> None:
    body = xml_body(truth_2k)
    scanned = parse_contacts(body, format="xml")
    pd.testing.assert_frame_equal(parse_contacts(_strict(body), format="xml"), scanned)
    assert_matches_truth(scanned, truth_2k)


def _ref(changed: str, cid: str, rid: str, ws: str = "") -> str:
    return (
        f"<CrmContactReference>{ws}<ChangedAt>{changed}</ChangedAt>{ws}<CustomerId>{cid}"
        f"</CustomerId>{ws}<Id>{rid}</Id>{ws}</CrmContactReference>"
    )


XML_DIALECTS = {
    "declaration and BOM": b"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?>\n"
    + XML_HEAD.encode()
    + f"<Persons>{_ref('2026-01-15T10:38:07+01:00', 'M30011', 'ADR1')}</Persons>".encode()
    + b"</CrmContactList>\n",
    "pretty-printed": (
        f"{XML_HEAD}\n  <Companies />\n  <Persons>\n    "
        f"{_ref('2026-01-15T10:38:07+01:00', 'M30011', 'ADR1', chr(10) + '      ')}\n"
        "  </Persons>\n</CrmContactList>\n"
    ).encode(),
    "namespace prefixes": (
        f'<c:CrmContactList xmlns:c="{XML_NS}"><c:Persons><c:CrmContactReference>'
        "<c:ChangedAt>2026-01-15T10:38:07+01:00</c:ChangedAt><c:CustomerId>M30011"
        "</c:CustomerId><c:Id>ADR1</c:Id></c:CrmContactReference></c:Persons></c:CrmContactList>"
    ).encode(),
    "local time, nil and empty lists": (
        f'{XML_HEAD}<Companies i:nil="true"/><DeceasedEstates></DeceasedEstates>'
        f"<Persons>{_ref('2026-01-15T10:38:07', 'M30011', 'ADR1')}</Persons></CrmContactList>"
    ).encode(),
    "latin-1 encoding": (
        "<?xml version='1.0' encoding='iso-8859-1'?>" + XML_HEAD
        + f"<Persons>{_ref('2026-01-15T10:38:07+01:00', 'M30011', 'ADR1')}</Persons>"
        "</CrmContactList>"
    ).encode("latin-1"),
}  # fmt: skip


@pytest.mark.parametrize("dialect", sorted(XML_DIALECTS))
def test_xml_in_every_shape_reads_the_same_one_reference(dialect: str) -> None:
    df = parse_contacts(XML_DIALECTS[dialect], format="xml", customer_id="M30011")
    assert_schema(df)
    assert df["id"].tolist() == ["ADR1"] and df["kind"].tolist() == ["person"]
    assert df["changed_at"].iat[0] == pd.Timestamp("2026-01-15T09:38:07Z")


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("ADR&amp;1", "ADR&1"),
        ("&#x41;DR&lt;1&gt;", "ADR<1>"),
        ("<![CDATA[ADR<&]]>1", "ADR<&1"),
        ("Å]ä", "Å]ä"),
        (" ADR1 ", " ADR1 "),
    ],
    ids=["entity", "character references", "CDATA", "non-ASCII and ]", "spaces kept"],
)
def test_xml_escaped_characters_and_cdata_in_ids_are_read_as_text(written: str, read: str) -> None:
    body = f"{XML_HEAD}<Persons>{_ref('2026-01-15T10:38:07Z', 'M30011', written)}</Persons>"
    df = parse_contacts((body + "</CrmContactList>").encode(), format="xml")
    assert df["id"].tolist() == [read]


ENTITY_TRICKS = {
    "entity expansion": (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><CrmContactList>&b;</CrmContactList>'
    ),
    "external entity": (
        b'<!DOCTYPE CrmContactList [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<CrmContactList><Persons><CrmContactReference><Id>&x;</Id>"
        b"</CrmContactReference></Persons></CrmContactList>"
    ),
    "external DTD": b'<!DOCTYPE CrmContactList SYSTEM "http://127.0.0.1:9/x.dtd"><CrmContactList/>',
    "bare DTD": b"\xef\xbb\xbf<!DOCTYPE CrmContactList><CrmContactList/>",
    "parameter entity": (
        b'<!DOCTYPE l [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p">%p;]><CrmContactList/>'
    ),
}


@pytest.mark.parametrize("trick", sorted(ENTITY_TRICKS))
def test_xml_with_a_dtd_or_entities_is_refused_with_a_clear_error(trick: str) -> None:
    with pytest.raises(MalformedResponseError, match="declares entities or a DTD") as info:
        parse_contacts(ENTITY_TRICKS[trick], format="xml")
    assert "refused for safety" in str(info.value) and len(str(info.value)) < 350


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda b: b[:-20], "not valid XML"),
        (lambda b: b.replace(b"<Id>", b"<Id>\xff", 1), "not valid XML"),
        (lambda b: b.replace(b"</Persons>", b"</Person>", 1), "not valid XML"),
        (lambda b: b.replace(b"<Id>", b"<Id>a<b>", 1), "not valid XML"),
    ],
    ids=["truncated", "not UTF-8", "mismatched tag", "stray tag"],
)
def test_xml_the_scan_refuses_is_a_readable_error(
    truth_2k: pd.DataFrame, change, expected: str
) -> None:
    with pytest.raises(MalformedResponseError, match=expected):
        parse_contacts(change(xml_body(truth_2k)), format="xml")


def test_xml_a_bad_reference_deep_in_a_long_list_is_named_by_its_index() -> None:
    truth = contact_list(70_000, seed=5, shares=(1.0, 0.0))
    body = xml_body(truth)
    at = body.index(b"<ChangedAt>", 0)
    for _ in range(66_000):
        at = body.index(b"<ChangedAt>", at + 1)
    body = body[:at] + b"<ChangedAt>soon" + body[body.index(b"</ChangedAt>", at) :]
    with pytest.raises(MalformedResponseError, match="Reference 66000 of persons has changedAt"):
        parse_contacts(body, format="xml")


@pytest.mark.slow
def test_xml_and_json_of_a_million_references_give_identical_frames() -> None:
    as_json, as_xml = million_bodies(1_000_000, seed=13)
    from_json = parse_contacts(as_json)
    del as_json
    from_xml = parse_contacts(as_xml, format="xml")
    assert len(from_xml) == 1_000_000 and from_xml["id"].str.len().eq(35).all()
    assert set(from_xml["customer_id"].cat.categories) == {"M30011", "M30012"}
    assert_same_frame(from_xml, from_json)


def assert_same_frame(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """assert_frame_equal for large frames: columns, dtypes, index and values compared as
    Arrow arrays (pandas' own comparison of a million pyarrow strings takes half a minute)."""
    assert list(left.columns) == list(right.columns)
    assert left.dtypes.to_dict() == right.dtypes.to_dict()
    assert left.index.equals(right.index)
    for column in left.columns:
        assert pa.array(left[column]).equals(pa.array(right[column])), column


def _reordered(body: bytes) -> bytes:
    """The same answer with the lists in the order deceasedEstates, persons, companies."""
    persons, rest = body[1:-1].split(b',"companies":', 1)
    companies, estates = rest.split(b',"deceasedEstates":', 1)
    return b'{"deceasedEstates":' + estates + b"," + persons + b',"companies":' + companies + b"}"


LARGE_JSON = {
    "compact": lambda b: b,
    "spaces between references": lambda b: b.replace(b"},{", b"},\n  {"),
    "lists in another order": _reordered,
    "an extra key": lambda b: b[:-1] + b',"totalCount":400000}',
    "an extra field": lambda b: b.replace(b'"},{"id"', b'","name":"x"},{"id"', 1),
}


@pytest.fixture(scope="module")
def twins_400k() -> tuple[bytes, pd.DataFrame]:
    """400 000 references as JSON (46 MB) and the frame of the same answer's XML."""
    as_json, as_xml = million_bodies(400_000, seed=17)
    return as_json, parse_contacts(as_xml, format="xml")


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(LARGE_JSON))
def test_a_json_answer_read_in_pieces_equals_its_xml_twin(variant: str, twins_400k) -> None:
    """More than 32 MB of JSON is read in pieces (parse_json.PIECE): whatever the body's
    layout, the frame is the one its XML twin gives."""
    as_json, from_xml = twins_400k
    body = LARGE_JSON[variant](as_json)
    assert len(body) > 40_000_000
    assert_same_frame(parse_contacts(body), from_xml)
