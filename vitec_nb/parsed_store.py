"""Parsed contact columns kept beside the HTTP cache (Arrow IPC), tied to the exact entry.

A cache hit on a large answer costs reading, decompressing and parsing its body again; a
new process (a restarted kernel, a colleague's notebook) paid that for every call. Here
the parsed frame of each contacts answer is kept as Arrow IPC beside the cache entry it
came from, under the same key, and read back with no parse (memory-mapped, zero copy):

- SQLite: one file per entry in ``<cache file>.parsed/`` (folder 0700, files 0600,
  written atomically), tied to the entry's version (cache_sqlite.py: a new random version
  whenever the row is inserted, replaced or updated, by anyone) and its expiry stamp.
- Redis: bytes under ``vitec_nb_parsed:<key>`` with the entry's TTL, tied to the SHA-1 of
  the entry's stored bytes (compared in Redis, one round trip; nothing large is moved).

Correctness first: parsed data is used only when the entry it was made from is still
stored, unchanged (same version or digest) and fresh by the backend's clock; a changed,
refreshed, expired, damaged (re-written) or cleared entry, or a parsed file that cannot
be read, is a miss, and the answer is read and parsed from the cache as before.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

import cachetools
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from vitec_nb.cache_redis import REDIS_NAMESPACE
from vitec_nb.cache_sqlite import VitecSQLiteCache, stamp_is_fresh
from vitec_nb.parsed_frames import join_header, unpack_join

__all__ = ["ParsedStore", "parsed_store"]

logger = logging.getLogger("vitec_nb")

PARSED_SUFFIX = ".parsed"
REDIS_PREFIX = f"{REDIS_NAMESPACE}_parsed:"
_TOKEN, _EXPIRES, _FETCHED = b"vitec_nb.token", b"vitec_nb.expires", b"vitec_nb.fetched_at"
_LAYOUT = b"vitec_nb.layout"

JOIN_SUFFIX = ".join"
JOIN_PREFIX = f"{REDIS_NAMESPACE}_join:"
# Every entry's digest and time to live, in one round trip (Redis): no body is moved.
_REDIS_VERSIONS = """
local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v then out[i] = {redis.sha1hex(v), redis.call('PTTL', k)} else out[i] = {'', -2} end
end
return out
"""
# This process's recent parsed answers, in rows (contacts, users, ...): a warm re-run reads
# one index row per call instead of a file (benchmark 2a: 0.20 -> 0.03 s CPU).
RECENT_ROWS = 2_000_000
# One round trip: the entry's digest (computed in Redis) and the parsed bytes beside it.
_REDIS_GET = """
local v = redis.call('GET', KEYS[1])
if not v then return false end
return {redis.sha1hex(v), redis.call('GET', KEYS[2])}
"""


def _encode(frame: pd.DataFrame, token: str, expires: float | None, fetched_at: Any) -> pa.Table:
    """The frame's columns as Arrow: categoricals as codes (categories in the metadata),
    tz-aware times as int64 UTC, strings as they are (pyarrow-backed: no copy)."""
    arrays: list[pa.Array] = []
    layout: dict[str, Any] = {}
    for name in frame.columns:
        col = frame[name]
        dtype = col.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            arrays.append(pa.array(col.cat.codes.to_numpy()))
            layout[name] = ["category", [str(c) for c in dtype.categories]]
        elif isinstance(dtype, pd.DatetimeTZDtype):
            arrays.append(pa.array(col.array.asi8))
            layout[name] = ["datetime", dtype.unit, str(dtype.tz)]
        else:
            arrays.append(pa.array(col.array))
            layout[name] = ["string" if isinstance(dtype, pd.StringDtype) else "arrow"]
    meta = {
        _TOKEN: token.encode(),
        _EXPIRES: b"" if expires is None else repr(float(expires)).encode(),
        _FETCHED: pd.Timestamp(fetched_at).isoformat().encode(),
        _LAYOUT: orjson.dumps(layout),
    }
    return pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns], metadata=meta)


@functools.lru_cache(maxsize=256)
def _category(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(pd.Index(list(categories), dtype="str"))


def _column(array: pa.ChunkedArray, layout: list[Any]) -> Any:
    if layout[0] == "category":
        codes = array.to_numpy()
        return pd.Categorical.from_codes(codes, dtype=_category(tuple(layout[1])), validate=False)
    if layout[0] == "datetime":
        stamps = array.to_numpy().view(f"M8[{layout[1]}]")
        return pd.DatetimeIndex(stamps).tz_localize("UTC").tz_convert(layout[2]).array
    if layout[0] == "string":
        return pd.arrays.ArrowStringArray(array.combine_chunks())
    return array.to_pandas()


def _decode(table: pa.Table) -> tuple[pd.DataFrame, str, float | None, pd.Timestamp]:
    meta = table.schema.metadata or {}
    layout = orjson.loads(meta[_LAYOUT])
    frame = pd.DataFrame(
        {name: _column(table.column(name), layout[name]) for name in table.column_names},
        copy=False,
    )
    expires = meta[_EXPIRES].decode()
    fetched = pd.Timestamp(meta[_FETCHED].decode())
    return frame, meta[_TOKEN].decode(), (float(expires) if expires else None), fetched


def _stamp(expires: Any) -> float | None:
    if expires is None:
        return None
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return float(expires.timestamp())


class ParsedStore:
    """The parsed answers of one cache (see the module docstring); thread-safe.

    Two tiers, one rule (an answer is reused only for the unchanged, fresh entry it was
    parsed from): contact frames kept beside the cache (`get`, `put`), for every process;
    and, where the entry's identity is one indexed read (SQLite), this process's recent
    parsed answers of any kind (`recall`, `remember`: a small LRU, bounded by rows).
    """

    def __init__(self) -> None:
        self._recent: cachetools.LRUCache[tuple[str, str], tuple[Any, Any, int]]
        self._recent = cachetools.LRUCache(RECENT_ROWS, getsizeof=lambda item: item[2])
        self._lock = threading.Lock()

    def token(self, key: str) -> str | None:
        """The identity of the entry under `key` if it is stored and fresh (None: unknown)."""
        return None

    def seen(self, key: str) -> str | None:
        """The identity of the entry this thread last read or wrote under `key`."""
        return None

    def recall(self, key: str) -> tuple[Any, Any] | None:
        """(value, info) remembered for the entry under `key`, if unchanged and fresh."""
        token = self.token(key)
        if token is None:
            return None
        with self._lock:
            item = self._recent.get((key, token))
        return None if item is None else (item[0], item[1])

    def remember(self, key: str, value: Any, info: Any, rows: int) -> None:
        """Remember `value`, parsed from the entry this thread just read or wrote."""
        seen = self.seen(key)
        if seen is None or rows >= RECENT_ROWS:
            return
        with self._lock:
            self._recent[(key, seen)] = (value, info, max(rows, 1))

    def get(self, key: str) -> tuple[pd.DataFrame, pd.Timestamp] | None:
        """(frame, fetched_at) parsed from the entry `key` if it is still stored, unchanged
        and fresh; None otherwise (and a stale parsed copy is dropped)."""
        raise NotImplementedError

    def put(self, key: str, frame: pd.DataFrame, fetched_at: Any, expires: Any) -> None:
        """Keep `frame`, parsed from the entry this thread just read or wrote under `key`."""
        raise NotImplementedError

    def versions(self, keys: Sequence[str]) -> list[str | None]:
        """Each entry's identity if it is stored and fresh (None: missing, expired, unknown)."""
        return [self.token(key) for key in keys]

    def get_join(self, name: str) -> Any:
        """(header, frames) of the join kept under `name` if every entry it was made from
        (`header["entries"]`: cache key, identity) is still stored, unchanged and fresh;
        None otherwise (a damaged record is dropped)."""
        return None

    def put_join(self, name: str, packed: bytes) -> None:
        """Keep a packed join (`pack_join`) under `name`."""

    def clear_joins(self) -> None:
        """Drop every kept join (the parsed answers stay)."""

    def _checked_join(self, data: Any) -> Any:
        entries = join_header(data)["entries"]
        keys = [key for key, _ in entries]
        if not keys or self.versions(keys) != [token for _, token in entries]:
            return None  # an entry changed, expired or went: the record stays for prune
        return unpack_join(data)  # then the bytes' digest: a damaged record is never used

    def clear(self) -> None:
        """Drop every parsed frame (the cache was cleared)."""
        with self._lock:
            self._recent.clear()

    def prune(self) -> None:
        """Drop the parsed frames whose entry is gone, changed or expired."""
        raise NotImplementedError


