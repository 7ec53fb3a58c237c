"""The on-disk answer cache: one requests-cache `CachedSession` with credential-tagged keys.

Decisions, and why:
- SQLite in the user cache directory by default (WAL, so the planner's threads read while
  one writes; one connection per thread, bounded lock waits, 0600 files, damaged entries
  dropped: cache_sqlite.py, the one module with SQL on the cache); a ``redis://`` URL
  gives a team a shared cache; any requests_cache backend object works too.
- The JSON serializer (orjson): pickle runs code when it loads, which a shared cache must
  never allow. Bodies of 16 KiB and more are zstd-compressed inside the JSON, which keeps
  a million-reference answer (~93 MB) under 500 MB of peak memory end to end and takes
  base64 work (which holds the GIL) off the planner's threads.
- Only 200 answers are stored. The cache never parses: the client parses each answer it
  gets in its own send path, and deletes the entry of a body that does not parse (then
  asks again), so a malformed body is never answered from the cache twice.
- Contact frames are kept parsed beside the entries they came from (parsed_store.py);
  `clear()` drops them with the entries.
- requests-cache's own stale-if-error is off: it would also serve an expired answer
  after a 401. The client picks stale answers itself, for server failures only.
- The key is requests-cache's own key (method, URL, parameters, the Accept header) plus
  "-" plus a tag of the credential (see credentials.py), so a second credential never
  reads what the first fetched. The tag's secret lives beside the cache: a 0600 file
  ``<cache>.secret`` for SQLite, a ``SET NX`` key in Redis.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs
from requests_cache import CachedSession, create_key
from requests_cache.backends import BaseCache, FileCache, RedisCache, SQLiteCache

from vitec_nb.cache_redis import redis_backend, redis_location
from vitec_nb.cache_serializer import SERIALIZER
from vitec_nb.cache_sqlite import DEFAULT_LOCK_TIMEOUT, VitecSQLiteCache
from vitec_nb.credentials import CredentialTagger
from vitec_nb.errors import ConfigurationError
from vitec_nb.parsed_store import parsed_store

__all__ = [
    "SERIALIZER",
    "VitecSQLiteCache",
    "cache_description",
    "cache_targets",
    "clear",
    "clear_caches",
    "default_cache_path",
    "demo_cache_path",
    "describe_caches",
    "entry_is_fresh",
    "has_damaged",
    "make_backend",
    "make_session",
    "sqlite_path",
    "take_damaged",
]

REDIS_SECRET_KEY = "vitec_nb:credential_secret"
SECRET_BYTES = 32
logger = logging.getLogger("vitec_nb")


def default_cache_path() -> Path:
    """Where the cache lives unless told otherwise (platformdirs' user cache directory)."""
    return platformdirs.user_cache_path("vitec_nb") / "http_cache.sqlite"


def demo_cache_path() -> Path:
    """Demo mode's own cache file, so stand-in answers never sit beside real ones."""
    return platformdirs.user_cache_path("vitec_nb") / "demo_http_cache.sqlite"


def sqlite_path(path: Path, *, create: bool = True) -> Path:
    """The SQLite file for a path: a directory gets http_cache.sqlite, no suffix gets .sqlite."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / "http_cache.sqlite"
    elif not path.suffix:
        path = path.with_suffix(".sqlite")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    return path


def make_backend(cache: Any = None, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> BaseCache:
    """A requests_cache backend from a path, a redis:// URL, a backend object, or None.

    `lock_timeout`: seconds a lock another process holds on a SQLite file is waited for.
    """
    if isinstance(cache, BaseCache):
        return cache
    if cache is None:
        cache = default_cache_path()
    if isinstance(cache, str) and cache.startswith(("redis://", "rediss://", "unix://")):
        return redis_backend(cache, SERIALIZER)
    if isinstance(cache, str | os.PathLike):
        path = sqlite_path(Path(cache))
        try:
            return VitecSQLiteCache(path, serializer=SERIALIZER, lock_timeout=lock_timeout)
        except PermissionError as exc:
            raise ConfigurationError(_unwritable(path, exc)) from None
        except sqlite3.DatabaseError as exc:  # not a database, damaged, or unwritable
            if "readonly" in str(exc).replace(" ", "") or "unable to open" in str(exc):
                raise ConfigurationError(_unwritable(path, exc)) from None
            raise ConfigurationError(
                f"cache: {path} cannot be used as the answer cache ({exc}). If it is damaged, "
                "delete it (with its -wal and -shm files; only cached answers are lost), or "
                "connect with another cache=path."
            ) from None
    raise ConfigurationError(
        f"cache: {cache!r} is not allowed (allowed: a file path, a directory, a "
        "redis://host:port/db URL, or a requests_cache backend object)"
    )


def _unwritable(path: Path, exc: BaseException) -> str:
    return (
        f"cache: {path} cannot be written ({exc}). Give your user write access to it and its "
        "folder, or connect with another cache=path."
    )


def has_damaged(session: CachedSession) -> bool:
    """Whether any entry was found damaged (and dropped) and not yet asked about."""
    return bool(getattr(session.cache.responses, "damaged", None))


def take_damaged(session: CachedSession, key: str) -> bool:
    """Whether the entry `key` was found damaged (and dropped) since the last ask."""
    found = getattr(session.cache.responses, "damaged", None)
    if not found or key not in found:
        return False
    found.discard(key)
    return True


def clear(session: CachedSession, *, expired_only: bool = False) -> None:
    """Delete every answer (or only the expired ones), safe while other threads use the cache."""
    if expired_only:
        session.cache.delete(expired=True)
    else:
        session.cache.clear()
    parsed = parsed_store(session.cache)
    if parsed is not None:
        parsed.prune() if expired_only else parsed.clear()


def cache_location(session: CachedSession) -> str:
    """Where the session's cache is, safe to show (no password); sends nothing to it."""
    backend = session.cache
    if isinstance(backend, VitecSQLiteCache | SQLiteCache):
        return str(backend.db_path)
    if isinstance(backend, RedisCache):
        return redis_location(backend.responses.connection)
    return type(backend).__name__


def _cache_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [sqlite3.Error]
    try:
        import redis

        errors.append(redis.RedisError)
    except ImportError:  # redis is an optional extra
        pass
    return tuple(errors)


# What the cache's own store raises when it fails (locked or damaged file, Redis gone).
CACHE_ERRORS = _cache_errors()


def secret_path(backend: BaseCache) -> Path | None:
    """Where a file-based backend keeps its credential-tag secret (None: not in a file)."""
    if isinstance(backend, VitecSQLiteCache | SQLiteCache):
        db = Path(backend.db_path)
        return db.with_name(db.name + ".secret")
    if isinstance(backend, FileCache):
        return Path(backend.cache_dir) / "vitec_nb.secret"
    return None


def _file_secret(path: Path) -> bytes:
    """Read the secret, creating it (mode 0600, atomically: first writer wins) if missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(SECRET_BYTES))
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)  # fails if another process created it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    try:
        text = path.read_text().strip()
    except OSError as exc:  # a directory, no permission, ...: name the file, not a traceback
        what = "is a directory" if path.is_dir() else f"cannot be read ({exc.strerror})"
        raise ConfigurationError(
            f"the cache secret {path} {what}: it must be the 0600 file vitec_nb creates beside "
            "the cache; move it away (cached answers become unreachable) or choose another cache"
        ) from None
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise ConfigurationError(
            f"the cache secret {path} is damaged; delete it (cached answers become unreachable)"
        ) from exc


def load_secret(backend: BaseCache) -> bytes:
    """The random secret that keys credential tags for this cache, created on first use."""
    path = secret_path(backend)
    if path is not None:
        return _file_secret(path)
    if isinstance(backend, RedisCache):
        connection = backend.responses.connection
        connection.set(REDIS_SECRET_KEY, secrets.token_hex(SECRET_BYTES), nx=True)
        value = connection.get(REDIS_SECRET_KEY)
        return bytes.fromhex(value.decode() if isinstance(value, bytes) else value)
    # Memory and other backends: a secret for this process only (entries do not outlive it).
    return secrets.token_bytes(SECRET_BYTES)


def make_key_fn(tagger: CredentialTagger) -> Callable[..., str]:
    """requests-cache's default key with the Accept header, + "-" + the credential tag.

    Keys are remembered by everything the default key reads (method, URL, body, verify,
    Accept, the options requests-cache passes) plus the tag: the client computes a key
    before it sends (for its memo of parsed answers) and requests-cache computes it again
    inside `send`; URL normalisation makes each computation cost ~0.2 ms under the GIL,
    which eight threads of a breakdown queue behind (docs/benchmarks.md, benchmark 5).
    """
    known: dict[tuple[Any, ...], str] = {}

    def key_fn(request: Any, **kwargs: Any) -> str:
        tag = tagger.tag_for_header(request.headers.get("Authorization"))
        body = request.body
        slot: tuple[Any, ...] | None = None
        if body is None or isinstance(body, bytes | str):
            slot = (
                request.method,
                request.url,
                body,
                bool(kwargs.get("verify", True)),
                request.headers.get("Accept"),
                tag,
                tuple(kwargs.get("ignored_parameters") or ()),
                kwargs.get("content_root_key"),
                str(kwargs.get("serializer")),
            )
            key = known.get(slot)
            if key is not None:
                return key
        kwargs["match_headers"] = ["Accept"]  # the format is part of the answer
        key = f"{create_key(request, **kwargs)}-{tag}"
        if slot is not None:
            if len(known) > 50_000:
                known.clear()
            known[slot] = key
        return key

    return key_fn


def make_session(
    cache: Any = None,
    *,
    expire_after: float = 3600.0,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> CachedSession:
    """The one CachedSession every request goes through.

    Args:
        cache: a path (file or directory), a ``redis://`` URL, a requests_cache backend, or
            None for `default_cache_path()`.
        expire_after: seconds an answer stays fresh; -1 = never expires.
        lock_timeout: seconds another process's lock on a SQLite cache is waited for.
    """
    backend = make_backend(cache, lock_timeout=lock_timeout)
    tagger = CredentialTagger(load_secret(backend))
    session = CachedSession(
        backend=backend,
        expire_after=expire_after,
        allowable_codes=(200,),
        allowable_methods=("GET",),
        # Stale answers on server failure are chosen by the client (never for a 4xx).
        stale_if_error=False,
        key_fn=make_key_fn(tagger),
    )
    return session


def entry_is_fresh(session: CachedSession, key: str) -> bool:
    """Whether `key` is cached and not expired, without sending anything."""
    backend = session.cache
    if isinstance(backend, VitecSQLiteCache):
        return backend.is_fresh(key)
    response = backend.get_response(key)
    return response is not None and not response.is_expired


def cache_description(session: CachedSession) -> dict[str, Any]:
    """Where the cache is and what is in it (for `vitec-nb cache info`)."""
    backend = session.cache
    info: dict[str, Any] = {"backend": type(backend).__name__, "location": cache_location(session)}
    if isinstance(backend, VitecSQLiteCache | SQLiteCache):
        path = Path(backend.db_path)
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
        info["bytes"] = size
    info["responses"] = len(backend.responses)
    # Counting fresh answers is one indexed query for SQLite; elsewhere it would load them all.
    info["fresh"] = backend.count(expired=False) if isinstance(backend, VitecSQLiteCache) else None
    return info


def cache_targets(cache: Any = None) -> list[Any]:
    """The caches `cache` names as configured (`VITEC_NB_CACHE` when None); with none
    configured, the default cache and the demo cache beside it."""
    from vitec_nb.settings import Settings

    configured = Settings.resolve(cache=cache, demo=True).cache
    return [configured] if configured is not None else [default_cache_path(), demo_cache_path()]


def _each_cache(cache: Any, use: Callable[[CachedSession], dict[str, Any]]) -> list[dict[str, Any]]:
    """`use(session)` for each of `cache_targets(cache)`; a SQLite cache not made yet is
    ``{"location": its file, "missing": True}`` (and is not created)."""
    out = []
    for target in cache_targets(cache):
        if isinstance(target, Path) and not sqlite_path(target, create=False).exists():
            out.append({"location": str(sqlite_path(target, create=False)), "missing": True})
            continue
        session = make_session(target)
        try:
            out.append(use(session))
        finally:
            session.close()
    return out


def describe_caches(cache: Any = None) -> list[dict[str, Any]]:
    """`cache_description` of each of `cache_targets(cache)` (`vitec-nb cache info`)."""
    return _each_cache(cache, cache_description)


def clear_caches(cache: Any = None, *, expired_only: bool = False) -> list[dict[str, Any]]:
    """`clear` each of `cache_targets(cache)` (`vitec-nb cache clear`): per cache its
    location, the answers removed and those left."""

    def cleared(session: CachedSession) -> dict[str, Any]:
        before = len(session.cache.responses)
        clear(session, expired_only=expired_only)
        after = len(session.cache.responses)
        where = cache_description(session).get("location", "cache")
        return {"location": where, "removed": before - after, "left": after}

    return _each_cache(cache, cleared)
