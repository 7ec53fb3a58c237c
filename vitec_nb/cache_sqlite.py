"""The SQLite answer cache: one connection per thread, bounded lock waits, 0600 files.

This is the only module that runs SQL on the cache's tables. It is a requests-cache
backend built on requests-cache's public extension API (`BaseCache` with `BaseStorage`
tables), with the same file layout requests-cache's own SQLite backend uses (tables
``responses`` and ``redirects`` with columns key, value, expires), so existing cache files
keep working. What it does differently, and why:

- One connection per thread. requests-cache shares one connection between threads and
  reads on it without a lock; its `clear()` closes and reopens that connection, which
  crashed the interpreter when another thread was reading. Here a connection is only ever
  used by the thread that opened it, under its own lock; `close()` waits for each one to be
  idle. `clear()` deletes rows in one transaction: no table is dropped, no connection closed.
- Bounded waits. Another process holding a lock on the file is waited for
  `lock_timeout` seconds (SQLite's busy timeout), then `CacheLockedError` (a
  `ConfigurationError`) names the file and, on Linux, the processes that have it open.
- Private files. The database is created mode 0600 before SQLite opens it; SQLite gives its
  ``-wal`` and ``-shm`` files the database's mode. An existing file we own is tightened.
- Damaged entries are misses. An entry that cannot be decoded is deleted and remembered in
  `damaged` (the client warns, naming the call); requests-cache's own backend raised cattrs'
  `ClassValidationError` on every read.
- Exact expiry. `expires` is stored as REAL seconds (requests-cache rounds to whole
  seconds, so an answer could count as fresh up to half a second after it expired). Old
  rows with a whole-second stamp are compared as if they expired half a second earlier.
- A covering index on (key, expires): "is it still cached, and until when?" never reads the
  (possibly many-megabyte) body (16 ms for a 13 MB answer without it; benchmark 2).
- Entry versions. Triggers in the file give every row of ``responses`` a new random
  version in ``vitec_nb_versions`` whenever it is inserted, replaced or updated (by any
  process or tool) and drop it when the row goes: the parsed columns kept beside the cache
  (parsed_store.py) are used only while the version they were parsed from is still there.
  `seen(key)` is the version this thread last read or wrote under a key.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

from requests_cache.backends import BaseCache, BaseStorage

from vitec_nb.errors import ConfigurationError

__all__ = ["DEFAULT_LOCK_TIMEOUT", "CacheLockedError", "SQLiteStore", "VitecSQLiteCache"]

logger = logging.getLogger("vitec_nb")

DEFAULT_LOCK_TIMEOUT = 5.0  # seconds another process's lock on the cache file is waited for
EXPIRY_INDEX = "vitec_nb_key_expires"
VERSIONS = "vitec_nb_versions"
# An entry at least this large is written through SQLite's blob API, not bound as a
# parameter: Python's statement cache keeps a bound value's copy until the statement runs
# again (~40 MB held after storing a million-reference answer).
BLOB_WRITE_FROM = 1 << 20
_NEW_VERSION = (
    f"INSERT OR REPLACE INTO {VERSIONS} (key, version) VALUES (NEW.key, hex(randomblob(12)))"
)
_VERSION_SQL = (
    f"CREATE TABLE IF NOT EXISTS {VERSIONS} (key TEXT PRIMARY KEY, version TEXT NOT NULL)",
    "CREATE TRIGGER IF NOT EXISTS vitec_nb_version_insert AFTER INSERT ON responses "
    f"BEGIN {_NEW_VERSION}; END",
    "CREATE TRIGGER IF NOT EXISTS vitec_nb_version_update AFTER UPDATE ON responses "
    f"BEGIN DELETE FROM {VERSIONS} WHERE key = OLD.key; {_NEW_VERSION}; END",
    "CREATE TRIGGER IF NOT EXISTS vitec_nb_version_delete AFTER DELETE ON responses "
    f"BEGIN DELETE FROM {VERSIONS} WHERE key = OLD.key; END",
)
_SCHEMA_NAMES = frozenset(
    {"responses", "redirects", EXPIRY_INDEX, VERSIONS, "vitec_nb_version_insert",
     "vitec_nb_version_update", "vitec_nb_version_delete"}
)  # fmt: skip
WHOLE_SECOND_SLACK = 0.5  # a whole-second stamp may have been rounded up by this much
Clock = Callable[[], float]


class CacheLockedError(ConfigurationError):
    """The SQLite cache file stayed locked by another process for longer than allowed."""


def _holders(path: Path) -> list[str]:
    """'pid (command)' of other processes with the file (or its -wal/-shm) open; Linux only."""
    targets = {str(path), f"{path}-wal", f"{path}-shm", f"{path}-journal"}
    found: list[str] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
            if links & targets:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").strip()
                found.append(f"{entry.name} ({command.decode(errors='replace')[:80]})")
        except OSError:  # gone meanwhile, or not ours to look at
            continue
    return found


def _private_file(path: Path) -> None:
    """Create the database file mode 0600 (before SQLite does, 0644); tighten one we own."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(OSError):
            info = name.stat()
            if info.st_uid == os.getuid() and info.st_mode & 0o077:
                name.chmod(0o600)


