"""DataContract XML contact lists into Arrow columns: a vectorised scan, a strict streaming parser.

Safety first: a body holding ``<!DOCTYPE`` or ``<!ENTITY`` is refused before anything is
parsed (no DTD, so no entity expansion and no external entity can exist), and the strict
parser is defusedxml's `iterparse` with DTDs, entities and external references forbidden.

Speed: what ASP.NET's DataContractSerializer writes (root `CrmContactList` declaring only
namespaces, the lists `Companies`, `DeceasedEstates`, `Persons` each at most once, as
elements, empty elements or ``i:nil="true"``, and `CrmContactReference` elements holding
`ChangedAt`, `CustomerId`, `Id` in that order, whitespace allowed between tags) is read
without a Python object per reference: each list is cut into chunks of whole references,
split by pyarrow at ``</CrmContactReference>`` and matched by one anchored RE2 pattern
(`pyarrow.compute.extract_regex`) that also captures the three texts. Every byte must be
accounted for, texts may not hold ``<``, ``&``, ``]``, control characters or non-characters
(escapes and CDATA are left to the strict parser) and the whole body must be valid UTF-8,
so what the scan accepts is well-formed XML read exactly as an XML parser reads it.
Anything else (namespace prefixes on elements, other encodings, comments, escaped
characters, CDATA, extra elements, malformed bodies) goes through the strict parser, which
also writes the precise error messages; it streams, so its memory stays bounded too.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from vitec_nb.errors import MalformedResponseError
from vitec_nb.parse_columns import excerpt, to_utc
from vitec_nb.vocab import COMPANY, DECEASED_ESTATE, KINDS, PERSON

__all__ = ["refuse_dtd", "scan_lists", "stream_lists"]

XML_INSTANCE = "http://www.w3.org/2001/XMLSchema-instance"
_KIND_OF_TAG = {
    b"Persons": PERSON,
    b"Companies": COMPANY,
    b"DeceasedEstates": DECEASED_ESTATE,
}
_LIST_KINDS = {tag.decode().lower(): kind for tag, kind in _KIND_OF_TAG.items()}
_FIELDS = ("Id", "ChangedAt", "CustomerId")
_CHUNK = 4 << 20  # bytes of references matched at once: bounds the scan's extra memory
_BATCH = 1 << 16  # references the strict parser hands on at once
_WS = rb"[ \t\r\n]*"
_NAME = rb"[A-Za-z_][A-Za-z0-9_.-]*"

_HEAD = re.compile(
    rb"(?:\xef\xbb\xbf)?(?:<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?P<q>[\"'])1\.[0-9]+(?P=q)"
    rb"(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?P<e>[\"'])(?i:utf-8)(?P=e))?"
    rb"(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?P<s>[\"'])(?:yes|no)(?P=s))?"
    rb"[ \t\r\n]*\?>)?" + _WS + rb"<CrmContactList(?P<attrs>(?:[ \t\r\n]+xmlns(?::" + _NAME
    + rb")?[ \t\r\n]*=[ \t\r\n]*\"[^\"<&]*\")*)" + _WS + rb">"
)  # fmt: skip
_DECLARATION = re.compile(rb"xmlns(?::(" + _NAME + rb"))?[ \t\r\n]*=[ \t\r\n]*\"([^\"]*)\"")
_LIST_TAG = re.compile(
    _WS + rb"<(Companies|DeceasedEstates|Persons)(?:[ \t\r\n]+(" + _NAME
    + rb"):nil[ \t\r\n]*=[ \t\r\n]*\"true\")?" + _WS + rb"(/?)>"
)  # fmt: skip
_CONTROL = re.compile(rb"[\x00-\x1f]")
_TAIL = re.compile(_WS + rb"</CrmContactList>" + _WS)
_END_REF = "</CrmContactReference>"
_TEXT = r"([^<&\]\x00-\x1f\x{FFFE}\x{FFFF}]+)"
_W = r"[ \t\r\n]*"
_REFERENCE = (
    f"^{_W}<CrmContactReference>{_W}<ChangedAt>(?P<changed>{_TEXT[1:-1]})</ChangedAt>"
    f"{_W}<CustomerId>(?P<cid>{_TEXT[1:-1]})</CustomerId>{_W}<Id>(?P<id>{_TEXT[1:-1]})</Id>{_W}$"
)
_BLANK = f"^{_W}$"

Scanned = list[tuple[str, pa.Array, pa.Array, pa.Array]]


def refuse_dtd(body: bytes) -> None:
    """MalformedResponseError when the body declares a DTD or entities (refused unread)."""
    if b"<!" not in body:  # the usual answer: one fast pass, nothing to look at
        return
    for marker in (b"<!DOCTYPE", b"<!ENTITY"):
        if marker in body:
            raise MalformedResponseError(
                f"The XML answer declares entities or a DTD ({marker.decode()}…); refused for"
                f" safety (no DTD, entity or external reference is ever read). It starts:"
                f" {excerpt(body)}"
            )


def scan_lists(body: bytes) -> Scanned | None:
    """(kind, ids, UTC times, customer ids) per chunk of the DataContract shape; None if the
    body is not exactly that shape (the strict parser then decides)."""
    head = _HEAD.match(body)
    if head is None:
        return None
    prefixes = _declared(head["attrs"])
    if prefixes is None:
        return None
    pos, seen, out = head.end(), set(), []
    while (tag := _LIST_TAG.match(body, pos)) is not None:
        name, nil, closed = tag.groups()
        if name in seen or (nil and (not closed or prefixes.get(nil) != XML_INSTANCE)):
            return None
        seen.add(name)
        pos = tag.end()
        if closed:
            continue
        end = body.find(b"</" + name + b">", pos)
        if end < 0 or not _scan_section(body, pos, end, _KIND_OF_TAG[name], out):
            return None
        pos = end + len(name) + 3
    tail = _TAIL.match(body, pos)
    return out if tail is not None and tail.end() == len(body) else None


def _declared(attrs: bytes) -> dict[bytes | None, str] | None:
    """The root's namespace declarations (prefix -> URI); None if one is repeated or reserved."""
    found: dict[bytes | None, str] = {}
    for prefix, uri in _DECLARATION.findall(attrs):
        key = prefix or None
        if key in found or (key or b"").lower().startswith(b"xml") or _CONTROL.search(uri):
            return None
        try:
            found[key] = uri.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return found


