"""`connect()` and `VitecClient`, the façade: the sending client plus the planner and doctor.

`VitecClient` is `_base_client.BaseClient` (query checks, the cache, the one send path,
lookups and contact details; it knows nothing of the layers above it) with the methods
that reach up into them: `contacts()` made exact (plan/exact.py: whole-day ends, lead
score 0 derived), `plan()` and `breakdown()` (plan/prepare.py), `doctor()` and `profile`
(doctor.py). This module sits above `plan/` and `doctor` in the layers (docs/architecture.md),
so every import here points down. With nothing configured, `connect()` starts the built-in
stand-in once per process and every result says it is demo data.

retries.py's `RETRY_STATUSES` and `CappedRetry` stay importable from here (`X as X`
re-exports).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import pandas as pd

from vitec_nb import cache as cache_mod
from vitec_nb._base_client import BaseClient
from vitec_nb._send import FORMATS
from vitec_nb._session import positive
from vitec_nb.credentials import Credentials
from vitec_nb.doctor import DoctorReport, remembered_profile, run_doctor
from vitec_nb.errors import InvalidQueryError
from vitec_nb.plan import BreakdownPlan, BreakdownResult, exact
from vitec_nb.plan.prepare import prepare, run_breakdown
from vitec_nb.plan.values import _RUN_OPTIONS
from vitec_nb.profile import ServerProfile
from vitec_nb.query import ContactQuery
from vitec_nb.retries import RETRY_STATUSES as RETRY_STATUSES
from vitec_nb.retries import CappedRetry as CappedRetry
from vitec_nb.settings import Settings
from vitec_nb.vocab import DEMO_SOURCE as DEMO_BANNER

__all__ = ["DEMO_BANNER", "FORMATS", "VitecClient", "connect"]

DEMO_SEED = 0
DEMO_CONTACTS = 20_000

# --- the client -----------------------------------------------------------------------------


class VitecClient(BaseClient):
    """Contacts, lookups, breakdowns and checks of Vitec Connect (or the stand-in).

    Create it with `connect()`. Thread-safe: one client may serve several threads at once.
    Sending, caching and lookups come from `BaseClient`; this class adds the exact ends of
    `contacts()`, `plan()`, `breakdown()`, `doctor()` and `profile`.
    """

    # -- contacts made exact (plan/exact.py) ---------------------------------------------

    def _answer(self, q: ContactQuery, fmt: str, refresh: bool, offline: bool) -> pd.DataFrame:
        """`BaseClient._answer`, exact whatever the server's precision and meaning of 0: an
        open `*_to` end by one end-check call, lead score 0 derived (plan/exact.py)."""
        profile = self.profile
        if exact.needs_exact(q, profile):
            kw = {"format": fmt, "refresh": refresh, "offline": offline}
            return exact.exact_contacts(self, q, profile, **kw)
        return super()._answer(q, fmt, refresh, offline)

    # -- doctor (vitec_nb/doctor.py) and the server profile ------------------------------

    @property
    def profile(self) -> ServerProfile:
        """The `ServerProfile` remembered for this base URL by `vitec-nb doctor` (defaults,
        i.e. nothing known, when it never ran here); read once, updated by `doctor()`."""
        profile = self.__dict__.get("_profile")
        if profile is None:
            profile = self._profile = remembered_profile(self)
        return profile

    def doctor(self, offices: Any = None, **options: Any) -> DoctorReport:
        """Check the account cheaply and learn how the server behaves (docs/doctor.md)."""
        return run_doctor(self, offices, **options)

    # -- breakdowns (planner) ------------------------------------------------------------

    def plan(
        self, query: ContactQuery, by: Sequence[str] = ("agent",), **options: Any
    ) -> BreakdownPlan:
        """The calls a breakdown needs (a `BreakdownPlan`); sends only the lookups it needs.

        Every option is checked first; run options (concurrency, progress, ...) belong to
        `breakdown(plan, ...)`, not to the plan.
        """
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
        given = {"measure": measure, "period": period, "start": start, "end": end}
        options.update({k: v for k, v in given.items() if v is not None})
        return run_breakdown(self, query, ("agent",) if by is None else by, **options)


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


def _demo_client(settings: Settings, **bounds: float | None) -> VitecClient:
    """A client of the demo stand-in: its URL, account and offices, the demo cache."""
    standin = demo_standin()
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

    Who you are: `username` and `password` (every office), `passwords` (customer id ->
    password) or `token`; where: `base_url`, `customer_ids`; the cache: `cache`,
    `expire_after` (seconds), `cache_lock_timeout`; how hard to try: `timeout`,
    `max_retries`, `backoff_factor`, `max_retry_after`, `deadline` (seconds a call may
    take in all), `concurrency`; `demo`: True forces the stand-in, False refuses it.
    An option not given comes from its environment variable (`VITEC_USERNAME`, ...) or the
    keyring where it has one, else its default: the table is in docs/credentials.md,
    "connect()'s options". Every option is checked before anything starts; a partial
    configuration (e.g. a user name without a password) raises ConfigurationError naming
    what is missing and where it may come from.
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
        positive(value, 1.0, name)  # checked before anything starts (e.g. the stand-in)
    if settings.demo:
        return _demo_client(settings, **bounds)
    return VitecClient(settings, **bounds)
