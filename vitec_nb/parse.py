"""Contact-list answers (JSON or XML) into the contacts DataFrame, fast and with clear errors.

The schema (docs/architecture.md): `kind` category person/company/deceased_estate, `id`
pyarrow-backed string, `customer_id` category, `changed_at` datetime64[ns, Europe/Stockholm].
Rows come persons first, then companies, then deceased estates, each in body order.

Decisions (docs/queries.md, "The answer"):

- An empty list may come as ``[]``, ``null`` or not at all (Vitec does not say which; JSON
  ``null`` or a missing key, XML ``i:nil`` or a missing element): all mean empty. A JSON
  object holding none of the three lists but other keys is not a contact list
  (MalformedResponseError); ``{}`` is an empty answer. Keys match case-insensitively
  (camelCase from ASP.NET JSON, PascalCase accepted too); unknown extra keys are ignored.
- `changedAt` with an offset (or ``Z``) is that instant; without one it is Europe/Stockholm
  local time (what .NET writes for a DateTime read from a database), an ambiguous autumn
  hour its first occurrence (summer time), a time in the spring gap the first instant after
  it. 1-9 fraction digits are kept (Vitec writes up to 7).
- A reference without `customerId` takes the `customer_id` argument when one is given.
- Contract breaches are reported, once per answer, as a `ContractWarning` naming the call:
  an id twice in one list or in two lists (kept once, the first), a reference whose
  `customerId` is another office than the one asked (kept). Never "changing data".

Speed: a well-formed JSON answer is read by pyarrow's JSON reader straight into Arrow
arrays (parse_json.py: no Python object per reference; less CPU than `orjson.loads` alone;
a body over 32 MB in pieces of whole references, so its peak memory stays bounded), and the
timestamps by pyarrow's vectorised ISO 8601 cast (local times: a naive cast and
`assume_timezone`, also vectorised), several times faster than `pandas.to_datetime`. The
duplicate check hashes the ids' bytes with numpy and sorts the hashes (a few ms per 100 000
references); only a hash match is checked exactly. Anything unusual goes through orjson
and a per-column pass, which also writes the precise error messages. XML (parse_xml.py):
a DTD or entity declaration is refused unread; the DataContract shape is scanned by
pyarrow (split and one anchored RE2 pattern, about 1.5 x the JSON time); anything else is
streamed through defusedxml's iterparse.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from operator import itemgetter
from typing import Any, Literal

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vitec_nb.errors import MalformedResponseError
from vitec_nb.parse_columns import (
    Breach,
    ContractWarning,
    clip,
    excerpt,
    excerpt_at,
    first_occurrences,
    to_utc,
)
from vitec_nb.parse_json import RELEASE_FROM, read_json_lists
from vitec_nb.parse_xml import refuse_dtd, scan_lists, stream_lists
from vitec_nb.vocab import KIND_API_LISTS, KINDS, TIMEZONE

__all__ = [
    "CHANGED_AT_DTYPE",
    "COLUMNS",
    "CUSTOMER_ID_DTYPE",
    "ID_DTYPE",
    "KINDS",
    "KIND_DTYPE",
    "XML_NAMESPACE",
    "ContractWarning",
    "empty_contacts",
    "parse_contacts",
]

COLUMNS: tuple[str, ...] = ("kind", "id", "customer_id", "changed_at")
KIND_DTYPE = pd.CategoricalDtype(list(KINDS), ordered=False)
ID_DTYPE = pd.StringDtype("pyarrow")
CUSTOMER_ID_DTYPE = "category"
CHANGED_AT_DTYPE = pd.DatetimeTZDtype("ns", TIMEZONE)

XML_NAMESPACE = (
    "http://schemas.datacontract.org/2004/07/Vitec.Housing.Connect.Api.Models.Contact.Crm"
)

# List name in the answer (lower-cased) -> kind.
_LIST_KINDS: dict[str, str] = {name.lower(): kind for kind, name in KIND_API_LISTS.items()}
_API_LIST_NAMES = KIND_API_LISTS
_UTC_NS = pa.timestamp("ns", tz="UTC")
_STRING = pa.string()

Format = Literal["json", "xml"]


def empty_contacts(customer_id: str | Iterable[str] | None = None) -> pd.DataFrame:
    """An empty contacts frame with the schema's columns and dtypes.

    Args:
        customer_id: office id(s) to use as the `customer_id` categories, so that frames
            of several offices concatenate without losing the category dtype.
    """
    return _frame(_Columns(customer_id))


def parse_contacts(
    body: bytes | str,
    *,
    format: Format = "json",
    customer_id: str | None = None,
    call: str | None = None,
) -> pd.DataFrame:
    """Parse one `CrmContactList` answer into the contacts DataFrame.

    Args:
        body: the response body (bytes as received; str is accepted too).
        format: ``"json"`` (the API's default) or ``"xml"`` (``Accept: application/xml``).
        customer_id: the office the answer is for; always among the `customer_id`
            categories and used for references that lack ``customerId``.
        call: the request in words (e.g. ``"CRM/Contact/M30011?LeadScore=5"``), named by a
            `ContractWarning`; default ``CRM/Contact/{customer_id}``.

    Raises MalformedResponseError when the body is not a contact list (not JSON/XML,
    truncated, no list at all, reference without id, unreadable changedAt); the message
    quotes at most ~80 characters of the body. Warns `ContractWarning` (once) for
    duplicate ids and references of another office.
    """
    if format not in ("json", "xml"):
        raise ValueError(f"format must be 'json' or 'xml', not {format!r}")
    data = body.encode() if isinstance(body, str) else bytes(body)
    columns = _Columns(customer_id)
    if format == "xml":
        _xml(data, columns)
    elif not _json_fast(data, columns):
        for kind, refs in _json_lists(data):
            columns.add(kind, refs)
    if call is None:
        call = f"CRM/Contact/{customer_id}" if customer_id else "the contact list"
    if len(data) >= RELEASE_FROM:  # the reader's scratch (XML too) back before the combine
        pa.default_memory_pool().release_unused()
    return _frame(columns, call)


# -- building the columns ------------------------------------------------------------------


class _Columns:
    """Per-kind pyarrow chunks of ids, UTC timestamps and customer ids."""

    def __init__(self, customer_id: str | Iterable[str] | None) -> None:
        if customer_id is None:
            self.known: list[str] = []
        elif isinstance(customer_id, str):
            self.known = [customer_id]
        else:
            self.known = list(customer_id)
        self.fill = self.known[0] if len(self.known) == 1 else None
        self.ids: dict[str, list[pa.Array]] = {k: [] for k in KINDS}
        self.times: dict[str, list[pa.Array]] = {k: [] for k in KINDS}
        self.cids: dict[str, list[pa.Array]] = {k: [] for k in KINDS}

    def add(self, kind: str, refs: list[Any], start: int = 0) -> None:
        """Add one chunk of references (dicts with id/changedAt/customerId) of one kind;
        `start` is the first one's index in its list (for messages)."""
        if not refs:
            return
        try:
            ids, changed, cids = _fields(kind, refs, self.fill)
            self.ids[kind].append(_string_array(kind, "id", ids, refs, pa.large_string()))
            changed_arr = _string_array(kind, "changedAt", changed, refs)
            self.times[kind].append(_timestamps(kind, changed_arr, refs))
            self.cids[kind].append(_string_array(kind, "customerId", cids, refs))
        except _BadReference as bad:
            raise bad.error(start) from None

    def add_arrays(self, kind: str, ids: pa.Array, times: pa.Array, cids: pa.Array) -> None:
        """Add columns already parsed by the fast path."""
        self.ids[kind].append(ids)
        self.times[kind].append(times)
        self.cids[kind].append(cids)

    def count(self, kind: str) -> int:
        return sum(len(a) for a in self.ids[kind])


def _frame(columns: _Columns, call: str = "the contact list") -> pd.DataFrame:
    """One frame from the per-kind chunks: persons, companies, deceased estates.

    Contract breaches (an id twice or in two lists, another office) are warned about once,
    naming `call`; a repeated id is kept once, the first.
    """
    counts = [columns.count(k) for k in KINDS]
    kind_codes = np.repeat(np.arange(len(KINDS), dtype=np.int8), counts)

    def combined(parts: dict[str, list[pa.Array]], type_: pa.DataType) -> pa.Array:
        chunks = [
            c
            for k in KINDS
            for a in parts[k]
            for c in (a.chunks if isinstance(a, pa.ChunkedArray) else (a,))
        ]
        for k in KINDS:  # the chunks are freed once combined: one column's copy at a time
            parts[k] = []
        whole = pa.chunked_array(chunks, type=type_).combine_chunks()
        del chunks
        if whole.nbytes >= RELEASE_FROM:  # the chunks' memory back before the next column
            pa.default_memory_pool().release_unused()
        return whole

    id_array = combined(columns.ids, pa.large_string())
    breach = Breach(call)

    categories, codes = _customer_codes(columns, combined(columns.cids, pa.string()))

    ns = combined(columns.times, _UTC_NS).cast(pa.int64()).to_numpy(zero_copy_only=False)
    keep = first_occurrences(id_array)
    if keep is not None:
        breach.duplicates(id_array, kind_codes, keep)
        id_array, kind_codes = id_array.filter(pa.array(keep)), kind_codes[keep]
        codes, ns = codes[keep], ns[keep]
    if columns.fill is not None and categories != [columns.fill]:
        tally = np.bincount(codes, minlength=len(categories))
        others = {c: int(tally[i]) for i, c in enumerate(categories) if c != columns.fill}
        breach.other_offices(columns.fill, {c: k for c, k in others.items() if k})
    breach.warn()
    kind = pd.Categorical.from_codes(kind_codes, dtype=KIND_DTYPE, validate=False)
    ids = pd.arrays.ArrowStringArray(id_array)
    customer = pd.Categorical.from_codes(
        codes, dtype=_customer_dtype(tuple(categories)), validate=False
    )
    changed = pd.DatetimeIndex(ns.view("M8[ns]")).tz_localize("UTC").tz_convert(TIMEZONE).array

    return pd.DataFrame(
        {"kind": kind, "id": ids, "customer_id": customer, "changed_at": changed}, copy=False
    )


def _customer_codes(columns: _Columns, cids: pa.Array) -> tuple[list[str], np.ndarray]:
    """customer_id categories (the offices named by the caller first, then the others in
    body order) and each row's code."""
    n = len(cids)
    if columns.fill is not None and (n == 0 or pc.all(pc.equal(cids, columns.fill)).as_py()):
        # the usual answer: one office, the one asked for (a compare, not a hash pass)
        return [columns.fill], np.zeros(n, dtype=np.int8)
    encoded = cids.dictionary_encode()
    found = encoded.dictionary.to_pylist()
    categories = list(columns.known) + [c for c in found if c not in columns.known]
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(
        np.int8 if len(categories) < 128 else np.int32
    )
    if found != categories[: len(found)]:
        codes = np.array([categories.index(c) for c in found], dtype=codes.dtype)[codes]
    return categories, codes


@functools.lru_cache(maxsize=256)
def _customer_dtype(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    """The customer_id dtype for these offices, made once (~0.15 ms each time otherwise).

    Every answer is parsed into a new frame; on the planner's threads that fixed cost is
    paid once per call under the GIL (docs/benchmarks.md, benchmark 5).
    """
    return pd.CategoricalDtype(pd.Index(list(categories), dtype="str"))


_CAMEL = (itemgetter("id"), itemgetter("changedAt"), itemgetter("customerId"))
_PASCAL = (itemgetter("Id"), itemgetter("ChangedAt"), itemgetter("CustomerId"))


def _fields(kind: str, refs: list[Any], fill: str | None) -> tuple[list[Any], ...]:
    """Three column lists from the references: one C-speed pass per column when possible."""
    first = refs[0]
    getters = _PASCAL if isinstance(first, dict) and "Id" in first else _CAMEL
    try:
        return tuple(list(map(g, refs)) for g in getters)
    except (KeyError, TypeError):
        return _fields_slowly(kind, refs, fill)


def _fields_slowly(kind: str, refs: list[Any], fill: str | None) -> tuple[list[Any], ...]:
    """Per-reference path for mixed key case, missing customerId, and precise errors."""
    ids, changed, cids = [], [], []
    for i, ref in enumerate(refs):
        if not isinstance(ref, dict):
            raise _bad_ref(kind, i, f"is {type(ref).__name__}, not an object", ref)
        lower = {str(k).lower(): v for k, v in ref.items()}
        for key in ("id", "changedat"):
            if key not in lower:
                name = "id" if key == "id" else "changedAt"
                raise _bad_ref(kind, i, f"has no {name}", ref)
        if "customerid" not in lower and fill is None:
            raise _bad_ref(kind, i, "has no customerId", ref)
        ids.append(lower["id"])
        changed.append(lower["changedat"])
        cids.append(lower.get("customerid", fill))
    return ids, changed, cids


def _string_array(
    kind: str, field: str, values: list[Any], refs: list[Any], type_: pa.DataType = _STRING
) -> pa.Array:
    try:
        arr = pa.array(values, type=type_)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        i = next(i for i, v in enumerate(values) if not isinstance(v, str | None))
        raise _bad_ref(
            kind, i, f"has a {field} that is {type(values[i]).__name__}, not text", refs[i]
        ) from None
    if arr.null_count:
        i = next(i for i, v in enumerate(values) if v is None)
        raise _bad_ref(kind, i, f"has an empty (null) {field}", refs[i])
    return arr


def _timestamps(kind: str, changed: pa.Array, refs: list[Any]) -> pa.Array:
    try:
        return to_utc(changed)
    except pa.ArrowInvalid:
        for i, text in enumerate(changed.to_pylist()):
            try:
                to_utc(pa.array([text]))
            except pa.ArrowInvalid:
                raise _bad_ref(
                    kind,
                    i,
                    f"has changedAt {clip(text, 40)!r}, which is not an ISO 8601 date-time",
                    refs[i],
                ) from None
        raise  # pragma: no cover - the whole array failed, so one element must fail


# -- JSON, fast path: pyarrow's JSON reader (parse_json.py) -----------------------------


def _json_fast(body: bytes, columns: _Columns) -> bool:
    """Parse a well-formed camelCase answer into `columns`; False (columns untouched) if not."""
    parsed = read_json_lists(body)
    if parsed is None:
        return False
    for kind, ids, times, cids in parsed:
        columns.add_arrays(kind, ids, times, cids)
    return True


# -- JSON ----------------------------------------------------------------------------------


def _json_lists(body: bytes) -> Iterator[tuple[str, list[Any]]]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedResponseError(
            f"The answer is not valid JSON ({exc.msg} at byte {exc.pos} of {len(body)};"
            f" truncated?). Near there: {excerpt_at(body, exc.pos)}"
        ) from None
    if not isinstance(doc, dict):
        raise MalformedResponseError(
            f"The answer is JSON but not a contact list (a {type(doc).__name__}, expected an"
            f" object with persons, companies and deceasedEstates). It starts: {excerpt(body)}"
        )
    lists = {str(k).lower(): v for k, v in doc.items()}
    del doc
    if lists and not any(name in lists for name in _LIST_KINDS):
        raise MalformedResponseError(
            "The answer has none of the lists persons, companies and deceasedEstates, so it"
            f" is not a contact list. It starts: {excerpt(body)}"
        )
    for name, kind in _LIST_KINDS.items():
        refs = lists.get(name)  # left out: empty (Vitec does not say how empty lists come)
        if refs is None:
            refs = []
        if not isinstance(refs, list):
            raise MalformedResponseError(
                f"The answer's {_API_LIST_NAMES[kind]} is a {type(refs).__name__}, not a list."
                f" It starts: {excerpt(body)}"
            )
        yield kind, refs


# -- XML ----------------------------------------------------------------------------------


def _xml(body: bytes, columns: _Columns) -> None:
    """DTDs and entities refused unread; the DataContract shape scanned, the rest streamed."""
    refuse_dtd(body)
    scanned = scan_lists(body)
    if scanned is not None:
        for kind, ids, times, cids in scanned:
            columns.add_arrays(kind, ids, times, cids)
        return
    for kind, start, refs in stream_lists(body):
        columns.add(kind, refs, start)


# -- messages ------------------------------------------------------------------------------


class _BadReference(Exception):
    """A reference that cannot be read; `error(start)` words it with its index in its list."""

    def __init__(self, kind: str, index: int, problem: str, ref: Any) -> None:
        super().__init__(problem)
        self.kind, self.index, self.problem, self.ref = kind, index, problem, ref

    def error(self, start: int = 0) -> MalformedResponseError:
        ref = self.ref
        shown = ref if not isinstance(ref, dict) else {k: ref[k] for k in list(ref)[:4]}
        return MalformedResponseError(
            f"Reference {start + self.index} of {_API_LIST_NAMES[self.kind]} {self.problem}:"
            f" {clip(repr(shown))}"
        )


_bad_ref = _BadReference