def _scan_section(body: bytes, start: int, end: int, kind: str, out: Scanned) -> bool:
    """The references between `start` and `end`, in chunks of whole references, into `out`."""
    view = memoryview(body)
    while start < end:
        cut = end
        if end - start > _CHUNK:
            found = body.find(_END_REF.encode(), start + _CHUNK, end)
            cut = end if found < 0 else found + len(_END_REF)
        chunk = _scan_chunk(view[start:cut])
        if chunk is None:
            return False
        if len(chunk[0]):
            out.append((kind, *chunk))
        start = cut
    return True


def _scan_chunk(data: memoryview) -> tuple[pa.Array, pa.Array, pa.Array] | None:
    """Ids, UTC times and customer ids of whole references and the whitespace around them."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int32))
    text = pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        text.validate(full=True)  # UTF-8
        pieces = pc.split_pattern(text, _END_REF).flatten()
        last = pieces[len(pieces) - 1 :]
        if not pc.all(pc.match_substring_regex(last, _BLANK)).as_py():
            return None
        fields = pc.extract_regex(pieces[: len(pieces) - 1], _REFERENCE)
        if fields.null_count:
            return None
        changed, cids, ids = fields.flatten()
        return ids.cast(pa.large_string()), to_utc(changed), cids
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None  # not UTF-8, or a changedAt to_utc cannot read: the strict parser says


# -- the strict parser ---------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def stream_lists(body: bytes) -> Iterator[tuple[str, int, list[dict[str, Any]]]]:
    """(kind, index of the first, references as dicts) in batches, with defusedxml.

    A list left out or sent as ``<Persons i:nil="true"/>`` is empty; unknown elements are
    ignored; a list sent twice is read twice (its repeated ids are then a contract breach).
    """
    events = SafeET.iterparse(io.BytesIO(body), events=("start", "end"), forbid_dtd=True)
    depth, kind, names, reference = 0, None, {}, ""
    counts = dict.fromkeys(KINDS, 0)
    batch: list[dict[str, Any]] = []
    holder: Any = None
    try:
        for event, elem in events:
            if event == "start":
                depth += 1
                if depth == 1:
                    names, reference = _root(elem, body)
                elif depth == 2:
                    kind, holder = _LIST_KINDS.get(_local(elem.tag).lower()), elem
                continue
            depth -= 1
            if depth == 2:
                if kind is not None and elem.tag == reference:
                    batch.append({names[c.tag]: c.text for c in elem if c.tag in names})
                holder.clear()  # a reference read is dropped: memory stays bounded
                if kind is not None and len(batch) >= _BATCH:
                    yield kind, counts[kind], batch
                    counts[kind], batch = counts[kind] + len(batch), []
            elif depth == 1:
                if kind is not None and batch:
                    yield kind, counts[kind], batch
                    counts[kind], batch = counts[kind] + len(batch), []
                kind = None
                elem.clear()
    except DefusedXmlException as exc:
        raise MalformedResponseError(
            f"The XML answer declares entities or a DTD ({type(exc).__name__}); refused for"
            f" safety. It starts: {excerpt(body)}"
        ) from None
    except SafeET.ParseError as exc:
        raise MalformedResponseError(
            f"The answer is not valid XML ({exc}; truncated?). It starts: {excerpt(body)}"
        ) from None


def _root(elem: Any, body: bytes) -> tuple[dict[str, str], str]:
    """The field names (full tag -> local name) and the reference tag in the root's namespace."""
    if _local(elem.tag).lower() != "crmcontactlist":
        raise MalformedResponseError(
            f"The XML answer's root is <{_local(elem.tag)}>, not <CrmContactList>."
            f" It starts: {excerpt(body)}"
        )
    ns = elem.tag[: elem.tag.index("}") + 1] if elem.tag.startswith("{") else ""
    return {ns + name: name for name in _FIELDS}, ns + "CrmContactReference"