class _Connection:
    """One thread's connection and the lock that says it is in use."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con
        self.lock = threading.RLock()
        self.closed = False


class _Connections:
    """The connections to one file: one per thread, and one writer of this process at a time."""

    def __init__(self, path: Path, lock_timeout: float) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        self.write_lock = threading.Lock()
        self._local = threading.local()
        self._all: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._all_lock = threading.Lock()

    def _open(self) -> _Connection:
        con = sqlite3.connect(
            self.path, timeout=self.lock_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error:
            con.close()
            raise
        conn = _Connection(con)
        with self._all_lock:
            self._all.add(conn)
        return conn

    @contextlib.contextmanager
    def use(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, held for the block; SQLite errors made readable."""
        with self.readable_errors():
            while True:
                conn = getattr(self._local, "conn", None)
                if conn is None or conn.closed:
                    conn = self._open()
                    self._local.conn = conn
                conn.lock.acquire()
                if not conn.closed:
                    break
                conn.lock.release()  # closed by close() meanwhile: open another
            try:
                yield conn.con
            finally:
                conn.lock.release()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE), committed at the end, rolled back on error."""
        with self.write_lock, self.use() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.rollback()
                raise
            con.commit()

    @contextlib.contextmanager
    def readable_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if "locked" not in text and "busy" not in text:
                raise
            holders = _holders(self.path)
            held = f"held by process {', '.join(holders)}" if holders else "holder unknown"
            raise CacheLockedError(
                f"cache: {self.path} stayed locked by another process for more than "
                f"{self.lock_timeout:g} s ({held}). Wait for it to finish, stop it, or "
                "connect with another cache=path (or a longer cache_lock_timeout=)."
            ) from None

    def close(self) -> None:
        """Close every connection, each once its thread is done with it."""
        with self._all_lock:
            conns = list(self._all)
        for conn in conns:
            with conn.lock:
                if not conn.closed:
                    conn.closed = True
                    conn.con.close()


def _stamp(expires: Any) -> float | None:
    """Unix seconds of a response's expiry (naive datetimes are UTC), exactly."""
    if expires is None:
        return None
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return float(expires.timestamp())


def stamp_is_fresh(expires: float | int | None, now: float) -> bool:
    """Whether a stored stamp is still in the future, at the precision it was stored with."""
    if expires is None:
        return True
    if isinstance(expires, int):  # rounded to a whole second (requests-cache, older files)
        return expires - WHOLE_SECOND_SLACK > now
    return expires > now


