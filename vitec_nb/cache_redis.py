"""The team cache on Redis: requests-cache's backend, where a damaged entry is a miss."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from typing import Any

from requests_cache.backends import RedisCache
from requests_cache.backends.redis import RedisDict

from vitec_nb.errors import ConfigurationError

__all__ = ["REDIS_NAMESPACE", "redis_backend", "redis_location"]

logger = logging.getLogger("vitec_nb")

REDIS_NAMESPACE = "vitec_nb"


def redis_location(connection: Any) -> str:
    """redis://host:port/db of a connection, without any password."""
    kw = connection.connection_pool.connection_kwargs
    if kw.get("path"):
        return f"unix://{kw['path']}"
    return f"redis://{kw.get('host')}:{kw.get('port')}/{kw.get('db', 0)}"


class _DamageAwareRedisDict(RedisDict):
    """requests-cache's Redis table, where an entry that cannot be decoded is a miss.

    The entry is deleted and its key remembered in `damaged` (the client warns, naming the
    call), instead of cattrs' raw error on every read. `seen(key)` is the SHA-1 of the
    stored bytes this thread last read or wrote under a key: the identity of the entry the
    parsed columns beside it (parsed_store.py) were made from.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.damaged: set[str] = set()
        self._seen = threading.local()

    def seen(self, key: str) -> str | None:
        return getattr(self._seen, "digests", {}).get(key)

    def _note(self, key: str, raw: bytes) -> None:
        digests = getattr(self._seen, "digests", None)
        if digests is None or len(digests) > 10_000:
            digests = self._seen.digests = {}
        digests[key] = hashlib.sha1(raw, usedforsecurity=False).hexdigest()

    def bkey(self, key: str) -> bytes:
        """The Redis key an entry is stored under."""
        return self._bkey(key)

    def __getitem__(self, key: str) -> Any:
        result = self.connection.get(self._bkey(key))
        if result is None:
            raise KeyError(key)
        self._note(key, result)
        return self.deserialize(key, result)

    def __setitem__(self, key: str, item: Any) -> None:
        """As requests-cache stores it (TTL: the expiry plus its offset), noting the digest."""
        data = self.serialize(item)
        self._note(key, data)
        expires_delta = getattr(item, "expires_delta", None)
        if expires_delta is not None:
            ttl_seconds = expires_delta + self.ttl_offset
            if self.ttl and ttl_seconds > 0:
                self.connection.setex(self._bkey(key), ttl_seconds, data)
                return
        self.connection.set(self._bkey(key), data)

    def deserialize(self, key: str, value: Any) -> Any:
        try:
            obj = self.serializer.loads(value) if self.serializer else value
        except Exception as exc:  # cattrs, orjson, zstd, base64: whatever the damage
            logger.warning("damaged cache entry %s dropped (%s)", key, type(exc).__name__)
            self.damaged.add(key)
            with contextlib.suppress(KeyError):
                del self[key]
            return None
        with contextlib.suppress(AttributeError):
            obj.cache_key = key
        return obj


def redis_backend(url: str, serializer: Any) -> RedisCache:
    """requests-cache's Redis backend for a URL; ConfigurationError if it cannot be reached."""
    try:
        import redis
    except ImportError as exc:
        raise ConfigurationError(
            "cache: a redis:// URL needs the redis package (pip install 'vitec_nb[redis]')"
        ) from exc
    connection = redis.Redis.from_url(url)
    try:
        connection.ping()  # fail now, in words, rather than at the first query
    except redis.RedisError as exc:
        raise ConfigurationError(
            f"cache: the Redis cache at {redis_location(connection)} cannot be reached "
            f"({type(exc).__name__}: {exc}). Start it, check the URL, or connect with a "
            "local cache (cache=a file path)."
        ) from None
    backend = RedisCache(REDIS_NAMESPACE, connection=connection, serializer=serializer)
    backend.responses = _DamageAwareRedisDict(
        REDIS_NAMESPACE, connection=connection, serializer=serializer
    )
    return backend
