"""Contact-list bodies in the exact API shape, built without the stand-in (parse tests, probe).

`contact_list(n)` makes the ground truth (a frame of kind, id, customer_id, changed_at) and
`json_body` / `xml_body` write it the way Vitec Connect does: camelCase JSON, or .NET
DataContract XML in the seed's namespace. Timestamps are Stockholm local time with an offset
and varying fraction digits, as the seed shows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
XML_NS = "http://schemas.datacontract.org/2004/07/Vitec.Housing.Connect.Api.Models.Contact.Crm"
JSON_LISTS = (
    ("person", "persons"),
    ("company", "companies"),
    ("deceased_estate", "deceasedEstates"),
)
XML_LISTS = (
    ("company", "Companies"),
    ("deceased_estate", "DeceasedEstates"),
    ("person", "Persons"),
)


def contact_list(
    n: int, *, seed: int = 0, offices: tuple[str, ...] = ("M30011",), shares=(0.8, 0.15)
) -> pd.DataFrame:
    """Ground truth for `n` references: persons, companies, deceased estates in that order."""
    rng = np.random.default_rng(seed)
    counts = [int(n * shares[0]), int(n * shares[1])]
    counts.append(n - sum(counts))
    kinds = np.repeat(["person", "company", "deceased_estate"], counts)
    start = pd.Timestamp("2019-01-01", tz="UTC").value // 1000
    span_us = 6 * 365 * 86_400 * 1_000_000
    micros = start + rng.integers(0, span_us, n)
    whole = rng.random(n) < 0.05  # some whole seconds: written without fraction digits
    micros[whole] = micros[whole] // 1_000_000 * 1_000_000
    changed = pd.to_datetime(micros, unit="us", utc=True).tz_convert("Europe/Stockholm")
    ids = [f"CON{seed:02d}{i:014X}" for i in rng.permutation(n)]
    return pd.DataFrame(
        {
            "kind": kinds,
            "id": ids,
            "customer_id": rng.choice(list(offices), n),
            "changed_at": changed.as_unit("ns"),
        }
    )


def _iso(changed: pd.Series) -> list[str]:
    """Stockholm local time with offset, six fraction digits or none, like the API."""
    local = changed.dt.tz_localize(None).to_numpy().astype("M8[us]")
    text = np.datetime_as_string(local, unit="us").astype(object)
    whole = (changed.dt.microsecond == 0).to_numpy()
    offset = np.where(
        (changed.dt.tz_localize(None) - changed.dt.tz_convert("UTC").dt.tz_localize(None))
        == pd.Timedelta(hours=2),
        "+02:00",
        "+01:00",
    )
    return [t[:19] + o if w else t + o for t, w, o in zip(text, whole, offset, strict=True)]


def json_body(truth: pd.DataFrame, *, separators: str = ",") -> bytes:
    """The answer as compact JSON (`separators=", "` mimics Python's json.dumps)."""
    iso = _iso(truth["changed_at"])
    ids, cids = truth["id"].tolist(), truth["customer_id"].tolist()
    kinds = truth["kind"].to_numpy()
    sep = separators
    colon = ":" if sep == "," else ": "
    parts = []
    for kind, name in JSON_LISTS:
        items = sep.join(
            f'{{"id"{colon}"{ids[i]}"{sep}"changedAt"{colon}"{iso[i]}"{sep}'
            f'"customerId"{colon}"{cids[i]}"}}'
            for i in np.flatnonzero(kinds == kind).tolist()
        )
        parts.append(f'"{name}"{colon}[{items}]')
    return ("{" + sep.join(parts) + "}").encode()


def xml_body(truth: pd.DataFrame) -> bytes:
    """The answer as .NET DataContract XML (lists and fields in alphabetical order)."""
    iso = _iso(truth["changed_at"])
    ids, cids = truth["id"].tolist(), truth["customer_id"].tolist()
    kinds = truth["kind"].to_numpy()
    out = [f'<CrmContactList xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{XML_NS}">']
    for kind, name in XML_LISTS:
        out.append(f"<{name}>")
        out.extend(
            f"<CrmContactReference><ChangedAt>{iso[i]}</ChangedAt>"
            f"<CustomerId>{cids[i]}</CustomerId><Id>{ids[i]}</Id></CrmContactReference>"
            for i in np.flatnonzero(kinds == kind).tolist()
        )
        out.append(f"</{name}>")
    out.append("</CrmContactList>")
    return "".join(out).encode()


@pytest.fixture(scope="session")
def seed_json() -> bytes:
    """The seed page's JSON sample body, byte for byte."""
    return (FIXTURES / "seed_sample.json").read_bytes()


@pytest.fixture(scope="session")
def seed_xml() -> bytes:
    """The seed page's XML sample body, byte for byte."""
    return (FIXTURES / "seed_sample.xml").read_bytes()


@pytest.fixture(scope="session")
def vitec_json() -> bytes:
    """Vitec's own documentation sample of `GET CRM/Contact/{customerId}` (help page
    GET-CRM-Contact-customerId, fetched 2026-10-04), byte for byte."""
    return (FIXTURES / "vitec_contact_list.json").read_bytes()


def distinct_ids(body: bytes, customer_id: str = "M30011") -> bytes:
    """A sample body with the placeholder ids made distinct (ADR + 32 hex) and one office.

    Vitec's and the seed's samples repeat one placeholder id in every list, which the parser
    rightly reports as a contract breach; this is the same shape with ids that are not.
    """
    import json

    doc = json.loads(body)
    number = 0
    for refs in doc.values():
        for ref in refs:
            number += 1
            ref["id"] = f"ADR{number:032X}"
            ref["customerId"] = customer_id
    return json.dumps(doc).encode()


@pytest.fixture(scope="session")
def truth_2k() -> pd.DataFrame:
    """2 000 references over three offices."""
    return contact_list(2_000, seed=7, offices=("M30011", "M30012", "S5"))


def million_bodies(n: int, *, seed: int = 0) -> tuple[bytes, bytes]:
    """The same answer of `n` references (ADR + 32 hex ids, two offices, Stockholm times with
    offset and six fraction digits) as JSON and as DataContract XML, built by numpy rows.

    A vectorised cousin of `json_body` / `xml_body` for a million references in a second or
    two: every row has the same width, so a body is one `tobytes()` of a byte matrix.
    """
    from vitec_nb.standin.render import render_local

    rng = np.random.default_rng(seed)
    hexdigits = np.frombuffer(b"0123456789ABCDEF", np.uint8)
    ids = np.hstack([np.broadcast_to(np.frombuffer(b"ADR", np.uint8), (n, 3)),
                     hexdigits[rng.integers(0, 16, (n, 32), dtype=np.uint8)]])  # fmt: skip
    start = pd.Timestamp("2019-01-01", tz="UTC").value
    utc = (
        start
        + rng.integers(0, 6 * 365 * 86_400, n) * 1_000_000_000
        + rng.integers(0, 10**6, n) * 1000
    )
    offset = pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert("Europe/Stockholm")
    offset_ns = (offset.tz_localize(None).asi8 - utc).astype(np.int64)
    stamps = render_local(utc, offset_ns)
    offices = np.frombuffer(b"M30011M30012", np.uint8).reshape(2, 6)[rng.integers(0, 2, n)]
    kinds = np.sort(rng.choice(3, n, p=[0.8, 0.15, 0.05]))  # persons, companies, estates

    def rows(*parts: bytes | np.ndarray) -> np.ndarray:
        return np.hstack([
            np.broadcast_to(np.frombuffer(p, np.uint8), (n, len(p))) if isinstance(p, bytes) else p
            for p in parts
        ])  # fmt: skip

    as_json = rows(b'{"id":"', ids, b'","changedAt":"', stamps, b'","customerId":"', offices,
                   b'"},')  # fmt: skip
    as_xml = rows(b"<CrmContactReference><ChangedAt>", stamps, b"</ChangedAt><CustomerId>",
                  offices, b"</CustomerId><Id>", ids, b"</Id></CrmContactReference>")  # fmt: skip
    json_parts, xml_parts = [], []
    for j, (name, tag) in enumerate((("persons", "Persons"), ("companies", "Companies"),
                                     ("deceasedEstates", "DeceasedEstates"))):  # fmt: skip
        sel = kinds == j
        json_parts.append(b'"' + name.encode() + b'":[' + as_json[sel].tobytes()[:-1] + b"]")
        xml_parts.append(f"<{tag}>".encode() + as_xml[sel].tobytes() + f"</{tag}>".encode())
    xml_open = (
        f'<CrmContactList xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{XML_NS}">'
    )
    json_body_ = b"{" + b",".join(json_parts) + b"}"
    xml_body_ = xml_open.encode() + b"".join(xml_parts[1:] + xml_parts[:1]) + b"</CrmContactList>"
    return json_body_, xml_body_
