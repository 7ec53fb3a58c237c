"""parse_contacts: the seed samples, the schema, JSON = XML, malformed bodies, 1M references."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from tests.plugins.parse import contact_list, json_body, xml_body
from vitec_nb.errors import MalformedResponseError
from vitec_nb.parse import KINDS, empty_contacts, parse_contacts

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


def test_seed_json_sample_parses_to_six_rows_two_of_each_kind(seed_json: bytes) -> None:
    df = parse_contacts(seed_json, format="json")
    assert_schema(df)
    assert df["kind"].value_counts().to_dict() == {k: 2 for k in KINDS}
    assert_matches_truth(df, seed_truth(seed_json))


def test_seed_xml_sample_parses_to_the_same_frame_as_the_json_sample(
    seed_json: bytes, seed_xml: bytes
) -> None:
    pd.testing.assert_frame_equal(
        parse_contacts(seed_xml, format="xml"), parse_contacts(seed_json, format="json")
    )


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
    pd.testing.assert_frame_equal(parse_contacts(seed_json.decode()), parse_contacts(seed_json))


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


# -- customer ids ---------------------------------------------------------------------------


def test_customer_id_categories_are_the_offices_in_the_body(truth_2k: pd.DataFrame) -> None:
    df = parse_contacts(json_body(truth_2k))
    assert set(df["customer_id"].cat.categories) == set(truth_2k["customer_id"])


def test_customer_id_argument_is_always_a_category(seed_json: bytes) -> None:
    df = parse_contacts(seed_json, customer_id="M30011")
    assert "M30011" in df["customer_id"].cat.categories


def test_customer_id_argument_for_another_office_keeps_the_body_values(
    truth_2k: pd.DataFrame,
) -> None:
    df = parse_contacts(json_body(truth_2k), customer_id="G2")
    assert df["customer_id"].cat.categories[0] == "G2"
    assert df["customer_id"].astype(str).tolist() == truth_2k["customer_id"].tolist()


def test_missing_customer_id_is_filled_from_the_argument(seed_json: bytes) -> None:
    doc = json.loads(seed_json)
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


def test_list_sent_as_null_counts_as_empty(seed_json: bytes) -> None:
    doc = json.loads(seed_json)
    doc["companies"] = None
    df = parse_contacts(json.dumps(doc).encode())
    assert df["kind"].astype(str).tolist() == ["person"] * 2 + ["deceased_estate"] * 2


def test_empty_contacts_has_the_schema_and_the_office_category() -> None:
    df = empty_contacts("M30011")
    assert len(df) == 0
    assert_schema(df)
    assert list(df["customer_id"].cat.categories) == ["M30011"]


def test_empty_frame_concatenates_with_a_full_one_keeping_dtypes(seed_json: bytes) -> None:
    full = parse_contacts(seed_json)
    both = pd.concat([empty_contacts(), full], ignore_index=True)
    assert both["kind"].dtype == SCHEMA["kind"]
    assert both["changed_at"].dtype == SCHEMA["changed_at"]
    assert both["id"].dtype == SCHEMA["id"]


# -- malformed bodies -------------------------------------------------------------------------


def _without(body: bytes, key: str) -> bytes:
    doc = json.loads(body)
    del doc[key]
    return json.dumps(doc).encode()


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
    "missing list": (lambda b: _without(b, "deceasedEstates"), "no deceasedEstates list"),
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
    "changedAt without offset": (
        lambda b: _edit_ref(b, {"changedAt": "2024-11-21T11:13:17"}),
        "with a UTC offset",
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
    "missing list": (
        lambda b: b.replace(b"<Persons>", b"<People>").replace(b"</Persons>", b"</People>"),
        "no persons list",
    ),
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
    ids = parse_contacts(seed_json)["id"].array
    assert isinstance(ids, pd.arrays.ArrowStringArray)
    assert pa.types.is_large_string(ids._pa_array.type) or pa.types.is_string(ids._pa_array.type)
