"""One frozen `Settings`, resolved once from arguments, environment, keyring and defaults.

Everything the client needs is decided here, in one place and in one order — arguments,
then environment variables, then the keyring, then defaults — so no code deeper down reads
`os.environ`. With nothing configured at all the result is demo mode (the built-in
stand-in); a partial configuration is a `ConfigurationError` naming what is missing.

Environment variables: ``VITEC_BASE_URL``, ``VITEC_USERNAME``, ``VITEC_PASSWORD`` (every
office), ``VITEC_PASSWORD_<CUSTOMERID>`` (one office), ``VITEC_CUSTOMER_IDS`` (comma-separated
offices), ``VITEC_NB_CACHE`` (cache path or ``redis://`` URL). Keyring layout (service
``vitec_nb``): see docs/credentials.md and `KEYRING_*` below.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from vitec_nb.credentials import KEYRING_SERVICE, Credentials
from vitec_nb.errors import ConfigurationError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_EXPIRE_AFTER",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_RETRY_AFTER",
    "DEFAULT_TIMEOUT",
    "Settings",
]

DEFAULT_BASE_URL = "https://connect.maklare.vitec.net"
DEFAULT_EXPIRE_AFTER = 3600.0  # seconds: one hour
DEFAULT_TIMEOUT = (10.0, 60.0)  # (connect, read) seconds; read is per socket read
DEFAULT_MAX_RETRIES = 4  # retries after the first attempt
DEFAULT_BACKOFF_FACTOR = 0.5  # 0.5, 1, 2, 4 s ... between attempts
DEFAULT_BACKOFF_MAX = 8.0  # no single backoff wait is longer
DEFAULT_MAX_RETRY_AFTER = 30.0  # a server's Retry-After is honoured up to this many seconds
DEFAULT_CONCURRENCY = 8  # connection pool size; the planner's threads share the pool

# Keyring entries, all under service "vitec_nb":
KEYRING_USERNAME = "username"  # the user name itself (optional; or VITEC_USERNAME)
KEYRING_CUSTOMER_IDS = "customer_ids"  # comma-separated offices (optional)
# "<username>" -> password for every office; "<username>@<CUSTOMERID>" -> one office.

_CUSTOMER_ID = re.compile(r"^[MSOGT][0-9]+$")
_ENV_PASSWORD_PREFIX = "VITEC_PASSWORD_"

KeyringGet = Callable[[str, str], "str | None"]


def _keyring_get(service: str, key: str) -> str | None:
    """keyring.get_password, treating a missing or failing keyring as "nothing stored"."""
    try:
        import keyring
        import keyring.errors

        return keyring.get_password(service, key)
    except Exception:  # no backend, locked backend, D-Bus trouble: nothing stored for us
        return None


def _check_customer_id(customer_id: str, where: str) -> str:
    cid = str(customer_id).strip()
    if not _CUSTOMER_ID.match(cid):
        raise ConfigurationError(
            f"{where}: {customer_id!r} is not a customer id (allowed: a prefix M, S, O, G or T "
            "followed by digits, e.g. M30011)"
        )
    return cid


def _seconds(value: float | timedelta, name: str, *, allow_never: bool = False) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name}: {value!r} is not a number of seconds")
    if allow_never and value == -1:
        return -1.0
    if value <= 0:
        allowed = "a positive number of seconds or a timedelta"
        if allow_never:
            allowed += ", or -1 for never"
        raise ConfigurationError(f"{name}: {value!r} is not allowed (allowed: {allowed})")
    return float(value)


def _timeout(value: float | tuple[float, float] | None) -> tuple[float, float]:
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ConfigurationError(
                f"timeout: {value!r} is not allowed (allowed: seconds, or (connect, read))"
            )
        return (_seconds(value[0], "timeout"), _seconds(value[1], "timeout"))
    seconds = _seconds(value, "timeout")
    return (seconds, seconds)


def _whole(value: int | None, default: int, name: str, minimum: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(
            f"{name}: {value!r} is not allowed (allowed: a whole number >= {minimum})"
        )
    return value


@dataclass(frozen=True)
class Settings:
    """Everything `connect()` decided, once. The repr masks every password.

    `demo` is True when nothing was configured; `credentials` and `base_url` are then
    filled in by the client from the built-in stand-in. `sources` says where each value
    came from ("argument", an environment variable name, "keyring", "default").
    """

    base_url: str | None
    credentials: Credentials | None
    customer_ids: tuple[str, ...] = ()
    cache: Any = None  # Path, "redis://..." URL, or a requests_cache backend object
    expire_after: float = DEFAULT_EXPIRE_AFTER  # seconds, -1 = never
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_factor: float = DEFAULT_BACKOFF_FACTOR
    backoff_max: float = DEFAULT_BACKOFF_MAX
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    concurrency: int = DEFAULT_CONCURRENCY
    demo: bool = False
    sources: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))

    @property
    def max_total_wait(self) -> float:
        """Upper bound on the seconds one request spends waiting: between its retries, plus
        once before it is first sent while the client honours another call's 429."""
        return (self.max_retries + 1) * max(self.backoff_max, self.max_retry_after)

    @classmethod
    def resolve(
        cls,
        base_url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        passwords: Mapping[str, str] | None = None,
        cache: Any = None,
        expire_after: float | timedelta | None = None,
        *,
        customer_ids: Iterable[str] | str | None = None,
        timeout: float | tuple[float, float] | None = None,
        max_retries: int | None = None,
        backoff_factor: float | None = None,
        max_retry_after: float | None = None,
        concurrency: int | None = None,
        demo: bool | None = None,
        environ: Mapping[str, str] | None = None,
        keyring_get: KeyringGet | None = None,
    ) -> Settings:
        """Resolve arguments, then environment, then keyring, then defaults.

        Args:
            demo: True forces demo mode; False refuses it (nothing configured is then a
                ConfigurationError); None (default) chooses demo mode only when nothing at
                all is configured.
            environ: the environment to read (default `os.environ`).
            keyring_get: `(service, key) -> str | None` (default: the `keyring` package).
        """
        env = os.environ if environ is None else environ
        kr = _keyring_get if keyring_get is None else keyring_get
        sources: dict[str, str] = {}

        common = dict(
            cache=_resolve_cache(cache, env, sources),
            expire_after=(
                DEFAULT_EXPIRE_AFTER
                if expire_after is None
                else _seconds(expire_after, "expire_after", allow_never=True)
            ),
            timeout=_timeout(timeout),
            max_retries=_whole(max_retries, DEFAULT_MAX_RETRIES, "max_retries", 0),
            backoff_factor=(
                DEFAULT_BACKOFF_FACTOR
                if backoff_factor is None
                else _non_negative(backoff_factor, "backoff_factor")
            ),
            max_retry_after=(
                DEFAULT_MAX_RETRY_AFTER
                if max_retry_after is None
                else _non_negative(max_retry_after, "max_retry_after")
            ),
            concurrency=_whole(concurrency, DEFAULT_CONCURRENCY, "concurrency", 1),
        )
        if demo:
            return cls(base_url=None, credentials=None, demo=True, sources=sources, **common)

        url, url_source = _first(
            ("argument", base_url), ("VITEC_BASE_URL", env.get("VITEC_BASE_URL"))
        )
        user, user_source = _first(
            ("argument", username),
            ("VITEC_USERNAME", env.get("VITEC_USERNAME")),
        )
        offices = _resolve_customer_ids(customer_ids, env, sources)
        if user is None:
            user, user_source = _first(("keyring", kr(KEYRING_SERVICE, KEYRING_USERNAME)))
        if offices is None and user is not None:
            listed = kr(KEYRING_SERVICE, KEYRING_CUSTOMER_IDS)
            if listed:
                offices = _split_ids(listed, "keyring entry 'customer_ids'")
                sources["customer_ids"] = "keyring"
        offices = offices or ()

        general, general_source = _first(
            ("argument", password), ("VITEC_PASSWORD", env.get("VITEC_PASSWORD"))
        )
        per_office: dict[str, str] = {}
        for name, value in env.items():
            if name.startswith(_ENV_PASSWORD_PREFIX) and value:
                cid = _check_customer_id(name[len(_ENV_PASSWORD_PREFIX) :], name)
                per_office[cid] = value
                sources[f"passwords[{cid}]"] = name
        for cid, value in (passwords or {}).items():
            cid = _check_customer_id(cid, "passwords")
            if not value:
                raise ConfigurationError(f"passwords: the password for {cid} is empty")
            per_office[cid] = value
            sources[f"passwords[{cid}]"] = "argument"
        if user is not None:
            if general is None:
                general, general_source = _first(("keyring", kr(KEYRING_SERVICE, user)))
            for cid in offices:
                if cid not in per_office:
                    stored = kr(KEYRING_SERVICE, f"{user}@{cid}")
                    if stored:
                        per_office[cid] = stored
                        sources[f"passwords[{cid}]"] = "keyring"

        anything = user or general or per_office or url or offices
        if not anything:
            if demo is False:
                raise ConfigurationError(
                    "no credentials are configured: pass username= and password= (or "
                    "passwords=) to connect(), set VITEC_USERNAME and VITEC_PASSWORD, or store "
                    "them in the keyring (see docs/credentials.md)"
                )
            return cls(base_url=None, credentials=None, demo=True, sources=sources, **common)

        _check_complete(user, user_source, general, per_office, url_source, offices)
        assert user is not None  # _check_complete guarantees it
        sources["username"] = user_source or "argument"
        sources["base_url"] = url_source or "default"
        if general is not None:
            sources["password"] = general_source or "argument"
        credentials = Credentials(
            username=user,
            password=general,
            passwords=per_office,
            sources={k: v for k, v in sources.items() if k.startswith(("user", "pass"))},
        )
        all_offices = tuple(dict.fromkeys([*offices, *sorted(per_office)]))
        return cls(
            base_url=(url or DEFAULT_BASE_URL).rstrip("/"),
            credentials=credentials,
            customer_ids=all_offices,
            demo=False,
            sources=sources,
            **common,
        )

    def describe(self) -> str:
        """One line saying where the data comes from and who asks (no password)."""
        if self.demo:
            return f"DEMO DATA from the built-in stand-in at {self.base_url}"
        user = self.credentials.username if self.credentials else "?"
        offices = ", ".join(self.customer_ids) or "any office"
        return f"Vitec Connect at {self.base_url} as {user} ({offices})"


