"""`BaseClient`: the client that only sends — contact queries and lookups as DataFrames, cached.

The base of `vitec_nb.client.VitecClient` (the façade, which adds the planner's and the
doctor's methods and `connect()`); it knows nothing of either. It is thin over private
modules, one concern each:

- `_session.py`: the session (cache, retrying and gated adapter, no redirects);
- `_send.py`: the one send path (reuse of parsed answers, the cached GET, the pure
  stale-answer decision `serve_stale`, parsing once, a malformed body deleted and asked
  again);
- `_status.py`: what went wrong, as the exception hierarchy (status table, transport);
- `_lookup_methods.py` over `lookups.py`, `details.py`: the lookups and contact details;
- `parsed_store.py`: answers kept parsed beside the cache entries they came from.

Retries happen below the cache, on the session's HTTP adapter (urllib3 `Retry`), so cache
hits never wait; the policy, the slots (`concurrency`) and the 429 gate live in retries.py.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

import pandas as pd
import requests

from vitec_nb import cache as cache_mod
from vitec_nb._lookup_methods import LookupMethods
from vitec_nb._send import Call, Sender, checked_format, log_request, parse_contacts_answer
from vitec_nb._session import client_session, positive
from vitec_nb._status import public_url
from vitec_nb.credentials import Credentials
from vitec_nb.errors import ConfigurationError, InvalidQueryError, Redactor
from vitec_nb.provenance import Provenance, set_provenance
from vitec_nb.query import ContactQuery
from vitec_nb.retries import DEFAULT_DEADLINE
from vitec_nb.settings import Settings
from vitec_nb.vocab import DEMO_SOURCE as DEMO_BANNER

if TYPE_CHECKING:
    from requests_cache import CachedSession

__all__ = ["BaseClient"]


class BaseClient(LookupMethods):
    """Contacts and lookups from Vitec Connect (or the stand-in) as DataFrames, cached.

    The sending half of `VitecClient` (create that with `vitec_nb.connect()`): query
    checks, the cache, the send path, labels and lookups. Thread-safe: one client may
    serve several threads at once.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        standin: Any = None,
        deadline: float | None = None,
        cache_lock_timeout: float | None = None,
    ) -> None:
        if settings.credentials is None or settings.base_url is None:
            name = type(self).__name__  # the message as before the split: "VitecClient ..."
            raise ConfigurationError(f"{name} needs resolved settings; use vitec_nb.connect()")
        self.settings = settings
        self.standin = standin
        self.deadline = positive(deadline, DEFAULT_DEADLINE, "deadline")
        lock_timeout = positive(
            cache_lock_timeout, cache_mod.DEFAULT_LOCK_TIMEOUT, "cache_lock_timeout"
        )
        # Every form of every password in use, removed from any server text we quote.
        self._redact = Redactor(
            self.credentials.username,
            [self.credentials.password or "", *self.credentials.passwords.values()],
        )
        self.session: CachedSession
        self.session, self.gate = client_session(
            settings, self.base_url, deadline=self.deadline, lock_timeout=lock_timeout
        )
        self._sender = Sender(
            self.session,
            base_url=self.base_url,
            credentials=self.credentials,
            timeout=settings.timeout,
            deadline=self.deadline,
            max_retries=settings.max_retries,
            redact=self._redact,
        )
        # lookup request -> (the parsed body it was built from, its frame): a warm planner
        # run asks for the same users lookup every time (building it costs ~5 ms)
        self._lookup_frames: dict[tuple[Any, ...], tuple[Any, pd.DataFrame]] = {}

    # -- description ---------------------------------------------------------------------

    @property
    def is_demo(self) -> bool:
        """True when the data comes from the built-in stand-in (nothing was configured)."""
        return self.settings.demo

    @property
    def base_url(self) -> str:
        """The API's base URL: scheme, host, port and path only (never user info or query)."""
        return public_url(str(self.settings.base_url))

    @property
    def concurrency(self) -> int:
        """The most requests this client has in flight at once (`connect(concurrency=)`);
        breakdowns use it unless a run asks for fewer."""
        return self.settings.concurrency

    def clear_cache(self, *, expired_only: bool = False) -> None:
        """Delete every cached answer (or only the expired ones) of this client's cache.

        Safe at any time, from any thread, also while a breakdown runs (its calls then
        fetch again or fail with a clear error). Replaces `client.session.cache.clear()`.
        """
        _flag("expired_only", expired_only)
        cache_mod.clear(self.session, expired_only=expired_only)  # parsed copies too
        if self._sender.parsed is not None and not expired_only:
            self._sender.parsed.clear()  # this client's recent parsed answers: memory back
        self._lookup_frames.clear()

    @property
    def customer_ids(self) -> tuple[str, ...]:
        """Offices configured (passwords, VITEC_CUSTOMER_IDS; demo: every stand-in office)."""
        return self.settings.customer_ids

    @property
    def credentials(self) -> Credentials:
        assert self.settings.credentials is not None
        return self.settings.credentials

    def describe(self) -> str:
        """One line: where the data comes from and as whom (never a password)."""
        if self.is_demo:
            return (
                f"{DEMO_BANNER} at {self.base_url} ({len(self.customer_ids)} offices: "
                f"{', '.join(self.customer_ids)}) — not real customers"
            )
        text = self.settings.describe().replace(str(self.settings.base_url), self.base_url)
        where = cache_mod.cache_location(self.session)
        return f"{self._redact(text)}; cache {where}"

    def __repr__(self) -> str:
        mode = DEMO_BANNER if self.is_demo else "live"
        return (
            f"<{type(self).__name__} {mode}: {self.base_url} user={self.credentials.username!r} "
            f"password=*** offices={list(self.customer_ids)}>"
        )

    def _repr_html_(self) -> str:
        import html

        text = html.escape(self.describe())
        if self.is_demo:
            return f"<b style='color:#b45309'>{text}</b>"
        return text

    def close(self) -> None:
        """Close the HTTP session and the cache connection."""
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- contacts ------------------------------------------------------------------------

    def contacts(
        self,
        query: ContactQuery | None = None,
        /,
        *,
        format: str = "json",
        refresh: bool = False,
        offline: bool = False,
        **filters: Any,
    ) -> pd.DataFrame:
        """Contacts matching a query, one row per contact reference (schema: docs/architecture.md).

        Pass a `ContactQuery`, or the filters as keywords (`customer_id=..., lead_score=5`).
        `customer_id` may be a list: one call per office, one frame. Answers come from the
        cache when fresh; `refresh=True` asks the server again, `offline=True` never does
        (NotCachedError on a miss). `df.attrs` says what, when, and from where.
        """
        q = _checked_query(query, filters)
        fmt = self._format(format)
        _flag("refresh", refresh)
        _flag("offline", offline)
        if refresh and offline:
            raise InvalidQueryError(
                "refresh", "cannot be combined with offline=True", "one of them"
            )
        for cid in q.customer_ids:
            self.credentials.auth_for(cid)  # no password for an office: error before any request
        return self._answer(q, fmt, refresh, offline)

    def _answer(self, q: ContactQuery, fmt: str, refresh: bool, offline: bool) -> pd.DataFrame:
        """The answer to a checked query as the server gives it, one frame (`VitecClient`
        overrides it to make the ends exact: whole-day ends, lead score 0 derived)."""
        parts = [
            self._fetch_contacts(q.for_office(cid), fmt, refresh, offline) for cid in q.customer_ids
        ]
        if len(parts) == 1:
            frame, info = parts[0]
        else:
            frame = _concat_offices([p[0] for p in parts], q.customer_ids)
            info = {
                "fetched_at": min(p[1]["fetched_at"] for p in parts),
                "from_cache": all(p[1]["from_cache"] for p in parts),
                "stale": any(p[1]["stale"] for p in parts),
            }
            info["offices"] = {cid: p[1] for cid, p in zip(q.customer_ids, parts, strict=True)}
        return self._labelled(frame, q, fmt, info)

    def _labelled(
        self, frame: pd.DataFrame, q: ContactQuery, fmt: str, info: Mapping[str, Any]
    ) -> pd.DataFrame:
        """`frame` with the `attrs` every contacts frame carries (what, when, from where):
        a `Provenance` (other layers read it back with `provenance_of`)."""
        provenance = Provenance(
            source=self.base_url,
            fetched_at=info["fetched_at"],
            from_cache=info["from_cache"],
            stale=info["stale"],
            demo=self.is_demo,
            query=q,
            format=fmt,
        )
        if "offices" in info:
            provenance = provenance.noted(offices=info["offices"])
        return set_provenance(frame, provenance)

    def is_cached(
        self, query: ContactQuery | None = None, /, *, format: str = "json", **filters: Any
    ) -> bool:
        """Whether every office's answer is in the cache and fresh; sends nothing."""
        q = _checked_query(query, filters)
        fmt = self._format(format)
        for cid in q.customer_ids:
            single = q.for_office(cid)
            key = self._cache_key(single.path, single.to_params(), cid, fmt)
            if not cache_mod.entry_is_fresh(self.session, key):
                return False
        return True

    def cached_answer(self, query: ContactQuery) -> pd.DataFrame | None:
        """`contacts(query)` if its answer is in the cache, fresh, with its parsed columns kept
        beside it (parsed_store.py); None otherwise. Sends nothing and parses nothing: for
        the planner, an answer it can have at once needs no thread.
        """
        if not isinstance(query, ContactQuery):
            return None
        if len(query.customer_ids) != 1:
            return None
        cid = query.customer_ids[0]
        params = query.to_params()
        started = time.perf_counter()
        hit = self._sender.reused(self._cache_key(query.path, params, cid, "json"))
        if hit is None:
            return None
        log_request(query.path, params, 200, True, started)
        return self._labelled(hit[0], query, "json", hit[1])

    def entry_key(self, query: ContactQuery) -> str:
        """The cache key of a one-office contact call (JSON), as the cache stores it."""
        cid = query.customer_ids[0]
        return self._cache_key(query.path, query.to_params(), cid, "json")

    @property
    def answer_store(self) -> Any:
        """The parsed answers kept beside this client's cache (parsed_store.py), or None."""
        return self._sender.parsed

    def _fetch_contacts(
        self, q: ContactQuery, fmt: str, refresh: bool, offline: bool
    ) -> tuple[pd.DataFrame, dict[str, Any]]:
        return self._get_parsed(
            q.path,
            q.to_params(),
            q.customer_ids[0],
            fmt,
            refresh=refresh,
            offline=offline,
            what=f"contacts {q.describe()}",
            parse=self._parse_response,
            keep=True,
        )

    def _get_parsed(
        self,
        path: str,
        params: Mapping[str, str],
        cid: str,
        fmt: str,
        *,
        refresh: bool,
        offline: bool,
        what: str,
        parse: Callable[[requests.Response], Any],
        keep: bool = False,
    ) -> tuple[Any, dict[str, Any]]:
        """(parsed body, where it came from) for one GET (lookups.py, details.py): the one
        send path, `_send.Sender.get_parsed`."""
        call = Call(path, params, cid, fmt, what)
        return self._sender.get_parsed(call, parse, refresh=refresh, offline=offline, keep=keep)

    def _probe(
        self, path: str, params: Mapping[str, str], cid: str, what: str
    ) -> requests.Response:
        """One GET to the server whatever the cache holds, whatever its status (doctor)."""
        return self._sender.probe(path, params, cid, what)

    # -- sending -----------------------------------------------------------------------------

    _format = staticmethod(checked_format)
    _parse_response = staticmethod(parse_contacts_answer)

    def _office(self, customer_id: str) -> str:
        cid = ContactQuery(customer_id).customer_id
        if not isinstance(cid, str):
            raise InvalidQueryError("customer_id", "a lookup takes one office", "one office id")
        self.credentials.auth_for(cid)
        return cid

    def _cache_key(self, path: str, params: Mapping[str, str], cid: str, fmt: str) -> str:
        """The cache key of a request (remembered: URL normalisation costs milliseconds)."""
        return self._sender.cache_key(path, params, cid, fmt)

    def _prepare(
        self, path: str, params: Mapping[str, str], cid: str, accept: str
    ) -> requests.PreparedRequest:
        return self._sender.prepare(path, params, cid, accept)


