"""Lookup and details answers: JSON or DataContract XML into checked records, and helpers.

Shared by lookups.py and details.py: reading a record's fields (camelCase, PascalCase
accepted; `[]`, `null` and absent lists all empty), decoding and checking an answer before
it is cached, the flags every fetch takes, the provenance attrs of a frame, and the one
pool that runs a client's lookup and details calls concurrently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

import orjson

from vitec_nb.errors import InvalidQueryError, MalformedResponseError
from vitec_nb.provenance import Provenance, provenance_from

if TYPE_CHECKING:
    import requests

__all__ = [
    "check_flags",
    "checked_records",
    "decode",
    "field",
    "flag",
    "ids_of",
    "items",
    "provenance",
    "records",
    "run_concurrently",
    "text",
]


def field(record: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """A field by its camelCase name, PascalCase accepted too (JSON vs the help tables)."""
    value = record[name] if name in record else record.get(name[:1].upper() + name[1:])
    return default if value is None else value


def text(record: Mapping[str, Any], *names: str) -> str:
    """The first of `names` that holds a value, as text ("" when none does)."""
    for name in names:
        value = field(record, name)
        if value not in (None, ""):
            return str(value)
    return ""


def flag(value: Any, default: bool = False) -> bool:
    """A boolean field: JSON true/false, or XML's "true"/"false" text."""
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def items(value: Any) -> list[Any]:
    """A list field: [], null and absent are all empty; a lone value is a list of one."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def ids_of(value: Any, key: str = "id") -> tuple[str, ...]:
    """Ids of a list of `{id}` objects (or of plain strings)."""
    out = []
    for item in items(value):
        raw = field(item, key) if isinstance(item, Mapping) else item
        if raw not in (None, ""):
            out.append(str(raw))
    return tuple(out)


def _xml_value(elem: Any) -> Any:
    """A DataContract XML element as JSON would have it (lists by their repeated items)."""
    if any(k.endswith("}nil") and v == "true" for k, v in elem.attrib.items()):
        return None
    children = list(elem)
    if not children:
        return elem.text or None  # `<ValidFor/>`: an empty list (or an empty text)
    tags = {_local(c.tag) for c in children}
    if len(tags) == 1 and (
        len(children) > 1
        or len(children[0])
        or next(iter(tags)) in ("string", "int", "guid", "ObjectType")
    ):
        return [_xml_value(c) for c in children]
    return {_camel(_local(c.tag)): _xml_value(c) for c in children}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def decode(content: bytes, content_type: str = "") -> Any:
    """The body as JSON values (XML answers turned into the same lists and objects)."""
    start = content.lstrip()[:1]
    if "xml" in content_type.lower() or start == b"<":
        from defusedxml import ElementTree as SafeET

        try:
            root = SafeET.fromstring(content)
        except Exception as exc:  # defusedxml raises ParseError or its own refusals
            raise MalformedResponseError(f"not valid XML ({type(exc).__name__})") from None
        if _local(root.tag).startswith("ArrayOf"):
            return [_xml_value(c) for c in root]
        return _xml_value(root)
    if not start:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise MalformedResponseError(f"not valid JSON ({exc})") from None


def records(body: Any, what: str, key: str | None) -> list[Mapping[str, Any]]:
    """The records of a list answer (null or empty: none); MalformedResponseError else."""
    if body is None:
        return []
    ok = isinstance(body, list) and all(
        isinstance(i, Mapping) and (key is None or field(i, key) is not None) for i in body
    )
    if not ok:
        needs = f" each with {key!r}" if key else ""
        raise MalformedResponseError(
            f"The {what} answer is not a list of records{needs}; it was not cached."
        )
    return body


def checked_records(
    response: requests.Response, what: str, key: str | None
) -> list[Mapping[str, Any]]:
    """The records of an answer (JSON or XML), checked; the error never quotes the body."""
    try:
        body = decode(response.content, response.headers.get("Content-Type", ""))
    except MalformedResponseError as exc:
        raise MalformedResponseError(f"The {what} answer is {exc}; it was not cached.") from None
    return records(body, what, key)


def check_flags(refresh: Any, offline: Any) -> None:
    """`refresh` and `offline` are True or False, and not both True (before any request)."""
    for name, value in (("refresh", refresh), ("offline", offline)):
        if not isinstance(value, bool):
            raise InvalidQueryError(name, f"{value!r} is not True or False", "True or False")
    if refresh and offline:
        raise InvalidQueryError("refresh", "cannot be combined with offline=True", "one of them")


def provenance(client: Any, info: Mapping[str, Any], **extra: Any) -> Provenance:
    """What every frame carries: when, from the cache or not, stale, demo, source; `extra`
    (and the rest of `info`) as notes."""
    return provenance_from({**info, "demo": client.is_demo, "source": client.base_url, **extra})


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def run_concurrently(
    client: Any,
    tasks: Sequence[Callable[[], Any]],
    on_done: Callable[[int], Any] | None = None,
) -> list[Any]:
    """Each task's result, in order, at most the client's `concurrency` at a time.

    The pool is shared and its tasks never wait on it, so nested use cannot deadlock.
    `on_done(n)` is called from the caller's thread as tasks finish. The first failure is
    raised after every task has finished.
    """
    if len(tasks) <= 1:
        results = [task() for task in tasks]
        if on_done is not None and tasks:
            on_done(1)
        return results
    workers = max(1, int(client.settings.concurrency))
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = _POOLS[workers] = ThreadPoolExecutor(workers, thread_name_prefix="vitec-lookup")
    futures = [pool.submit(task) for task in tasks]
    for done, _ in enumerate(as_completed(futures), 1):
        if on_done is not None:
            on_done(done)
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
    return [f.result() for f in futures]
