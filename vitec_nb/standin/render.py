"""Rendering contact references to bytes: fixed-width JSON and XML rows, whole bodies.

Each contact's reference is rendered once into a fixed-width row of bytes (whitespace
pads rows where a timestamp is shorter or customer ids differ in length, which JSON and
XML both allow), so an answer is a numpy gather of rows plus `tobytes()`: no per-contact
Python work per request. Timestamps are written the way .NET writes a DateTime: local
time, up to 7 fractional digits with trailing zeros dropped, and the offset only when the
dialect has one (`2024-11-21T11:13:17.50138+01:00`, `2024-11-21T00:00:00`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np

from vitec_nb.vocab import TIMEZONE

if TYPE_CHECKING:
    from vitec_nb.standin.data import Dataset

XML_NAMESPACE = (
    "http://schemas.datacontract.org/2004/07/Vitec.Housing.Connect.Api.Models.Contact.Crm"
)
XML_INSTANCE = "http://www.w3.org/2001/XMLSchema-instance"
_XML_OPEN = (
    b'<CrmContactList xmlns:i="' + XML_INSTANCE.encode() + b'" xmlns="'
    + XML_NAMESPACE.encode() + b'">'
)  # fmt: skip
_LIST_KEYS = (b"persons", b"companies", b"deceasedEstates")
_XML_KEYS = ((b"Companies", 1), (b"DeceasedEstates", 2), (b"Persons", 0))  # .NET: alphabetical
_HOUR_NS = 3_600_000_000_000
STOCKHOLM = ZoneInfo(TIMEZONE)


def format_local(utc_ns: int, offset: bool = True) -> str:
    """One instant as .NET writes it: Stockholm local time, trailing zeros dropped."""
    seconds, ns = divmod(int(utc_ns), 1_000_000_000)
    local = dt.datetime.fromtimestamp(seconds, tz=STOCKHOLM)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{ns // 100:07d}".rstrip("0")
    if digits:
        text += "." + digits
    if offset:
        z = local.strftime("%z")
        text += f"{z[:3]}:{z[3:]}"
    return text


def render_local(utc_ns: np.ndarray, offset_ns: np.ndarray, offset: bool = True) -> np.ndarray:
    """ISO 8601 local times, 32 bytes each (26 without offset), six fractional digits.

    Digits are computed with integer arithmetic into a byte matrix (no string formatting);
    `trailing_zeros()` says how many bytes a row may drop.
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
    template = b"0000-00-00T00:00:00.000000+01:00" if offset else b"0000-00-00T00:00:00.000000"
    out = np.empty((n, len(template)), dtype=np.uint8)
    out[:] = np.frombuffer(template, np.uint8)
    for value, pos, width in (
        (year, 0, 4), (month, 5, 2), (day, 8, 2), (hour, 11, 2), (minute, 14, 2),
        (second, 17, 2), (micro, 20, 6),
    ):  # fmt: skip
        for i in range(width - 1, -1, -1):
            value, digit = np.divmod(value, 10)
            out[:, pos + i] += digit.astype(np.uint8)
    if offset:
        out[offset_ns == 2 * _HOUR_NS, 28] = ord("2")
    return out


def trailing_zeros(utc_ns: np.ndarray) -> np.ndarray:
    """Bytes to drop after the sixth fractional digit: its zeros, and the dot if all are."""
    micro = (utc_ns // 1000) % 1_000_000
    drop = np.zeros(utc_ns.shape[0], dtype=np.int64)
    for power in range(1, 7):
        drop += micro % 10**power == 0
    drop[micro == 0] = 7
    return drop


def _drop_bytes(rows: np.ndarray, end: int, drop: np.ndarray, keep: int = 0) -> np.ndarray:
    """Remove `drop[i]` bytes before column `end` of row i; pad with spaces before the
    row's last `keep` bytes (the comma that ends a JSON row stays last)."""
    width = rows.shape[1] - keep
    out = rows.copy()
    for k in np.unique(drop).tolist():
        if k:
            sel = drop == k
            out[sel, end - k : width - k] = rows[sel, end:width]
            out[sel, width - k : width] = ord(" ")
    return out


def _const(text: bytes, n: int) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text, np.uint8), (n, len(text)))