def _non_negative(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(f"{name}: {value!r} is not allowed (allowed: seconds >= 0)")
    return float(value)


def _first(*candidates: tuple[str, str | None]) -> tuple[str | None, str | None]:
    """The first non-empty value and where it came from."""
    for source, value in candidates:
        if value is not None and str(value).strip():
            return str(value).strip(), source
    return None, None


def _split_ids(text: str, where: str) -> tuple[str, ...]:
    ids = [part.strip() for part in text.split(",") if part.strip()]
    return tuple(dict.fromkeys(_check_customer_id(cid, where) for cid in ids))


def _resolve_customer_ids(
    customer_ids: Iterable[str] | str | None, env: Mapping[str, str], sources: dict[str, str]
) -> tuple[str, ...] | None:
    if customer_ids is not None:
        sources["customer_ids"] = "argument"
        if isinstance(customer_ids, str):
            return _split_ids(customer_ids, "customer_ids")
        return tuple(dict.fromkeys(_check_customer_id(c, "customer_ids") for c in customer_ids))
    listed = env.get("VITEC_CUSTOMER_IDS")
    if listed and listed.strip():
        sources["customer_ids"] = "VITEC_CUSTOMER_IDS"
        return _split_ids(listed, "VITEC_CUSTOMER_IDS")
    return None


def _resolve_cache(cache: Any, env: Mapping[str, str], sources: dict[str, str]) -> Any:
    """A Path, a redis:// URL (str) or a backend object; None means the default location."""
    if cache is None:
        text = env.get("VITEC_NB_CACHE", "").strip()
        if not text:
            sources["cache"] = "default"
            return None
        sources["cache"] = "VITEC_NB_CACHE"
        cache = text
    else:
        sources["cache"] = "argument"
    if isinstance(cache, str):
        if cache.startswith(("redis://", "rediss://", "unix://")):
            return cache
        if "://" in cache:
            raise ConfigurationError(
                f"cache: {cache!r} is not allowed (allowed: a file path, a directory, a "
                "redis://host:port/db URL, or a requests_cache backend object)"
            )
        return Path(cache).expanduser()
    if isinstance(cache, os.PathLike):
        return Path(cache).expanduser()
    return cache


def _check_complete(
    user: str | None,
    user_source: str | None,
    general: str | None,
    per_office: Mapping[str, str],
    url_source: str | None,
    offices: tuple[str, ...],
) -> None:
    """Raise ConfigurationError for a partial configuration, naming what is missing."""
    where_user = (
        "pass username= to connect(), set VITEC_USERNAME, or store it with "
        f"`python -m keyring set {KEYRING_SERVICE} {KEYRING_USERNAME}`"
    )
    if user is None:
        if general is not None or per_office:
            raise ConfigurationError(f"a password is configured but no user name: {where_user}")
        what = f"the base URL ({url_source})" if url_source else "customer ids"
        raise ConfigurationError(
            f"{what} is configured but no user name or password: {where_user}, and give a "
            "password; or configure nothing at all for demo mode"
        )
    if general is None and not per_office:
        raise ConfigurationError(
            f"a user name is configured (from {user_source}) but no password: pass password= "
            "(every office) or passwords={'M30011': ...} to connect(), set VITEC_PASSWORD or "
            "VITEC_PASSWORD_<CUSTOMERID>, or store one with "
            f"`python -m keyring set {KEYRING_SERVICE} {user}`"
        )
    if general is None:
        missing = [cid for cid in offices if cid not in per_office]
        if missing:
            raise ConfigurationError(
                f"no password for office(s) {', '.join(missing)}: set VITEC_PASSWORD_"
                f"{missing[0]}, pass passwords={{'{missing[0]}': ...}}, or store one with "
                f"`python -m keyring set {KEYRING_SERVICE} {user}@{missing[0]}`"
            )
