"""The team cache on Redis: requests-cache's backend, where a damaged entry is a miss."""

from __future__ import annotations

import contextlib
import logging
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
    call), instead of cattrs' raw error on every read.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.damaged: set[str] = set()

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