def _customer_tails(ds: Dataset, template: bytes) -> np.ndarray:
    """Per-office padded byte rows from `template` % customer_id (whitespace-padded)."""
    parts = [template.replace(b"{cid}", cid.encode()) for cid in ds.customer_ids]
    width = max(len(p) for p in parts)
    # JSON and XML both allow whitespace between tokens/elements: pad at a safe spot
    return np.array([list(p.replace(b"|", b" " * (width - len(p)))) for p in parts], np.uint8)


def _ids(ds: Dataset) -> np.ndarray:
    return ds.ids.view(np.uint8).reshape(ds.size, ds.ids.dtype.itemsize)


def render_json_rows(ds: Dataset, offset: bool = True) -> np.ndarray:
    """`{"id":…,"changedAt":…,"customerId":…},` per contact, fixed width."""
    n = ds.size
    head = [_const(b'{"id":"', n), _ids(ds), _const(b'","changedAt":"', n)]
    stamp = render_local(ds.changed_ns, ds.changed_offset_ns, offset)
    end = sum(p.shape[1] for p in head) + 26  # just after the sixth fractional digit
    tails = _customer_tails(ds, b'","customerId":"{cid}"}|,')
    rows = np.hstack([*head, stamp, tails[ds.office]])
    return np.ascontiguousarray(_drop_bytes(rows, end, trailing_zeros(ds.changed_ns), keep=1))


def render_xml_rows(ds: Dataset, offset: bool = True) -> np.ndarray:
    """`<CrmContactReference>…</CrmContactReference>` per contact, fixed width."""
    n = ds.size
    head = _const(b"<CrmContactReference><ChangedAt>", n)
    stamp = render_local(ds.changed_ns, ds.changed_offset_ns, offset)
    tails = _customer_tails(ds, b"</ChangedAt><CustomerId>{cid}</CustomerId>|<Id>")
    rows = np.hstack(
        [head, stamp, tails[ds.office], _ids(ds), _const(b"</Id></CrmContactReference>", n)]
    )
    end = head.shape[1] + 26
    return np.ascontiguousarray(_drop_bytes(rows, end, trailing_zeros(ds.changed_ns)))


def _count(part: np.ndarray | slice) -> int:
    if isinstance(part, slice):
        return max(0, part.stop - part.start)
    return len(part)


def json_body(
    ds: Dataset, parts: list[np.ndarray | slice], *, offset: bool = True, empty: str = "[]"
) -> bytes:
    """The JSON contact list of the rows in `parts` (persons, companies, estates).

    `empty` is how an empty list is sent: "[]", "null" or "absent" (key left out).
    """
    rows = ds.rows("json", offset)
    members = []
    for j, key in enumerate(_LIST_KEYS):
        if _count(parts[j]):
            members.append(b'"' + key + b'":[' + rows[parts[j]].tobytes()[:-1] + b"]")
        elif empty != "absent":
            members.append(b'"' + key + b'":' + (b"null" if empty == "null" else b"[]"))
    return b"{" + b",".join(members) + b"}"  # each row ended with a comma, cut above


def xml_body(
    ds: Dataset, parts: list[np.ndarray | slice], *, offset: bool = True, empty: str = "[]"
) -> bytes:
    """The XML contact list (DataContract layout) of the rows in `parts`."""
    rows = ds.rows("xml", offset)
    out = [_XML_OPEN]
    for tag, j in _XML_KEYS:
        if _count(parts[j]):
            out += [b"<" + tag + b">", rows[parts[j]].tobytes(), b"</" + tag + b">"]
        elif empty == "null":
            out.append(b"<" + tag + b' i:nil="true"/>')
        elif empty == "[]":
            out.append(b"<" + tag + b"/>")
    out.append(b"</CrmContactList>")
    return b"".join(out)