class SQLiteStore(BaseStorage):
    """One table (key, value, expires) of the cache file, as a dict; thread-safe."""

    def __init__(
        self,
        connections: _Connections,
        table_name: str,
        *,
        serializer: Any = None,
        damaged: set[str] | None = None,
    ) -> None:
        super().__init__(serializer=serializer)
        self.connections = connections
        self.table_name = table_name
        self.damaged = damaged if damaged is not None else set()
        self.versioned = table_name == "responses"
        self._seen = threading.local()

    @property
    def db_path(self) -> Path:
        return self.connections.path

    def seen(self, key: str) -> str | None:
        """The version this thread last read or wrote under `key` (None: none, or unknown)."""
        return getattr(self._seen, "versions", {}).get(key)

    def _note(self, key: str, version: str | None) -> None:
        versions = getattr(self._seen, "versions", None)
        if versions is None or len(versions) > 10_000:
            versions = self._seen.versions = {}
        versions[key] = version

    def __getitem__(self, key: str) -> Any:
        with self.connections.use() as con:
            if self.versioned:
                row = con.execute(
                    f"SELECT r.value, v.version FROM responses r LEFT JOIN {VERSIONS} v "
                    "ON v.key = r.key WHERE r.key = ?",
                    (key,),
                ).fetchone()
            else:
                row = con.execute(
                    f"SELECT value, NULL FROM {self.table_name} WHERE key = ?", (key,)
                ).fetchone()
        if row is None:
            raise KeyError(key)
        if self.versioned:
            self._note(key, row[1])
        return self._load(key, row[0])

    def version(self, key: str) -> tuple[float | int | None, str] | None:
        """(expiry stamp, version) of a stored entry from two indexed reads (no body); None
        if it is not stored or has no version (stored before versions existed)."""
        with self.connections.use() as con:
            row = con.execute(
                f"SELECT r.expires, v.version FROM responses r INDEXED BY {EXPIRY_INDEX} "
                f"JOIN {VERSIONS} v ON v.key = r.key WHERE r.key = ?",
                (key,),
            ).fetchone()
        return None if row is None else (row[0], row[1])

    def _load(self, key: str, value: Any) -> Any:
        if self.serializer is None:
            return value
        try:
            obj = self.serializer.loads(value)
        except Exception as exc:  # cattrs, orjson, zstd, base64: whatever the damage
            logger.warning("damaged cache entry %s dropped (%s)", key, type(exc).__name__)
            self.damaged.add(key)
            self.bulk_delete([key])
            raise KeyError(key) from None
        with contextlib.suppress(AttributeError):
            obj.cache_key = key
        return obj

    def __setitem__(self, key: str, value: Any) -> None:
        expires = _stamp(getattr(value, "expires", None))
        data = self.serialize(value)
        large = isinstance(data, bytes) and len(data) >= BLOB_WRITE_FROM
        if isinstance(data, bytes) and not large:
            data = sqlite3.Binary(data)
        with self.connections.transaction() as con:
            if large:  # written into its row: never kept bound to the cached statement
                row = con.execute(
                    f"INSERT OR REPLACE INTO {self.table_name} (key, value, expires) "
                    "VALUES (?, zeroblob(?), ?)",
                    (key, len(data), expires),
                ).lastrowid
                with con.blobopen(self.table_name, "value", row) as blob:
                    blob.write(data)
            else:
                con.execute(
                    f"INSERT OR REPLACE INTO {self.table_name} (key, value, expires) "
                    "VALUES (?, ?, ?)",
                    (key, data, expires),
                )
            if self.versioned:
                row = con.execute(f"SELECT version FROM {VERSIONS} WHERE key = ?", (key,))
                found = row.fetchone()
        if self.versioned:
            self._note(key, None if found is None else found[0])

    def __delitem__(self, key: str) -> None:
        with self.connections.transaction() as con:
            cur = con.execute(f"DELETE FROM {self.table_name} WHERE key = ?", (key,))
        if not cur.rowcount:
            raise KeyError(key)

    def bulk_delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        with self.connections.transaction() as con:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                con.execute(f"DELETE FROM {self.table_name} WHERE key IN ({marks})", chunk)

    def __iter__(self) -> Iterator[str]:
        with self.connections.use() as con:
            keys = [row[0] for row in con.execute(f"SELECT key FROM {self.table_name}")]
        return iter(keys)

    def __len__(self) -> int:
        return self.count()

    def count(self, expired: bool = True, now: float | None = None) -> int:
        """Rows, or with expired=False only the fresh ones."""
        with self.connections.use() as con:
            if expired:
                return int(con.execute(f"SELECT COUNT(*) FROM {self.table_name}").fetchone()[0])
            stamps = con.execute(
                f"SELECT expires FROM {self.table_name} INDEXED BY {EXPIRY_INDEX}"
            ).fetchall()
        moment = time.time() if now is None else now
        return sum(stamp_is_fresh(row[0], moment) for row in stamps)

    def expiry(self, key: str) -> tuple[bool, float | int | None]:
        """(stored?, its expiry stamp) from the index alone, never reading the body."""
        with self.connections.use() as con:
            row = con.execute(
                f"SELECT expires FROM {self.table_name} INDEXED BY {EXPIRY_INDEX} WHERE key = ?",
                (key,),
            ).fetchone()
        return (False, None) if row is None else (True, row[0])

    def delete_expired(self, now: float) -> None:
        with self.connections.transaction() as con:
            con.execute(
                f"DELETE FROM {self.table_name} WHERE expires IS NOT NULL AND expires <= ?",
                (now,),
            )

    def clear(self) -> None:
        with self.connections.transaction() as con:
            con.execute(f"DELETE FROM {self.table_name}")
        self.damaged.clear()

    def close(self) -> None:
        self.connections.close()


