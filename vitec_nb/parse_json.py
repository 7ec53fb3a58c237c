"""JSON contact lists into Arrow columns with pyarrow's JSON reader, a large body in pieces.

pyarrow's JSON reader parses the body as one row whose three columns are lists of
{id, changedAt, customerId} structs, straight into Arrow arrays: no Python object per
reference, and a little less CPU than `orjson.loads` alone. It is a real JSON parser, so a
body it accepts is valid JSON; we then insist on exactly one row, at least one list present
(a list sent as null or left out is empty) and no null inside a list. Anything else
(PascalCase keys, no list at all, a reference without customerId, wrong types, invalid JSON)
gives None and parse.py's orjson path takes over, which also writes the precise messages.

Memory: the reader needs about twice its output while it works, so a body of more than
`PIECE` bytes is read in pieces of whole references: the body is cut after a reference's
``}`` (before the ``,`` and the next ``{``), the piece before the cut is closed with ``]}``
and the one after opened with ``{"<list>":[``, the list being the last of the three keys
before the cut. Every piece must then be one JSON object with no key but the three lists
and the three fields (any other key makes pieces unsafe: the whole body is read at once
instead), and each key at most once. A cut inside a string leaves the piece before it with
an open string, a cut at another depth leaves it unbalanced; either is invalid JSON, so a
body whose pieces all parse is read exactly as the whole body would be.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.json as pa_json

from vitec_nb.parse_columns import to_utc
from vitec_nb.vocab import KIND_API_LISTS

__all__ = ["PIECE", "RELEASE_FROM", "read_json_lists"]

PIECE = 16 << 20  # bytes of body read at once, when it is more than twice this
# A body (or a combined column) at least this large hands pyarrow's scratch memory back to
# the OS as it goes (the million-reference fetch stays well under 500 MB); smaller answers
# keep it, since handing it back and faulting it in again costs every parse time.
RELEASE_FROM = 2 * PIECE
_LISTS = tuple(KIND_API_LISTS.items())  # (kind, JSON name): persons, companies, estates
_REFERENCE = pa.struct(
    [("id", pa.large_string()), ("changedAt", pa.string()), ("customerId", pa.string())]
)
_SCHEMA = pa.schema([(name, pa.list_(_REFERENCE)) for _, name in _LISTS])
_LENIENT = pa_json.ParseOptions(
    explicit_schema=_SCHEMA, unexpected_field_behavior="ignore", newlines_in_values=True
)
_STRICT = pa_json.ParseOptions(
    explicit_schema=_SCHEMA, unexpected_field_behavior="error", newlines_in_values=True
)
_OBJECT_START = re.compile(rb"[ \t\r\n]*\{")
_CUT = re.compile(rb"\}[ \t\r\n]*,[ \t\r\n]*\{")
_AFTER_KEY = re.compile(rb"[ \t\r\n]*:[ \t\r\n]*(\[|null)")
_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)

Lists = list[tuple[str, pa.Array, pa.Array, pa.Array]]


def read_json_lists(body: bytes) -> Lists | None:
    """(kind, ids, UTC times, customer ids) per list and piece; None if not the plain shape."""
    if not _OBJECT_START.match(body):
        return None
    if len(body) > 2 * PIECE:
        pieces = _pieces(body)
        if pieces is not None:
            parsed = _read(pieces, _STRICT, release=True)
            if parsed is not None:
                return parsed
    return _read([body], _LENIENT)


def _read(
    pieces: Iterable[bytes], options: pa_json.ParseOptions, release: bool = False
) -> Lists | None:
    """Each piece as one row of lists; their references' columns, in body order."""
    out: Lists = []
    present = False
    for piece in pieces:
        read = pa_json.ReadOptions(block_size=len(piece) + 1, use_threads=False)
        try:
            table = pa_json.read_json(
                pa.BufferReader(piece), read_options=read, parse_options=options
            )
        except _ERRORS:
            return None
        if table.num_rows != 1:
            return None
        for kind, name in _LISTS:
            column = table.column(name)
            if column.null_count:
                continue  # null or left out: nothing in this piece
            present = True
            columns = _columns(column)
            if columns is None:
                return None
            if len(columns[0]):
                out.append((kind, *columns))
        del table
        if release:  # a large body's piece: its parse scratch back before the next one
            pa.default_memory_pool().release_unused()
    return out if present else None  # no list at all: `{}` or not a list; orjson decides


def _columns(column: pa.ChunkedArray) -> tuple[pa.Array, pa.Array, pa.Array] | None:
    refs = column.combine_chunks().flatten()
    if refs.null_count:
        return None
    ids, changed, cids = refs.flatten()
    if ids.null_count or changed.null_count or cids.null_count:
        return None
    try:
        return ids, to_utc(changed), cids
    except _ERRORS:
        return None


def _pieces(body: bytes) -> Iterator[bytes] | None:
    """The body cut after whole references into valid-looking pieces; None when the three
    lists' keys cannot be told apart (one repeated, or a cut after a null list)."""
    keys = _list_keys(body)
    if keys is None:
        return None
    cuts: list[tuple[int, bytes]] = []  # (position of the `}` ending a piece, open list)
    pos = PIECE
    while pos < len(body):  # the last piece no longer than the others (at most ~PIECE)
        cut = _CUT.search(body, pos)
        if cut is None:
            break
        opened = [(at, name, is_list) for name, (at, is_list) in keys.items() if at < cut.start()]
        if not opened or not max(opened)[2]:
            return None
        cuts.append((cut.start(), max(opened)[1]))
        pos = cut.start() + PIECE
    return _cut(body, cuts)


def _cut(body: bytes, cuts: list[tuple[int, bytes]]) -> Iterator[bytes]:
    view, start, prefix = memoryview(body), 0, b""
    for end, name in cuts:
        yield b"".join((prefix, view[start : end + 1], b"]}"))
        start = body.index(b"{", end + 1)
        prefix = b'{"' + name + b'":['
    yield b"".join((prefix, view[start:]))


def _list_keys(body: bytes) -> dict[bytes, tuple[int, bool]] | None:
    """Where each list's key is (and whether a list, not null follows); None if repeated."""
    found: dict[bytes, tuple[int, bool]] = {}
    for _, name in _LISTS:
        quoted = b'"' + name.encode() + b'"'
        at = body.find(quoted)
        while at >= 0:
            after = _AFTER_KEY.match(body, at + len(quoted))
            if after is not None:
                if name.encode() in found:
                    return None
                found[name.encode()] = (at, after.group(1) == b"[")
            at = body.find(quoted, at + 1)
    return found
