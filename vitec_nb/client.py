"""`connect()` and `VitecClient`: contact queries and lookups as DataFrames, through the cache.

The client turns a `ContactQuery` into one cached GET per office, maps every failure to
the exception hierarchy in errors.py, and labels each frame with where it came from
(`df.attrs`). Sending is layered, one concern per step:

    contacts() -> _fetch_contacts() per office -> _get() (cache, retries, timeout, one log
    line) -> _raise_for_status() / parse

Retries happen below the cache, on the session's HTTP adapter (urllib3 `Retry`), so cache
hits never wait; the policy, the 429 gate and `HTTP_SLOTS` live in retries.py (also
importable from here, as `X as X` re-exports). With nothing configured, `connect()` starts
the built-in stand-in once per process and every result says it is demo data.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import pandas as pd
import requests
from urllib3.exceptions import ReadTimeoutError

from vitec_nb import cache as cache_mod
from vitec_nb.cache_serializer import RELEASE_ARROW_MEMORY_FROM, release_arrow_memory
from vitec_nb.credentials import Credentials
from vitec_nb.errors import (
    ApiError,
    ConfigurationError,
    InvalidQueryError,
    MalformedResponseError,
    NotCachedError,
    RateLimitedError,
    Redactor,
    RedirectError,
    RequestTimeoutError,
    ServerValidationError,
    TransportError,
    VitecError,
    error_for_status,
)
from vitec_nb.parsed_store import parsed_store
from vitec_nb.query import TIMEZONE, ContactQuery
from vitec_nb.retries import (
    DEFAULT_DEADLINE,
    DeadlineExceeded,
    GatedAdapter,
    RateLimitGate,
    make_retry,
    retry_after_seconds,
)
from vitec_nb.retries import HTTP_SLOTS as HTTP_SLOTS
from vitec_nb.retries import RETRY_STATUSES as RETRY_STATUSES
from vitec_nb.retries import CappedRetry as CappedRetry
from vitec_nb.settings import Settings
from vitec_nb.vocab import DEMO_SOURCE as DEMO_BANNER

if TYPE_CHECKING:
    from requests_cache import CachedSession

    from vitec_nb.doctor import DoctorReport
    from vitec_nb.lookups import OfficeLookups
    from vitec_nb.plan import BreakdownPlan, BreakdownResult
    from vitec_nb.profile import ServerProfile

__all__ = ["DEMO_BANNER", "VitecClient", "connect"]

logger = logging.getLogger("vitec_nb")

DEMO_SEED = 0
DEMO_CONTACTS = 20_000
FORMATS = {"json": "application/json", "xml": "application/xml"}

# --- the demo stand-in ----------------------------------------------------------------------

_demo_lock = threading.Lock()
_demo_standin: Any = None


def demo_standin() -> Any:
    """The process-wide stand-in behind demo mode, started on first use (daemon threads)."""
    global _demo_standin
    with _demo_lock:
        if _demo_standin is None:
            from vitec_nb.standin import StandIn

            _demo_standin = StandIn(seed=DEMO_SEED, contacts=DEMO_CONTACTS).start()
        return _demo_standin


# --- parsing ------------------------------------------------------------------------------


def _parse_contacts(body: bytes, fmt: str, customer_id: str) -> pd.DataFrame:
    from vitec_nb.parse import parse_contacts

    return parse_contacts(body, format=fmt, customer_id=customer_id)


def _server_message(
    response: requests.Response, redact: Callable[[str], str | None] = lambda t: t
) -> tuple[str | None, list[str]]:
    """The server's message and, for validation errors, the per-field messages.

    `redact` runs on every text before it is cut to length, so no secret survives in part.
    """

    def clean(text: Any) -> str:
        return str(redact(str(text)) or "")[:300]

    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:  # plain text: the message, then "field: problem" lines
        text = str(redact(response.text) or "")
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if not lines:
            return None, []
        return clean(lines[0]), [clean(line) for line in lines[1:] if ":" in line]
    if not isinstance(body, dict):
        return (clean(body) if body else None), []
    lowered = {str(k).lower(): v for k, v in body.items()}
    message = lowered.get("message") or lowered.get("title") or lowered.get("error")
    messages: list[str] = []
    for key in ("errors", "modelstate", "validationerrors", "details"):
        value = lowered.get(key)
        if isinstance(value, Mapping):
            for field, problems in value.items():
                problems = problems if isinstance(problems, list) else [problems]
                messages += [f"{field}: {p}" for p in problems]
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    low = {str(k).lower(): v for k, v in item.items()}
                    field = low.get("field") or low.get("parameter") or low.get("name")
                    text = low.get("message") or low.get("error") or str(dict(item))
                    messages.append(f"{field}: {text}" if field else str(text))
                else:
                    messages.append(str(item))
    return (clean(message) if message is not None else None), [clean(m) for m in messages]


# --- the client -----------------------------------------------------------------------------


class VitecClient:
    """Contacts and lookups from Vitec Connect (or the stand-in) as DataFrames, cached.

    Create it with `connect()`. Thread-safe: one client may serve several threads at once.
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
            raise ConfigurationError("VitecClient needs resolved settings; use vitec_nb.connect()")
        self.settings = settings
        self.standin = standin
        self.deadline = _positive(deadline, DEFAULT_DEADLINE, "deadline")
        lock_timeout = _positive(
            cache_lock_timeout, cache_mod.DEFAULT_LOCK_TIMEOUT, "cache_lock_timeout"
        )
        # Every form of every password in use, removed from any server text we quote.
        self._redact = Redactor(
            self.credentials.username,
            [self.credentials.password or "", *self.credentials.passwords.values()],
        )
        self.session: CachedSession = cache_mod.make_session(
            settings.cache,
            expire_after=settings.expire_after,
            lock_timeout=lock_timeout,
        )
        self.gate = RateLimitGate()
        adapter = GatedAdapter(
            gate=self.gate,
            deadline=self.deadline,
            max_retries=make_retry(settings, self.gate),
            pool_connections=4,
            pool_maxsize=max(settings.concurrency, 10),
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = "vitec_nb"
        # No request of this session ever follows a redirect, whoever sends it: a 3xx is
        # the API's error to report (RedirectError), and another host's body is no answer.
        self.session.max_redirects = 0
        # Proxies and CA bundle from the environment, resolved once for the base URL (every
        # request goes there): left to requests, each request scans the whole environment
        # again, ~0.15 ms under the GIL (docs/benchmarks.md, benchmark 5). Auth is always
        # explicit, so trust_env's other use (netrc) never applied.
        env = self.session.merge_environment_settings(self.base_url, {}, None, None, None)
        self.session.proxies = env["proxies"]
        self.session.verify = env["verify"]
        self.session.cert = env["cert"]
        self.session.trust_env = False
        self._keys: dict[tuple[Any, ...], str] = {}  # request -> cache key (same credential)
        # Contact frames kept parsed beside the cache entries they came from (SQLite, Redis).
        self._parsed = parsed_store(self.session.cache)
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
        return _public_url(str(self.settings.base_url))

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
            f"<VitecClient {mode}: {self.base_url} user={self.credentials.username!r} "
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

    def __enter__(self) -> VitecClient:
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
        q = self._query(query, filters)
        fmt = self._format(format)
        _flag("refresh", refresh)
        _flag("offline", offline)
        if refresh and offline:
            raise InvalidQueryError(
                "refresh", "cannot be combined with offline=True", "one of them"
            )
        for cid in q.customer_ids:
            self.credentials.auth_for(cid)  # no password for an office: error before any request
        from vitec_nb.plan import exact  # planner: whole-day ends, lead score 0 derived

        profile = exact.ServerProfile() if getattr(self, "profile", None) is None else self.profile
        if exact.needs_exact(q, profile):
            kw = {"format": format, "refresh": refresh, "offline": offline}
            return exact.exact_contacts(self, q, profile, **kw)
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
        """`frame` with the `attrs` every contacts frame carries (what, when, from where)."""
        frame.attrs = {
            "query": q,
            "fetched_at": info["fetched_at"],
            "from_cache": info["from_cache"],
            "stale": info["stale"],
            "demo": self.is_demo,
            "source": self.base_url,
            "format": fmt,
        }
        if "offices" in info:
            frame.attrs["offices"] = info["offices"]
        return frame

    def is_cached(
        self, query: ContactQuery | None = None, /, *, format: str = "json", **filters: Any
    ) -> bool:
        """Whether every office's answer is in the cache and fresh; sends nothing."""
        q = self._query(query, filters)
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
        if self._parsed is None or not isinstance(query, ContactQuery):
            return None
        if len(query.customer_ids) != 1:
            return None
        cid = query.customer_ids[0]
        params = query.to_params()
        started = time.perf_counter()
        hit = self._parsed_hit(self._cache_key(query.path, params, cid, "json"))
        if hit is None:
            return None
        _log_request(query.path, params, 200, True, started)
        return self._labelled(hit[0], query, "json", hit[1])

    def _parsed_hit(self, key: str, *, keep: bool = True) -> tuple[Any, dict[str, Any]] | None:
        """The answer parsed from the unchanged, fresh entry `key`: remembered in this
        process, or (`keep`: contact frames) kept beside the cache; None if neither."""
        assert self._parsed is not None
        hit = self._parsed.recall(key)
        if hit is None and keep:
            stored = self._parsed.get(key)
            if stored is not None:
                info = {"fetched_at": stored[1].tz_convert(TIMEZONE), "from_cache": True}
                hit = (stored[0], dict(info, stale=False))
                self._parsed.remember(key, hit[0], hit[1], len(hit[0]))
        if hit is None:
            return None
        value = hit[0].copy(deep=False) if isinstance(hit[0], pd.DataFrame) else hit[0]
        return value, dict(hit[1], from_cache=True, stale=False)

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
        """(parsed body, where it came from) for one GET: the one send path.

        Sent through the cache, then parsed here, once. A body that does not parse is
        dropped from the cache and asked for again (refresh), up to the retry budget.
        `keep`: a contact frame, kept parsed beside the cache entry (and served from there
        while that entry is unchanged and fresh: no read of the body, no parse).
        """
        key = self._cache_key(path, params, cid, fmt)
        if not refresh and self._parsed is not None:
            started = time.perf_counter()
            hit = self._parsed_hit(key, keep=keep)
            if hit is not None:
                _log_request(path, params, 200, True, started)
                return hit
        attempts = self.settings.max_retries + 1
        for attempt in range(1, attempts + 1):
            response, stale = self._get(
                path, params, cid, fmt, refresh=refresh, offline=offline, what=what
            )
            try:
                parsed = parse(response)
                break
            except MalformedResponseError as exc:
                self._drop_entry(key, stale)
                if attempt == attempts or offline:
                    raise self._malformed(exc, response) from None
                logger.warning(
                    "malformed answer for %s; asking again (%d of %d)", what, attempt, attempts - 1
                )
                refresh = True
            finally:
                if len(response.content) >= RELEASE_ARROW_MEMORY_FROM:
                    release_arrow_memory()
        info = _response_info(response, stale)
        if self._parsed is not None and not info["stale"]:
            self._parsed.remember(key, parsed, info, len(parsed))
            if keep:
                expires = getattr(response, "expires", None)
                self._parsed.put(key, parsed, info["fetched_at"], expires)
            if isinstance(parsed, pd.DataFrame):  # the remembered frame stays intact
                parsed = parsed.copy(deep=False)
        return parsed, info

    def _drop_entry(self, key: str, stale: bool) -> None:
        """A body that did not parse is never answered from the cache again."""
        if not stale:
            with contextlib.suppress(*cache_mod.CACHE_ERRORS):
                self.session.cache.delete(key)

    # -- lookups (vitec_nb/lookups.py, vitec_nb/details.py) ---------------------------------

    def agents(
        self, customer_id: str, *, refresh: bool = False, offline: bool = False
    ) -> pd.DataFrame:
        """The office's users: user_id, name, title, archived, public, customer_id.

        From `User/GetAllUsers` when it answers (`attrs["agents_complete"]` True), else the
        public users of `User/GetUser` (False); a refusal is remembered by this client.
        """
        from vitec_nb import lookups

        return lookups.fetch_agents(self, self._office(customer_id), refresh=refresh,
                                    offline=offline)  # fmt: skip

    def newsletter_lists(
        self, customer_id: str, *, refresh: bool = False, offline: bool = False
    ) -> pd.DataFrame:
        """The office's newsletter lists: id, name, customer_id."""
        return self._table("newsletter_lists", customer_id, refresh, offline)

    def custom_fields(
        self, customer_id: str, *, refresh: bool = False, offline: bool = False
    ) -> pd.DataFrame:
        """The office's custom fields: name, label, type, valid_for (tuple), customer_id.

        Only those valid for a person or company can match a contact:
        `vitec_nb.lookups.contact_fields(frame)`.
        """
        return self._table("custom_fields", customer_id, refresh, offline)

    def offices(
        self, customer_id: Any = None, *, refresh: bool = False, offline: bool = False
    ) -> pd.DataFrame:
        """Offices (`Office/GetOffice`) of every configured office (or those given):
        customer_id, office_id, name, archived, chain_id, chain_name, groups."""
        from vitec_nb import lookups

        return lookups.fetch_offices(self, customer_id, refresh=refresh, offline=offline)

    def office_groups(
        self, customer_id: Any = None, *, refresh: bool = False, offline: bool = False
    ) -> pd.DataFrame:
        """Office groups (`CRM/Officegroups`): id, name, offices (tuple of customer ids)."""
        from vitec_nb import lookups

        return lookups.fetch_office_groups(self, customer_id, refresh=refresh, offline=offline)

    def office_label(self, customer_id: str, *, offline: bool = False) -> str:
        """The office for display, "Södermalm (M30011)" (the id alone without a name)."""
        from vitec_nb import lookups

        cid = self._office(customer_id)
        return lookups.office_label(cid, lookups.fetch_office_name(self, cid, offline=offline))

    def lookups(
        self, office: str, *, refresh: bool = False, offline: bool = False
    ) -> OfficeLookups:
        """What the planner needs about one office (`vitec_nb.lookups.OfficeLookups`)."""
        from vitec_nb import lookups

        return lookups.fetch_office_lookups(self, office, refresh=refresh, offline=offline)

    def contact_details(
        self,
        customer_id: str,
        ids: Any,
        fields: Any = None,
        *,
        refresh: bool = False,
        offline: bool = False,
        progress: Any = None,
    ) -> pd.DataFrame:
        """One row per contact id: kind, id, customer_id, name, created_at, changed_at,
        agent_id, lead_score; personal data only as `fields=` names it (docs/lookups.md)."""
        from vitec_nb import details

        return details.fetch_details(self, customer_id, ids, fields, refresh=refresh,
                                     offline=offline, progress=progress)  # fmt: skip

    def _table(self, name: str, customer_id: str, refresh: bool, offline: bool) -> pd.DataFrame:
        from vitec_nb import lookups

        cid = self._office(customer_id)
        return lookups.fetch_lookup(self, lookups.LOOKUPS[name], cid, refresh=refresh,
                                    offline=offline)  # fmt: skip

    # -- doctor (vitec_nb/doctor.py) and the server profile ----------------------------------

    @property
    def profile(self) -> ServerProfile:
        """The `ServerProfile` remembered for this base URL by `vitec-nb doctor` (defaults,
        i.e. nothing known, when it never ran here); read once, updated by `doctor()`."""
        profile = self.__dict__.get("_profile")
        if profile is None:
            from vitec_nb.doctor import remembered_profile

            profile = self._profile = remembered_profile(self)
        return profile

    def doctor(self, offices: Any = None, **options: Any) -> DoctorReport:
        """Check the account cheaply and learn how the server behaves (docs/doctor.md)."""
        from vitec_nb.doctor import run_doctor

        return run_doctor(self, offices, **options)

    def _probe(
        self, path: str, params: Mapping[str, str], cid: str, what: str
    ) -> requests.Response:
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
                timeout=self.settings.timeout,
                force_refresh=True,
            )
        except requests.RequestException as exc:
            _log_request(path, params, "error", False, started)
            raise self._transport_error(exc, what) from None
        except cache_mod.CACHE_ERRORS as exc:  # storing the fresh answer failed
            raise TransportError(
                f"The answer cache at {cache_mod.cache_location(self.session)} failed "
                f"({what}): {type(exc).__name__}: {exc}."
            ) from None
        _log_request(path, params, response.status_code, False, started)
        return response

    # -- breakdowns (planner) -------------------------------------------------------------

    def plan(
        self, query: ContactQuery, by: Sequence[str] = ("agent",), **options: Any
    ) -> BreakdownPlan:
        """The calls a breakdown needs (a `BreakdownPlan`); sends only the lookups it needs.

        Every option is checked first; run options (concurrency, progress, ...) belong to
        `breakdown(plan, ...)`, not to the plan.
        """
        from vitec_nb.plan.prepare import prepare
        from vitec_nb.plan.values import _RUN_OPTIONS

        for key in options:
            if key in _RUN_OPTIONS:
                raise InvalidQueryError(
                    key, "is a run option, not part of a plan", "client.breakdown(plan, ...)"
                )
        return prepare(self, query, by, **options)[0]

    def breakdown(
        self,
        query: ContactQuery | BreakdownPlan,
        by: Sequence[str] | None = None,
        measure: str | None = None,
        period: str | None = None,
        start: Any = None,
        end: Any = None,
        **options: Any,
    ) -> BreakdownResult:
        """Activity per period × dimension value, exact, with few calls (see vitec_nb/plan/).

        `query` is a ContactQuery (then `by` defaults to ("agent",), `measure` to
        "created", `period` to "M") or a plan from `plan()`, run with only run options.
        """
        from vitec_nb.plan.prepare import run_breakdown

        given = {"measure": measure, "period": period, "start": start, "end": end}
        options.update({k: v for k, v in given.items() if v is not None})
        return run_breakdown(self, query, ("agent",) if by is None else by, **options)

    # -- sending -----------------------------------------------------------------------------

    def _query(self, query: ContactQuery | None, filters: Mapping[str, Any]) -> ContactQuery:
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

    @staticmethod
    def _format(fmt: str) -> str:
        if not isinstance(fmt, str) or fmt.lower() not in FORMATS:
            raise InvalidQueryError("format", f"{fmt!r} is not a format", "'json' or 'xml'")
        return fmt.lower()

    def _office(self, customer_id: str) -> str:
        cid = ContactQuery(customer_id).customer_id
        if not isinstance(cid, str):
            raise InvalidQueryError("customer_id", "a lookup takes one office", "one office id")
        self.credentials.auth_for(cid)
        return cid

    def _cache_key(self, path: str, params: Mapping[str, str], cid: str, fmt: str) -> str:
        """The cache key of a request, remembered (URL normalisation costs milliseconds)."""
        slot = (path, tuple(params.items()), cid, fmt)
        key = self._keys.get(slot)
        if key is None:
            key = self.session.cache.create_key(self._prepare(path, params, cid, FORMATS[fmt]))
            if len(self._keys) > 50_000:
                self._keys.clear()
            self._keys[slot] = key
        return key

    def _prepare(
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

    def _get(
        self,
        path: str,
        params: Mapping[str, str],
        cid: str,
        fmt: str,
        *,
        refresh: bool,
        offline: bool,
        what: str,
    ) -> tuple[requests.Response, bool]:
        """One cached GET and whether it is a stale answer; failures become VitecErrors.

        When the server fails (5xx or 429 after the retries, no connection, a timeout) or
        offline mode misses, an expired cached answer is returned instead, marked stale.
        Never for 4xx: a rejected credential gets no stale data.
        """
        started = time.perf_counter()
        response, failure = self._send(path, params, cid, fmt, refresh, offline, what)
        status: Any = "error" if response is None else response.status_code
        cached = bool(getattr(response, "from_cache", False))
        damaged = self._damaged(path, params, cid, fmt, what)
        if offline and status == 504:  # only-if-cached miss: a synthetic 504, nothing sent
            status, cached = "not-cached", False
            why = "its cached copy was damaged and was dropped" if damaged else "not in the cache"
            failure = NotCachedError(f"{why} (offline mode): {what}")
        server_failed = isinstance(status, int) and (status == 429 or status >= 500)
        if (server_failed or failure is not None) and not isinstance(
            failure, MalformedResponseError
        ):
            stale = self._stale_entry(path, params, cid, fmt)
            if stale is not None:
                _log_request(path, params, f"{status}->stale", True, started)
                return stale, True
        _log_request(path, params, status, cached, started)
        if failure is not None:
            raise failure
        assert response is not None
        if status != 200:
            self._raise_for_status(response, cid, what)
        return response, False

    def _send(
        self,
        path: str,
        params: Mapping[str, str],
        cid: str,
        fmt: str,
        refresh: bool,
        offline: bool,
        what: str,
    ) -> tuple[requests.Response | None, VitecError | None]:
        """The session's answer (cache, retries, deadline), or the VitecError instead."""
        try:
            response = self.session.get(
                f"{self.base_url}/{path}",
                params=dict(params),
                headers={"Accept": FORMATS[fmt]},
                auth=self.credentials.basic_auth_for(cid),
                timeout=self.settings.timeout,
                allow_redirects=False,  # a 3xx is an error (RedirectError), never followed
                only_if_cached=offline,
                force_refresh=refresh,
            )
        except requests.RequestException as exc:
            return None, self._transport_error(exc, what)
        except UnicodeError:  # requests reading a header (e.g. a Location) that is not UTF-8
            return None, TransportError(f"The answer for {what} has unreadable headers.")
        except cache_mod.CACHE_ERRORS as exc:  # the cache's store failed, not the server
            raise TransportError(
                f"The answer cache at {cache_mod.cache_location(self.session)} failed "
                f"({what}): {type(exc).__name__}: {exc}. Check that it is running and "
                "reachable, or connect with another cache (cache=...)."
            ) from None
        return response, None

    def _malformed(
        self, exc: MalformedResponseError, response: requests.Response | None
    ) -> MalformedResponseError:
        """`exc` without secrets: its text may quote the body, which may echo credentials
        (then no excerpt at all: a cut excerpt could hold part of an encoded secret)."""
        text = str(self._redact(str(exc)))
        body = response.content if response is not None else b""
        if body and self._redact.finds(body.decode("utf-8", "replace")):
            text = text.split(" Near there:")[0] + " (no excerpt: the answer quoted credentials)"
        return MalformedResponseError(text)

    def _damaged(self, path: str, params: Mapping[str, str], cid: str, fmt: str, what: str) -> bool:
        """Whether this request's cache entry was just found damaged (then dropped): warns."""
        if not cache_mod.has_damaged(self.session):  # the usual case: no key to compute
            return False
        if not cache_mod.take_damaged(self.session, self._cache_key(path, params, cid, fmt)):
            return False
        warnings.warn(
            f"The cached answer for {what} in {cache_mod.cache_location(self.session)} was "
            "damaged; it was dropped and asked for again.",
            RuntimeWarning,
            stacklevel=4,
        )
        return True

    def _transport_error(self, exc: requests.RequestException, what: str) -> VitecError:
        """The VitecError for an exception from requests (no password, no URL credentials)."""
        if _caused_by(exc, DeadlineExceeded):
            return RequestTimeoutError(
                f"Vitec Connect at {self.base_url} took longer than the deadline of "
                f"{self.deadline:g} s for one call ({what}); try again, or raise deadline= in "
                "connect()."
            )
        read_timeout = self.settings.timeout[1]
        timeout = RequestTimeoutError(
            f"Vitec Connect at {self.base_url} did not answer within {read_timeout:g} s "
            f"({what}); try again, or raise timeout= in connect()."
        )
        if isinstance(exc, requests.Timeout) or _caused_by_read_timeout(exc):
            return timeout
        if isinstance(
            exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
        ):
            return MalformedResponseError(
                f"The answer for {what} was cut off or garbled in transit; nothing was cached."
            )
        if isinstance(exc, requests.ConnectionError):
            return TransportError(
                f"Could not reach Vitec Connect at {self.base_url} ({what}): {_reason(exc)}. "
                "Check the network and the base URL; cached answers still work with "
                "offline=True."
            )
        if isinstance(exc, requests.TooManyRedirects) and exc.response is not None:
            location = exc.response.headers.get("Location") or ""
            return RedirectError(
                status=exc.response.status_code,
                location=self._redact(_public_url(location)) or None,
            )
        return TransportError(f"The request for {what} failed: {_reason(exc)}.")

    def _stale_entry(
        self, path: str, params: Mapping[str, str], cid: str, fmt: str
    ) -> requests.Response | None:
        """The cached answer for this request even if expired (None if there is none)."""
        entry = self.session.cache.get_response(self._cache_key(path, params, cid, fmt))
        if entry is None or entry.status_code != 200:
            return None
        return entry

    def _raise_for_status(self, response: requests.Response, cid: str, what: str) -> None:
        status = response.status_code
        message, messages = _server_message(response, self._redact)
        cls = error_for_status(status)
        url = response.url.split("?", 1)[0] if response.url else None
        kwargs: dict[str, Any] = {
            "status": status,
            "url": url,
            "server_message": message,
            "customer_id": cid,
        }
        error: ApiError
        if cls is ServerValidationError:
            if messages and message:
                kwargs["server_message"] = f"{message} {'; '.join(messages)}"
            error = ServerValidationError(messages=messages, **kwargs)
        elif cls is RateLimitedError:
            retry_after = response.headers.get("Retry-After")
            seconds = None if retry_after is None else retry_after_seconds(retry_after)
            error = RateLimitedError(retry_after=seconds, **kwargs)
        elif cls is RedirectError:
            location = self._redact(_public_url(response.headers.get("Location") or "")) or None
            error = RedirectError(location=location, **kwargs)
        else:
            error = cls(**kwargs)
        raise error

    @staticmethod
    def _parse_response(response: requests.Response) -> pd.DataFrame:
        path = urlsplit(response.url).path
        cid = path.rstrip("/").rsplit("/", 1)[-1]
        accept = response.request.headers.get("Accept", "") if response.request else ""
        fmt = "xml" if "xml" in accept else "json"
        try:
            return _parse_contacts(response.content, fmt, cid)
        except MalformedResponseError as exc:
            reason = str(exc)
        except Exception as exc:  # a parser bug or an unforeseen body: still a bad answer
            reason = f"{type(exc).__name__}: {str(exc)[:200]}"
        raise MalformedResponseError(
            f"The {fmt.upper()} answer for office {cid} is not a valid contact list, so it was "
            f"not cached. {reason}"
        )


# --- helpers --------------------------------------------------------------------------------


def _flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise InvalidQueryError(name, f"{value!r} is not True or False", "True or False")


def _reason(exc: BaseException) -> str:
    text = str(exc.args[0] if exc.args else exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "reset"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__


def _positive(value: Any, default: float, name: str) -> float:
    """A finite positive number of seconds (None: the default); ConfigurationError else."""
    if value is None:
        return default
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        raise ConfigurationError(
            f"{name}: {value!r} is not allowed (allowed: a finite number of seconds > 0)"
        )
    return float(value)


def _public_url(url: str) -> str:
    """`url` without user info, query or fragment (safe to show, to log and to cache)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(an unreadable URL)"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether `exc` or anything it wraps (args, cause, context, reason) is a `kind`."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, kind):
            return True
        if isinstance(item, BaseException):
            stack += [*item.args, item.__cause__, item.__context__, getattr(item, "reason", None)]
    return False


def _caused_by_read_timeout(exc: BaseException) -> bool:
    return _caused_by(exc, ReadTimeoutError) or _caused_by(exc, requests.ReadTimeout)


def _log_request(
    path: str, params: Mapping[str, str], status: Any, cached: bool, started: float
) -> None:
    """One line per request: method, path with parameters, status, cached, milliseconds."""
    if not logger.isEnabledFor(logging.INFO):  # formatting costs more than the check
        return
    query = "&".join(f"{k}={v}" for k, v in params.items())
    target = f"/{path}?{query}" if query else f"/{path}"
    elapsed = (time.perf_counter() - started) * 1000
    logger.info("GET %s %s cached=%s %.0f ms", target, status, cached, elapsed)


def _response_info(response: requests.Response, stale: bool = False) -> dict[str, Any]:
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


def _concat_offices(frames: list[pd.DataFrame], offices: Sequence[str]) -> pd.DataFrame:
    categories = list(dict.fromkeys([*offices, *(c for f in frames for c in _cats(f))]))
    dtype = pd.CategoricalDtype(categories)
    aligned = [f.assign(customer_id=f["customer_id"].astype(str).astype(dtype)) for f in frames]
    for f in aligned:
        f.attrs = {}
    return pd.concat(aligned, ignore_index=True)


def _cats(frame: pd.DataFrame) -> list[str]:
    col = frame["customer_id"]
    if isinstance(col.dtype, pd.CategoricalDtype):
        return [str(c) for c in col.cat.categories]
    return [str(c) for c in col.unique()]


# --- connect --------------------------------------------------------------------------------


def connect(
    base_url: str | None = None,
    username: str | None = None,
    password: str | None = None,
    passwords: Mapping[str, str] | None = None,
    cache: Any = None,
    expire_after: float | timedelta | None = None,
    *,
    customer_ids: Sequence[str] | str | None = None,
    timeout: float | tuple[float, float] | None = None,
    max_retries: int | None = None,
    backoff_factor: float | None = None,
    max_retry_after: float | None = None,
    concurrency: int | None = None,
    demo: bool | None = None,
    deadline: float | None = None,
    cache_lock_timeout: float | None = None,
    token: str | None = None,
) -> VitecClient:
    """Connect to Vitec Connect — or, with nothing configured, to the built-in stand-in.

    Args:
        base_url: default ``VITEC_BASE_URL``, else https://connect.maklare.vitec.net.
        username, password: ``password`` applies to every office (``VITEC_USERNAME``,
            ``VITEC_PASSWORD``, or the keyring; see docs/credentials.md).
        passwords: customer id -> password, one per office (``VITEC_PASSWORD_<ID>``).
        cache: SQLite path or directory, ``redis://host:port/db``, or a requests_cache
            backend (default ``VITEC_NB_CACHE``, else the user cache directory).
        expire_after: seconds (or timedelta) an answer stays fresh; default one hour;
            -1 = never.
        customer_ids: the offices to offer (default ``VITEC_CUSTOMER_IDS`` and the keys of
            ``passwords``).
        timeout: seconds, or (connect, read); default (10, 60).
        max_retries, backoff_factor, max_retry_after: the retry policy (docs/caching.md).
        concurrency: the most requests in flight at once (breakdowns included); default 8.
        demo: True forces the stand-in; False refuses demo mode.
        token: Vitec's base64 string of ``user:password`` instead of username/password
            (``VITEC_TOKEN``, ``VITEC_TOKEN_<ID>``, keyring; docs/credentials.md).
        deadline: seconds one call may take in all (connect, retries, waits and the whole
            body); default 300. Past it: RequestTimeoutError naming the call.
        cache_lock_timeout: seconds a lock another process holds on the SQLite cache is
            waited for; default 5. Past it: ConfigurationError naming the file and holder.

    Raises ConfigurationError for a partial configuration (e.g. a user name without a
    password), naming what is missing and where it may come from.
    """
    settings = Settings.resolve(
        base_url,
        username,
        password,
        passwords,
        cache,
        expire_after,
        customer_ids=customer_ids,
        timeout=timeout,
        max_retries=max_retries,
        backoff_factor=backoff_factor,
        max_retry_after=max_retry_after,
        concurrency=concurrency,
        demo=demo,
        token=token,
    )
    bounds = {"deadline": deadline, "cache_lock_timeout": cache_lock_timeout}
    for name, value in bounds.items():
        _positive(value, 1.0, name)  # checked before anything starts (e.g. the stand-in)
    if not settings.demo:
        return VitecClient(settings, **bounds)
    standin = demo_standin()
    import dataclasses

    settings = dataclasses.replace(
        settings,
        base_url=standin.url,
        credentials=Credentials(
            standin.username, standin.password, sources={"username": "demo", "password": "demo"}
        ),
        customer_ids=tuple(standin.customer_ids),
        cache=settings.cache if settings.cache is not None else cache_mod.demo_cache_path(),
    )
    client = VitecClient(settings, standin=standin, **bounds)
    if isinstance(client.session.cache, cache_mod.VitecSQLiteCache):
        # Demo answers are keyed by the stand-in's port, new in every process: old ones can
        # never be hit again, so expired ones are dropped (one SQL statement).
        client.session.cache.delete(expired=True, vacuum=False)
    return client