class SQLiteParsed(ParsedStore):
    """Arrow IPC files in a folder beside the SQLite cache file."""

    def __init__(self, backend: VitecSQLiteCache) -> None:
        super().__init__()
        self.backend = backend
        db = Path(backend.db_path)
        self.folder = db.with_name(db.name + PARSED_SUFFIX)

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.arrow"

    def _current(self, key: str) -> tuple[float | int | None, str] | None:
        return self.backend.responses.version(key)

    def token(self, key: str) -> str | None:
        current = self._current(key)
        if current is None or not stamp_is_fresh(current[0], self.backend.clock()):
            return None
        return current[1]

    def seen(self, key: str) -> str | None:
        return self.backend.responses.seen(key)

    def get(self, key: str) -> tuple[pd.DataFrame, pd.Timestamp] | None:
        path = self._path(key)
        current = self._current(key)
        if current is None:  # no entry: a parsed copy left over from it is never read
            path.unlink(missing_ok=True)
            return None
        try:
            with pa.memory_map(str(path)) as source:
                frame, token, _expires, fetched = _decode(ipc.open_file(source).read_all())
        except FileNotFoundError:
            return None
        except (OSError, pa.ArrowException, KeyError, ValueError) as exc:
            logger.warning("damaged parsed copy %s dropped (%s)", path.name, type(exc).__name__)
            path.unlink(missing_ok=True)
            return None
        if current is None or current[1] != token:
            path.unlink(missing_ok=True)
            return None
        if not stamp_is_fresh(current[0], self.backend.clock()):
            return None  # expired: the client decides (refetch, or stale on failure)
        return frame, fetched

    def put(self, key: str, frame: pd.DataFrame, fetched_at: Any, expires: Any) -> None:
        seen = self.backend.responses.seen(key)
        current = self._current(key)
        if seen is None or current is None or current[1] != seen:
            return  # changed since this thread read it: the other writer's parse is not ours
        table = _encode(frame, seen, current[0], fetched_at)
        tmp = self.folder / f".{key}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            self.folder.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle, ipc.new_file(handle, table.schema) as writer:
                writer.write_table(table)
            os.replace(tmp, self._path(key))
        except OSError as exc:  # cleared meanwhile, disk full, ...: the cache still answers
            logger.debug("parsed copy of %s not kept (%s)", key, exc)
        finally:
            tmp.unlink(missing_ok=True)

    def get_join(self, name: str) -> Any:
        path = self.folder / f"{name}{JOIN_SUFFIX}"
        try:
            with pa.memory_map(str(path)) as source:
                return self._checked_join(source.read_buffer())
        except FileNotFoundError:
            return None
        except (OSError, pa.ArrowException, KeyError, ValueError, TypeError) as exc:
            logger.warning("damaged kept join %s dropped (%s)", path.name, type(exc).__name__)
            path.unlink(missing_ok=True)
            return None

    def put_join(self, name: str, packed: bytes) -> None:
        self._write(self.folder / f"{name}{JOIN_SUFFIX}", packed)

    def _write(self, path: Path, data: bytes) -> None:
        tmp = self.folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            self.folder.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError as exc:  # cleared meanwhile, disk full, ...: the cache still answers
            logger.debug("%s not kept (%s)", path.name, exc)
        finally:
            tmp.unlink(missing_ok=True)

    def clear_joins(self) -> None:
        for path in self.folder.glob(f"*{JOIN_SUFFIX}") if self.folder.is_dir() else ():
            path.unlink(missing_ok=True)

    def _prune_joins(self) -> None:
        for path in self.folder.glob(f"*{JOIN_SUFFIX}"):
            try:
                with pa.memory_map(str(path)) as source:
                    entries = join_header(source.read_buffer(64 * 1024 * 1024))["entries"]
            except (OSError, KeyError, ValueError, TypeError):
                path.unlink(missing_ok=True)
                continue
            current = self.versions([key for key, _ in entries])
            if current != [token for _, token in entries]:
                path.unlink(missing_ok=True)

    def clear(self) -> None:
        super().clear()
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            with contextlib.suppress(OSError):
                path.unlink()

    def prune(self) -> None:
        if not self.folder.is_dir():
            return
        self._prune_joins()
        for path in self.folder.glob("*.arrow"):
            key = path.name.removesuffix(".arrow")
            current = self._current(key)
            if current is None or not stamp_is_fresh(current[0], self.backend.clock()):
                path.unlink(missing_ok=True)
                continue
            with contextlib.suppress(OSError, pa.ArrowException, KeyError):
                with pa.memory_map(str(path)) as source:
                    token = ipc.open_file(source).schema.metadata[_TOKEN].decode()
                if token != current[1]:
                    path.unlink(missing_ok=True)