# --- helpers --------------------------------------------------------------------------------


def _checked_query(query: ContactQuery | None, filters: Mapping[str, Any]) -> ContactQuery:
    """The query of `contacts()` / `is_cached()`: a ContactQuery, with any filters applied."""
    known = [f.name for f in dataclasses.fields(ContactQuery)]
    for name in filters:
        if name not in known:  # a typo like leadscore=3: say what the filters are called
            raise InvalidQueryError(name, "is not a filter", ", ".join(known))
    if query is None:
        if "customer_id" not in filters:
            raise InvalidQueryError(
                "customer_id", "is required", "an office id like M30011, or a list of them"
            )
        return ContactQuery(**filters)
    if not isinstance(query, ContactQuery):
        raise InvalidQueryError(
            "query", f"must be a ContactQuery, not {type(query).__name__}", "a ContactQuery"
        )
    if filters:
        return query.replace(**filters)
    return query


def _flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise InvalidQueryError(name, f"{value!r} is not True or False", "True or False")


def _concat_offices(frames: list[pd.DataFrame], offices: Sequence[str]) -> pd.DataFrame:
    categories = list(dict.fromkeys([*offices, *(c for f in frames for c in _cats(f))]))
    dtype = pd.CategoricalDtype(categories)
    aligned = [f.assign(customer_id=f["customer_id"].astype(str).astype(dtype)) for f in frames]
    for f in aligned:
        set_provenance(f, None)
    return pd.concat(aligned, ignore_index=True)


def _cats(frame: pd.DataFrame) -> list[str]:
    col = frame["customer_id"]
    if isinstance(col.dtype, pd.CategoricalDtype):
        return [str(c) for c in col.cat.categories]
    return [str(c) for c in col.unique()]
