"""Rendering contact references to bytes: fixed-width JSON and XML rows, whole bodies.

Each contact's reference is rendered once into a fixed-width row of bytes (whitespace
pads rows when customer ids differ in length, which JSON and XML both allow), so an answer
is a numpy gather of rows plus `tobytes()`: no per-contact Python work per request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from vitec_nb.standin.data import Dataset

XML_NAMESPACE = (
    "http://schemas.datacontract.org/2004/07/Vitec.Housing.Connect.Api.Models.Contact.Crm"
)
_XML_OPEN = (
    b'<CrmContactList xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="'
    + XML_NAMESPACE.encode()
    + b'">'
)
_LIST_KEYS = (b"persons", b"companies", b"deceasedEstates")
_XML_KEYS = ((b"Companies", 1), (b"DeceasedEstates", 2), (b"Persons", 0))  # .NET: alphabetical
_HOUR_NS = 3_600_000_000_000


def render_local(utc_ns: np.ndarray, offset_ns: np.ndarray) -> np.ndarray:
    """ISO 8601 local times with offset, 32 bytes each: 2024-11-21T11:13:17.501382+01:00.

    Digits are computed with integer arithmetic into a byte matrix (no string formatting).
    """
    n = utc_ns.shape[0]
    local_us = (utc_ns + offset_ns) // 1000
    days = local_us // 86_400_000_000
    tod = local_us - days * 86_400_000_000
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    year = y.astype(np.int64) + 1970
    month = (m - y.astype("datetime64[M]")).astype(np.int64) + 1
    day = (d - m.astype("datetime64[D]")).astype(np.int64) + 1
    sec, micro = np.divmod(tod, 1_000_000)
    hour, rest = np.divmod(sec, 3600)
    minute, second = np.divmod(rest, 60)
    out = np.empty((n, 32), dtype=np.uint8)
    out[:] = np.frombuffer(b"0000-00-00T00:00:00.000000+01:00", np.uint8)
    for value, pos, width in (
        (year, 0, 4), (month, 5, 2), (day, 8, 2), (hour, 11, 2), (minute, 14, 2),
        (second, 17, 2), (micro, 20, 6),
    ):  # fmt: skip
        for i in range(width - 1, -1, -1):
            value, digit = np.divmod(value, 10)
            out[:, pos + i] += digit.astype(np.uint8)
    out[offset_ns == 2 * _HOUR_NS, 28] = ord("2")
    return out


def _const(text: bytes, n: int) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text, np.uint8), (n, len(text)))


def _customer_tails(ds: Dataset, template: bytes) -> np.ndarray:
    """Per-office padded byte rows from `template` % customer_id (whitespace-padded)."""
    parts = [template.replace(b"{cid}", cid.encode()) for cid in ds.customer_ids]
    width = max(len(p) for p in parts)
    # JSON and XML both allow whitespace between tokens/elements: pad at a safe spot
    return np.array([list(p.replace(b"|", b" " * (width - len(p)))) for p in parts], np.uint8)


def render_json_rows(ds: Dataset) -> np.ndarray:
    n = ds.size
    tails = _customer_tails(ds, b'","customerId":"{cid}"}|,')
    return np.ascontiguousarray(
        np.hstack(
            [
                _const(b'{"id":"', n),
                ds.ids.view(np.uint8).reshape(n, 19),
                _const(b'","changedAt":"', n),
                render_local(ds.changed_ns, ds.changed_offset_ns),
                tails[ds.office],
            ]
        )
    )


def render_xml_rows(ds: Dataset) -> np.ndarray:
    n = ds.size
    tails = _customer_tails(ds, b"</ChangedAt><CustomerId>{cid}</CustomerId>|<Id>")
    return np.ascontiguousarray(
        np.hstack(
            [
                _const(b"<CrmContactReference><ChangedAt>", n),
                render_local(ds.changed_ns, ds.changed_offset_ns),
                tails[ds.office],
                ds.ids.view(np.uint8).reshape(n, 19),
                _const(b"</Id></CrmContactReference>", n),
            ]
        )
    )


def _count(part: np.ndarray | slice) -> int:
    if isinstance(part, slice):
        return max(0, part.stop - part.start)
    return len(part)


def json_body(ds: Dataset, parts: list[np.ndarray | slice]) -> bytes:
    """The JSON contact list of the rows in `parts` (persons, companies, estates)."""
    rows = ds.rows("json")
    out = [b"{"]
    for j, key in enumerate(_LIST_KEYS):
        if j:
            out.append(b",")
        out.append(b'"' + key + b'":[')
        if _count(parts[j]):
            out.append(rows[parts[j]].tobytes()[:-1])  # each row ends with a comma
        out.append(b"]")
    out.append(b"}")
    return b"".join(out)


def xml_body(ds: Dataset, parts: list[np.ndarray | slice]) -> bytes:
    """The XML contact list (DataContract layout) of the rows in `parts`."""
    rows = ds.rows("xml")
    out = [_XML_OPEN]
    for tag, j in _XML_KEYS:
        if _count(parts[j]):
            out += [b"<" + tag + b">", rows[parts[j]].tobytes(), b"</" + tag + b">"]
        else:
            out.append(b"<" + tag + b"/>")
    out.append(b"</CrmContactList>")
    return b"".join(out)