class RedisParsed(ParsedStore):
    """Arrow IPC bytes under a key beside each Redis entry, with the entry's TTL."""

    def __init__(self, backend: Any, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.responses = backend.responses
        self.connection = backend.responses.connection
        self.clock = clock
        self._script = self.connection.register_script(_REDIS_GET)
        self._versions = self.connection.register_script(_REDIS_VERSIONS)

    def seen(self, key: str) -> str | None:
        return self.responses.seen(key)

    def remember(self, key: str, value: Any, info: Any, rows: int) -> None:
        """Nothing: an entry's identity costs a round trip here, so no recent answers."""

    def versions(self, keys: Sequence[str]) -> list[str | None]:
        """Each entry's SHA-1, if stored and fresh by its time to live: requests-cache keeps
        an entry `ttl_offset` seconds past its expiry, so one with less left than that (and
        a second) counts as expired; without TTLs freshness is unknown (all None)."""
        import redis

        offset = getattr(self.responses, "ttl_offset", None)
        if not keys or not getattr(self.responses, "ttl", False) or offset is None:
            return [None] * len(keys)
        try:
            found = self._versions(keys=[self.responses.bkey(key) for key in keys])
        except redis.RedisError:
            return [None] * len(keys)
        out: list[str | None] = []
        for digest, ttl in found:
            text = digest.decode() if isinstance(digest, bytes) else str(digest)
            fresh = ttl == -1 or int(ttl) > (offset + 1) * 1000
            out.append(text if text and fresh else None)
        return out

    def get_join(self, name: str) -> Any:
        import redis

        try:
            data = self.connection.get(f"{JOIN_PREFIX}{name}")
        except redis.RedisError:
            return None
        if data is None:
            return None
        try:
            return self._checked_join(data)
        except (pa.ArrowException, KeyError, ValueError, TypeError):
            self.connection.delete(f"{JOIN_PREFIX}{name}")
            return None

    def put_join(self, name: str, packed: bytes) -> None:
        import redis

        entries = join_header(packed)["entries"]
        with contextlib.suppress(redis.RedisError):
            ttls = [self.connection.pttl(self.responses.bkey(key)) for key, _ in entries]
            if any(ttl is None or ttl == -2 for ttl in ttls):
                return  # an entry is gone already
            finite = [ttl for ttl in ttls if ttl > 0]
            if finite:
                self.connection.psetex(f"{JOIN_PREFIX}{name}", min(finite), packed)
            else:
                self.connection.set(f"{JOIN_PREFIX}{name}", packed)

    def get(self, key: str) -> tuple[pd.DataFrame, pd.Timestamp] | None:
        import redis

        parsed_key = f"{REDIS_PREFIX}{key}"
        try:
            found = self._script(keys=[self.responses.bkey(key), parsed_key])
        except redis.RedisError:  # scripts not allowed, or Redis gone: the cache says which
            return None
        if not found or found[1] is None:
            return None
        digest = found[0].decode() if isinstance(found[0], bytes) else str(found[0])
        try:
            frame, token, expires, fetched = _decode(ipc.open_stream(found[1]).read_all())
        except (pa.ArrowException, KeyError, ValueError):
            self.connection.delete(parsed_key)
            return None
        if token != digest:
            self.connection.delete(parsed_key)
            return None
        if not stamp_is_fresh(expires, self.clock()):
            return None
        return frame, fetched

    def put(self, key: str, frame: pd.DataFrame, fetched_at: Any, expires: Any) -> None:
        import redis

        seen = self.responses.seen(key)
        if seen is None:
            return
        with contextlib.suppress(redis.RedisError):  # the answer itself was stored
            self._put(key, frame, seen, fetched_at, expires)

    def _put(self, key: str, frame: pd.DataFrame, seen: str, fetched_at: Any, expires: Any) -> None:
        table = _encode(frame, seen, _stamp(expires), fetched_at)
        sink = pa.BufferOutputStream()
        with ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        ttl = self.connection.pttl(self.responses.bkey(key))
        data = sink.getvalue().to_pybytes()
        if ttl is not None and ttl > 0:
            self.connection.psetex(f"{REDIS_PREFIX}{key}", ttl, data)
        elif ttl == -1:
            self.connection.set(f"{REDIS_PREFIX}{key}", data)

    def clear_joins(self) -> None:
        import redis

        with contextlib.suppress(redis.RedisError):
            keys = list(self.connection.scan_iter(f"{JOIN_PREFIX}*"))
            if keys:
                self.connection.delete(*keys)

    def clear(self) -> None:
        super().clear()
        keys = list(self.connection.scan_iter(f"{REDIS_PREFIX}*"))
        keys += list(self.connection.scan_iter(f"{JOIN_PREFIX}*"))
        if keys:
            self.connection.delete(*keys)

    def prune(self) -> None:
        for parsed_key in self.connection.scan_iter(f"{REDIS_PREFIX}*"):
            name = parsed_key.decode() if isinstance(parsed_key, bytes) else parsed_key
            if self.get(name.removeprefix(REDIS_PREFIX)) is None:
                self.connection.delete(parsed_key)


def parsed_store(backend: Any) -> ParsedStore | None:
    """The parsed store for a cache backend: SQLite and Redis; None for any other backend."""
    if isinstance(backend, VitecSQLiteCache):
        return SQLiteParsed(backend)
    from requests_cache.backends import RedisCache

    if isinstance(backend, RedisCache) and hasattr(backend.responses, "seen"):
        return RedisParsed(backend)
    return None
