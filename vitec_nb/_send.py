"""The client's one send path: a cached GET, the stale-answer fallback, parsing, reuse.

`Sender.get_parsed` is every request of the toolkit (contacts, lookups, details): the
parsed answer of an unchanged, fresh cache entry is reused (parsed_store.py); otherwise
the session sends (cache, retries, deadline), `serve_stale` decides purely whether an
expired answer stands in for a failure, and the body is parsed here, once. A body that
does not parse is deleted from the cache and asked for again, up to the retry budget.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import requests
from requests_cache import CachedSession

from vitec_nb import _status
from vitec_nb import cache as cache_mod
from vitec_nb.cache_serializer import RELEASE_ARROW_MEMORY_FROM, release_arrow_memory
from vitec_nb.credentials import Credentials
from vitec_nb.errors import (
    InvalidQueryError,
    MalformedResponseError,
    NotCachedError,
    Redactor,
    TransportError,
    VitecError,
)
from vitec_nb.parsed_store import parsed_store
from vitec_nb.query import TIMEZONE

__all__ = [
    "FORMATS",
    "Call",
    "Sender",
    "checked_format",
    "log_request",
    "parse_contacts_answer",
    "serve_stale",
]

logger = logging.getLogger("vitec_nb")

FORMATS = {"json": "application/json", "xml": "application/xml"}
# Seconds during which a `reused` miss stands for the call's own first look (always safe:
# skipping the look only means the cache or the server answers, never a wrong answer).
JUST_MISSED = 30.0


def checked_format(fmt: str) -> str:
    """'json' or 'xml' (any case); InvalidQueryError naming the option otherwise."""
    if not isinstance(fmt, str) or fmt.lower() not in FORMATS:
        raise InvalidQueryError("format", f"{fmt!r} is not a format", "'json' or 'xml'")
    return fmt.lower()


def parse_contacts_answer(response: requests.Response) -> pd.DataFrame:
    """A contacts answer as the contacts frame; MalformedResponseError naming the office."""
    from vitec_nb.parse import parse_contacts

    path = urlsplit(response.url).path
    cid = path.rstrip("/").rsplit("/", 1)[-1]
    accept = response.request.headers.get("Accept", "") if response.request else ""
    fmt = "xml" if "xml" in accept else "json"
    try:
        return parse_contacts(response.content, format=fmt, customer_id=cid)
    except MalformedResponseError as exc:
        reason = str(exc)
    except Exception as exc:  # a parser bug or an unforeseen body: still a bad answer
        reason = f"{type(exc).__name__}: {str(exc)[:200]}"
    raise MalformedResponseError(
        f"The {fmt.upper()} answer for office {cid} is not a valid contact list, so it was "
        f"not cached. {reason}"
    )


@dataclass(frozen=True)
class Call:
    """One GET: path below the base URL, parameters, office, format, and its name in words."""

    path: str
    params: Mapping[str, str]
    cid: str
    fmt: str
    what: str


def serve_stale(status: int | str, failure: VitecError | None) -> bool:
    """Whether an expired cached answer may stand in for this outcome (a pure decision).

    Yes when the server failed (5xx or 429 after the retries), nothing came back (no
    connection, a timeout) or offline mode missed; never for a 4xx (a rejected credential
    gets no stale data) and never for a malformed body.
    """
    if isinstance(failure, MalformedResponseError):
        return False
    server_failed = isinstance(status, int) and (status == 429 or status >= 500)
    return server_failed or failure is not None


def log_request(
    path: str, params: Mapping[str, str], status: Any, cached: bool, started: float
) -> None:
    """One line per request: method, path with parameters, status, cached, milliseconds."""
    if not logger.isEnabledFor(logging.INFO):  # formatting costs more than the check
        return
    query = "&".join(f"{k}={v}" for k, v in params.items())
    target = f"/{path}?{query}" if query else f"/{path}"
    elapsed = (time.perf_counter() - started) * 1000
    logger.info("GET %s %s cached=%s %.0f ms", target, status, cached, elapsed)


def response_info(response: requests.Response, stale: bool = False) -> dict[str, Any]:
    """When the answer was fetched (Stockholm time), whether from the cache, whether stale."""
    from_cache = bool(getattr(response, "from_cache", False))
    created = getattr(response, "created_at", None)
    fetched = pd.Timestamp(created) if created is not None else pd.Timestamp.now(tz="UTC")
    if fetched.tzinfo is None:
        fetched = fetched.tz_localize("UTC")
    return {
        "fetched_at": fetched.tz_convert(TIMEZONE),
        "from_cache": from_cache,
        "stale": bool(stale or (from_cache and getattr(response, "is_expired", False))),
    }


class Sender:
    """Sends a client's requests through its session (see the module docstring)."""

    def __init__(
        self,
        session: CachedSession,
        *,
        base_url: str,
        credentials: Credentials,
        timeout: tuple[float, float],
        deadline: float,
        max_retries: int,
        redact: Redactor,
    ) -> None:
        self.session = session
        self.base_url = base_url
        self.credentials = credentials
        self.timeout = timeout
        self.deadline = deadline
        self.max_retries = max_retries
        self.redact = redact
        self._keys: dict[tuple[Any, ...], str] = {}  # request -> cache key (same credential)
        self._missed: dict[str, float] = {}  # key -> when `reused` last found nothing
        # Answers kept parsed beside the cache entries they came from (SQLite, Redis).
        self.parsed = parsed_store(session.cache)

    # -- keys --------------------------------------------------------------------------

    def cache_key(self, path: str, params: Mapping[str, str], cid: str, fmt: str) -> str:
        """The cache key of a request, remembered (URL normalisation costs milliseconds)."""
        slot = (path, tuple(params.items()), cid, fmt)
        key = self._keys.get(slot)
        if key is None:
            key = self.session.cache.create_key(self.prepare(path, params, cid, FORMATS[fmt]))
            if len(self._keys) > 50_000:
                self._keys.clear()
            self._keys[slot] = key
        return key

    def prepare(
        self, path: str, params: Mapping[str, str], cid: str, accept: str
    ) -> requests.PreparedRequest:
        request = requests.Request(
            "GET",
            f"{self.base_url}/{path}",
            params=dict(params),
            headers={"Accept": accept},
            auth=self.credentials.basic_auth_for(cid),
        )
        return self.session.prepare_request(request)

    # -- parsed answers ----------------------------------------------------------------

    def reused(self, key: str, *, keep: bool = True) -> tuple[Any, dict[str, Any]] | None:
        """The answer parsed from the unchanged, fresh entry `key`: remembered in this
        process, or (`keep`: contact frames) kept beside the cache; None if neither.

        A miss is noted: the planner asks this before it hands the call to a thread, and
        that thread's `get_parsed` then goes straight to the cache and the server (asking
        again would only repeat the same reads, under the GIL, before the request).
        """
        hit = self._reuse(key, keep)
        if hit is None:
            if len(self._missed) > 50_000:
                self._missed.clear()
            self._missed[key] = time.monotonic()
        return hit

    def _reuse(self, key: str, keep: bool) -> tuple[Any, dict[str, Any]] | None:
        if self.parsed is None:
            return None
        hit = self.parsed.recall(key)
        if hit is None and keep:
            stored = self.parsed.get(key)
            if stored is not None:
                info = {"fetched_at": stored[1].tz_convert(TIMEZONE), "from_cache": True}
                hit = (stored[0], dict(info, stale=False))
                self.parsed.remember(key, hit[0], hit[1], len(hit[0]))
        if hit is None:
            return None
        value = hit[0].copy(deep=False) if isinstance(hit[0], pd.DataFrame) else hit[0]
        return value, dict(hit[1], from_cache=True, stale=False)

    def get_parsed(
        self,
        call: Call,
        parse: Callable[[requests.Response], Any],
        *,
        refresh: bool,
        offline: bool,
        keep: bool = False,
    ) -> tuple[Any, dict[str, Any]]:
        """(parsed body, where it came from) for one GET: the one send path.

        `keep`: a contact frame, kept parsed beside the cache entry (and served from there
        while that entry is unchanged and fresh: no read of the body, no parse).
        """
        key = self.cache_key(call.path, call.params, call.cid, call.fmt)
        missed = self._missed.pop(key, None)
        just_missed = missed is not None and time.monotonic() - missed < JUST_MISSED
        if not refresh and not just_missed:
            started = time.perf_counter()
            hit = self._reuse(key, keep)
            if hit is not None:
                log_request(call.path, call.params, 200, True, started)
                return hit
        parsed, response, stale = self._fetch_parsed(call, parse, key, refresh, offline)
        info = response_info(response, stale)
        if self.parsed is not None and not info["stale"]:
            self.parsed.remember(key, parsed, info, len(parsed))
            if keep:
                expires = getattr(response, "expires", None)
                self.parsed.put(key, parsed, info["fetched_at"], expires)
            if isinstance(parsed, pd.DataFrame):  # the remembered frame stays intact
                parsed = parsed.copy(deep=False)
        return parsed, info

    def _fetch_parsed(
        self,
        call: Call,
        parse: Callable[[requests.Response], Any],
        key: str,
        refresh: bool,
        offline: bool,
    ) -> tuple[Any, requests.Response, bool]:
        """Send and parse; a body that does not parse is deleted and asked for again."""
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            response, stale = self.get(call, refresh=refresh, offline=offline)
            try:
                return parse(response), response, stale
            except MalformedResponseError as exc:
                if not stale:  # never answered from the cache again
                    with contextlib.suppress(*cache_mod.CACHE_ERRORS):
                        self.session.cache.delete(key)
                if attempt == attempts or offline:
                    raise _status.malformed(exc, response, self.redact) from None
                logger.warning(
                    "malformed answer for %s; asking again (%d of %d)",
                    call.what,
                    attempt,
                    attempts - 1,
                )
                refresh = True
            finally:
                if len(response.content) >= RELEASE_ARROW_MEMORY_FROM:
                    release_arrow_memory()
        raise AssertionError("unreachable: the last attempt returns or raises")

    # -- sending -----------------------------------------------------------------------

    def get(self, call: Call, *, refresh: bool, offline: bool) -> tuple[requests.Response, bool]:
        """One cached GET and whether it is a stale answer; failures become VitecErrors."""
        started = time.perf_counter()
        response, failure = self._send(call, refresh, offline)
        status: Any = "error" if response is None else response.status_code
        cached = bool(getattr(response, "from_cache", False))
        damaged = self._damaged(call)
        if offline and status == 504:  # only-if-cached miss: a synthetic 504, nothing sent
            status, cached = "not-cached", False
            why = "its cached copy was damaged and was dropped" if damaged else "not in the cache"
            failure = NotCachedError(f"{why} (offline mode): {call.what}")
        if serve_stale(status, failure):
            stale = self._stale_entry(call)
            if stale is not None:
                log_request(call.path, call.params, f"{status}->stale", True, started)
                return stale, True
        log_request(call.path, call.params, status, cached, started)
        if failure is not None:
            raise failure
        assert response is not None
        if status != 200:
            raise _status.error_for_response(response, call.cid, self.redact)
        return response, False

    def _send(
        self, call: Call, refresh: bool, offline: bool
    ) -> tuple[requests.Response | None, VitecError | None]:
        """The session's answer (cache, retries, deadline), or the VitecError instead."""
        try:
            response = self.session.get(
                f"{self.base_url}/{call.path}",
                params=dict(call.params),
                headers={"Accept": FORMATS[call.fmt]},
                auth=self.credentials.basic_auth_for(call.cid),
                timeout=self.timeout,
                allow_redirects=False,  # a 3xx is an error (RedirectError), never followed
                only_if_cached=offline,
                force_refresh=refresh,
            )
        except requests.RequestException as exc:
            return None, self.transport_error(exc, call.what)
        except UnicodeError:  # requests reading a header (e.g. a Location) that is not UTF-8
            return None, TransportError(f"The answer for {call.what} has unreadable headers.")
        except cache_mod.CACHE_ERRORS as exc:  # the cache's store failed, not the server
            raise self._cache_failed(exc, call.what) from None
        return response, None

    def probe(self, path: str, params: Mapping[str, str], cid: str, what: str) -> requests.Response:
        """One GET sent to the server whatever the cache holds (force_refresh: never a cached
        or stale answer), returned whatever its status; retries, auth and the 429 gate as for
        every request. A transport failure raises the client's (secret-free) error."""
        started = time.perf_counter()
        try:
            response = self.session.get(
                f"{self.base_url}/{path}",
                params=dict(params),
                headers={"Accept": FORMATS["json"]},
                auth=self.credentials.basic_auth_for(cid),
                timeout=self.timeout,
                force_refresh=True,
            )
        except requests.RequestException as exc:
            log_request(path, params, "error", False, started)
            raise self.transport_error(exc, what) from None
        except cache_mod.CACHE_ERRORS as exc:  # storing the fresh answer failed
            raise self._cache_failed(exc, what) from None
        log_request(path, params, response.status_code, False, started)
        return response

    def transport_error(self, exc: requests.RequestException, what: str) -> VitecError:
        return _status.transport_error(
            exc,
            what,
            base_url=self.base_url,
            deadline=self.deadline,
            read_timeout=self.timeout[1],
            redact=self.redact,
        )

    def _cache_failed(self, exc: BaseException, what: str) -> TransportError:
        return TransportError(
            f"The answer cache at {cache_mod.cache_location(self.session)} failed "
            f"({what}): {type(exc).__name__}: {exc}. Check that it is running and "
            "reachable, or connect with another cache (cache=...)."
        )

    def _damaged(self, call: Call) -> bool:
        """Whether this request's cache entry was just found damaged (then dropped): warns."""
        if not cache_mod.has_damaged(self.session):  # the usual case: no key to compute
            return False
        key = self.cache_key(call.path, call.params, call.cid, call.fmt)
        if not cache_mod.take_damaged(self.session, key):
            return False
        warnings.warn(
            f"The cached answer for {call.what} in {cache_mod.cache_location(self.session)} "
            "was damaged; it was dropped and asked for again.",
            RuntimeWarning,
            stacklevel=6,
        )
        return True

    def _stale_entry(self, call: Call) -> requests.Response | None:
        """The cached answer for this request even if expired (None if there is none)."""
        key = self.cache_key(call.path, call.params, call.cid, call.fmt)
        entry = self.session.cache.get_response(key)
        if entry is None or entry.status_code != 200:
            return None
        return entry
