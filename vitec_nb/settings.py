"""One frozen `Settings`, resolved once from arguments, environment, keyring and defaults.

Everything the client needs is decided here, in one place and in one order — arguments,
then environment variables, then the keyring, then defaults — so no code deeper down reads
`os.environ`. With nothing configured at all the result is demo mode (the built-in
stand-in); a partial configuration is a `ConfigurationError` naming what is missing.

Environment variables: ``VITEC_BASE_URL``, ``VITEC_USERNAME``, ``VITEC_PASSWORD`` (every
office), ``VITEC_PASSWORD_<CUSTOMERID>`` (one office), ``VITEC_TOKEN`` /
``VITEC_TOKEN_<CUSTOMERID>`` (Vitec's base64 ``user:password`` instead of a password),
``VITEC_CUSTOMER_IDS`` (comma-separated offices), ``VITEC_NB_CACHE`` (cache path or
``redis://`` URL). Keyring layout (service ``vitec_nb``): see docs/credentials.md and
`KEYRING_*` below. Each option is checked strictly by `vitec_nb.options`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from vitec_nb import options, vocab
from vitec_nb.credentials import KEYRING_SERVICE, Credentials, decode_token
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

_ENV_PASSWORD_PREFIX = "VITEC_PASSWORD_"
_ENV_TOKEN_PREFIX = "VITEC_TOKEN_"
_ENV_PREFIXES = (_ENV_PASSWORD_PREFIX, _ENV_TOKEN_PREFIX)
KEYRING_TOKEN = "token"  # Vitec's base64 user:password for every office; "token@<ID>": one

KeyringGet = Callable[[str, str], "str | None"]


def _keyring_get(service: str, key: str) -> str | None:
    """keyring.get_password, treating a missing or failing keyring as "nothing stored"."""
    try:
        import keyring
        import keyring.errors

        return keyring.get_password(service, key)
    except Exception:  # no backend, locked backend, D-Bus trouble: nothing stored for us
        return None


def _timeout(value: Any) -> tuple[float, float]:
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ConfigurationError(
                f"timeout: {value!r} is not allowed (allowed: seconds, or (connect, read))"
            )
        return (options.seconds(value[0], "timeout"), options.seconds(value[1], "timeout"))
    seconds = options.seconds(value, "timeout")
    return (seconds, seconds)


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
        token: str | None = None,
        environ: Mapping[str, str] | None = None,
        keyring_get: KeyringGet | None = None,
    ) -> Settings:
        """Resolve arguments, then environment, then keyring, then defaults.

        Every option is checked strictly first (bools are bools, numbers finite, text free
        of control characters, the base URL http(s) without user info, query or fragment).

        Args:
            token: Vitec's base64 string of ``user:password`` (instead of ``password``).
            demo: True forces demo mode (refused together with credential arguments);
                False refuses it (nothing configured is then a ConfigurationError); None
                (default) chooses demo mode only when nothing at all is configured.
            environ: the environment to read (default `os.environ`).
            keyring_get: `(service, key) -> str | None` (default: the `keyring` package).
        """
        env = os.environ if environ is None else environ
        sources: dict[str, str] = {}
        demo = options.check_bool(demo, "demo")
        common = _common(
            cache, expire_after, timeout, max_retries, backoff_factor, max_retry_after,
            concurrency, env, sources,
        )  # fmt: skip
        given = {"base_url": base_url, "username": username, "password": password}
        given.update(passwords=passwords, token=token)
        if demo:
            _refuse_demo_with(sorted(k for k, v in given.items() if v is not None))
            return cls(base_url=None, credentials=None, demo=True, sources=sources, **common)
        found = _Resolver(env, _keyring_get if keyring_get is None else keyring_get, sources)
        found.arguments(base_url, username, password, passwords, token)
        found.environment()
        offices = options.customer_ids(customer_ids, env, sources)
        found.keyring(offices)
        if not found.anything():
            if demo is False:
                raise ConfigurationError(_NOTHING_CONFIGURED)
            return cls(base_url=None, credentials=None, demo=True, sources=sources, **common)
        credentials, all_offices = found.credentials()
        return cls(
            base_url=found.url or DEFAULT_BASE_URL,
            credentials=credentials,
            customer_ids=all_offices,
            demo=False,
            sources=sources,
            **common,
        )

    def describe(self) -> str:
        """One line saying where the data comes from and who asks (no password)."""
        if self.demo:
            return f"{vocab.DEMO_SOURCE} at {self.base_url}"
        user = self.credentials.username if self.credentials else "?"
        offices = ", ".join(self.customer_ids) or "any office"
        return f"Vitec Connect at {self.base_url} as {user} ({offices})"


_NOTHING_CONFIGURED = (
    "no credentials are configured: pass username= and password= (or passwords=, or token=)"
    " to connect(), set VITEC_USERNAME and VITEC_PASSWORD (or VITEC_TOKEN), or store them in"
    " the keyring (see docs/credentials.md)"
)


def _refuse_demo_with(given: list[str]) -> None:
    if given:
        raise ConfigurationError(
            f"demo=True shows the built-in stand-in's {vocab.DEMO_BANNER}, but {', '.join(given)} "
            "were passed too, which would be ignored: drop demo=True to use them, or pass "
            "demo=True alone"
        )


def _common(
    cache: Any,
    expire_after: Any,
    timeout: Any,
    max_retries: Any,
    backoff_factor: Any,
    max_retry_after: Any,
    concurrency: Any,
    env: Mapping[str, str],
    sources: dict[str, str],
) -> dict[str, Any]:
    """The options that do not depend on credentials, each checked strictly."""
    return dict(
        cache=options.cache(cache, env, sources),
        expire_after=(
            DEFAULT_EXPIRE_AFTER
            if expire_after is None
            else options.seconds(expire_after, "expire_after", allow_never=True)
        ),
        timeout=_timeout(timeout),
        max_retries=options.whole(max_retries, DEFAULT_MAX_RETRIES, "max_retries", 0, 100),
        backoff_factor=(
            DEFAULT_BACKOFF_FACTOR
            if backoff_factor is None
            else options.non_negative(backoff_factor, "backoff_factor", maximum=3600)
        ),
        max_retry_after=(
            DEFAULT_MAX_RETRY_AFTER
            if max_retry_after is None
            else options.non_negative(max_retry_after, "max_retry_after", maximum=86_400)
        ),
        concurrency=options.whole(
            concurrency, DEFAULT_CONCURRENCY, "concurrency", 1, options.MAX_CONCURRENCY
        ),
    )


def _secret(value: Any, name: str) -> str | None:
    """A password as given: text (never repeated in the error), blank meaning none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{name}: a password must be text, not {type(value).__name__} (the value is not"
            " repeated here)"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ConfigurationError(f"{name}: the password holds a control character")
    return value if value.strip() else None


class _Resolver:
    """Collects url, user, passwords and tokens from arguments, environment and keyring."""

    def __init__(self, env: Mapping[str, str], kr: KeyringGet, sources: dict[str, str]) -> None:
        self.env, self.kr, self.sources = env, kr, sources
        self.url: str | None = None
        self.user: str | None = None
        self.user_source: str | None = None
        self.general: str | None = None
        self.general_source: str | None = None
        self.per_office: dict[str, str] = {}
        self.codecs: dict[str, str] = {}
        self.token_users: list[tuple[str, str]] = []  # (user, where) of every token
        self.offices: tuple[str, ...] = ()

    def arguments(
        self, base_url: Any, username: Any, password: Any, passwords: Any, token: Any
    ) -> None:
        if base_url is not None:
            self.url, self.sources["base_url"] = options.base_url(base_url, "base_url"), "argument"
        if username is not None:
            self._set_user(username, "username", "argument")
        self._general(_secret(password, "password"), token, "argument", "password", "token")
        if passwords is None:
            return
        if not isinstance(passwords, Mapping):
            raise ConfigurationError(
                "passwords: must be a mapping of office -> password, e.g. "
                f"{{'M30011': '...'}}, not {type(passwords).__name__}"
            )
        for cid, value in passwords.items():
            cid = options.customer_id(cid, "passwords")
            secret = _secret(value, f"passwords[{cid}]")
            if secret is None:
                raise ConfigurationError(f"passwords: the password for {cid} is empty")
            self.per_office[cid] = secret
            self.sources[f"passwords[{cid}]"] = "argument"

    def environment(self) -> None:
        env = self.env
        if self.url is None and (env.get("VITEC_BASE_URL") or "").strip():
            self.url = options.base_url(env["VITEC_BASE_URL"], "VITEC_BASE_URL")
            self.sources["base_url"] = "VITEC_BASE_URL"
        if self.user is None and (env.get("VITEC_USERNAME") or "").strip():
            self._set_user(env["VITEC_USERNAME"], "VITEC_USERNAME", "VITEC_USERNAME")
        if self.general is None:
            password = _secret(env.get("VITEC_PASSWORD"), "VITEC_PASSWORD")
            token = (env.get("VITEC_TOKEN") or "").strip() or None
            self._general(password, token, "", "VITEC_PASSWORD", "VITEC_TOKEN")
        for name, value in sorted(env.items()):
            prefix = next((p for p in _ENV_PREFIXES if name.startswith(p)), None)
            if prefix is None or not value or not value.strip():
                continue
            cid = options.customer_id(name[len(prefix) :], name)
            source = self.sources.get(f"passwords[{cid}]", "")
            if source.startswith("VITEC_"):
                raise ConfigurationError(f"both {source} and {name} are set: give one of them")
            if source != "argument":  # passwords= wins over the environment
                self._office(cid, value, name, token=prefix == _ENV_TOKEN_PREFIX)

    def keyring(self, offices: tuple[str, ...] | None) -> None:  # noqa: C901 (known debt)
        kr = self.kr
        if self.user is None and not self.token_users:
            stored = kr(KEYRING_SERVICE, KEYRING_USERNAME)
            if stored:
                self._set_user(stored, "keyring entry 'username'", "keyring")
        if self.general is None:
            token = kr(KEYRING_SERVICE, KEYRING_TOKEN)
            if token:
                self._general(None, token, "", "", "keyring entry 'token'")
        user = self.user or (self.token_users[0][0] if self.token_users else None)
        if offices is None and user is not None:
            listed = kr(KEYRING_SERVICE, KEYRING_CUSTOMER_IDS)
            if listed:
                offices = options.split_ids(listed, "keyring entry 'customer_ids'")
                self.sources["customer_ids"] = "keyring"
        self.offices = offices or ()
        if user is None:
            return
        if self.general is None:
            stored = _secret(kr(KEYRING_SERVICE, user), f"keyring entry '{user}'")
            if stored is not None:
                self.general, self.general_source = stored, "keyring"
        for cid in self.offices:
            if cid not in self.per_office:
                stored = kr(KEYRING_SERVICE, f"{user}@{cid}")
                if stored:
                    self._office(cid, stored, "keyring")
                elif stored_token := kr(KEYRING_SERVICE, f"{KEYRING_TOKEN}@{cid}"):
                    self._office(cid, stored_token, f"keyring entry 'token@{cid}'", token=True)

    def _set_user(self, value: Any, name: str, source: str) -> None:
        user = options.text(value, name, "a user name", colon=False)
        if user:
            self.user, self.user_source = user, source

    def _general(
        self, password: str | None, token: Any, source: str, p_name: str, t_name: str
    ) -> None:
        """The password for every office, from a password or a token (not both)."""
        if token is not None and password is not None:
            raise ConfigurationError(
                f"both {p_name} and {t_name} are set: a token is user:password already; "
                "give one of them"
            )
        if password is not None:
            self.general, self.general_source = password, source or p_name
        elif token is not None:
            where = t_name if source != "argument" else "token"
            user, self.general, self.codecs["*"] = decode_token(token, where)
            self.general_source = where
            self.token_users.append((user, where))

    def _office(self, cid: str, value: str, where: str, *, token: bool = False) -> None:
        if token:
            user, secret, self.codecs[cid] = decode_token(value, where)
            self.token_users.append((user, where))
        else:
            checked = _secret(value, where)
            if checked is None:
                return
            secret = checked
            self.codecs.pop(cid, None)
        self.per_office[cid] = secret
        self.sources[f"passwords[{cid}]"] = where

    def anything(self) -> bool:
        return bool(self.user or self.general or self.per_office or self.url or self.offices)

    def credentials(self) -> tuple[Credentials, tuple[str, ...]]:
        """The checked Credentials and every office; ConfigurationError when partial."""
        if self.user is None and self.token_users:
            self.user, self.user_source = self.token_users[0][0], self.token_users[0][1]
        for user, where in self.token_users:
            if user != self.user:
                raise ConfigurationError(
                    f"{where}: the token is for user {user!r}, but the user name is "
                    f"{self.user!r} (from {self.user_source}): Vitec issues one user name, "
                    "so every token and password must belong to it"
                )
        _check_complete(
            self.user, self.user_source, self.general, self.per_office,
            self.sources.get("base_url"), self.offices,
        )  # fmt: skip
        assert self.user is not None  # _check_complete guarantees it
        self.sources["username"] = self.user_source or "argument"
        self.sources.setdefault("base_url", "default")
        if self.general is not None:
            self.sources["password"] = self.general_source or "argument"
        credentials = Credentials(
            username=self.user,
            password=self.general,
            passwords=self.per_office,
            sources={k: v for k, v in self.sources.items() if k.startswith(("user", "pass"))},
            codecs=self.codecs,
        )
        return credentials, tuple(dict.fromkeys([*self.offices, *sorted(self.per_office)]))


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