class VitecSQLiteCache(BaseCache):
    """The SQLite cache backend (see the module docstring); `clock` is for tests."""

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        *,
        serializer: Any = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        clock: Clock = time.time,
    ) -> None:
        path = Path(db_path)
        super().__init__(cache_name=str(path))
        self.clock = clock
        _private_file(path)
        connections = _Connections(path, lock_timeout)
        self.damaged: set[str] = set()
        self.responses: SQLiteStore = SQLiteStore(
            connections, "responses", serializer=serializer, damaged=self.damaged
        )
        self.redirects: SQLiteStore = SQLiteStore(connections, "redirects")
        self._init_tables(connections)

    @staticmethod
    def _init_tables(connections: _Connections) -> None:
        with connections.use() as con:
            names = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
        if names >= _SCHEMA_NAMES:
            return  # nothing to write: no write lock needed
        with connections.transaction() as con:
            for table in ("responses", "redirects"):
                con.execute(
                    f"CREATE TABLE IF NOT EXISTS {table} "
                    "(key TEXT PRIMARY KEY, value BLOB, expires INTEGER)"
                )
                con.execute(f"CREATE INDEX IF NOT EXISTS expires_idx_{table} ON {table}(expires)")
            con.execute(f"CREATE INDEX IF NOT EXISTS {EXPIRY_INDEX} ON responses (key, expires)")
            for statement in _VERSION_SQL:
                con.execute(statement)

    @property
    def db_path(self) -> Path:
        return self.responses.db_path

    def is_fresh(self, key: str) -> bool:
        """Whether `key` is stored and not expired by this backend's clock; sends nothing."""
        found, expires = self.responses.expiry(key)
        return found and stamp_is_fresh(expires, self.clock())

    def count(self, expired: bool = True) -> int:
        return self.responses.count(expired=expired, now=self.clock())

    def clear(self) -> None:
        """Delete every answer, safely while other threads read and write."""
        with self.responses.connections.transaction() as con:
            con.execute("DELETE FROM responses")
            con.execute("DELETE FROM redirects")
        self.damaged.clear()

    def delete(
        self, *keys: str, expired: bool = False, vacuum: bool = False, **kwargs: Any
    ) -> None:
        """Delete answers by key, the expired ones, or (kwargs) by requests-cache's rules.

        `vacuum` is accepted for requests-cache's signature; the file is never vacuumed.
        """
        if keys:
            self.responses.bulk_delete(keys)
        if expired:
            self.responses.delete_expired(self.clock())
        if kwargs:
            super().delete(**kwargs)
