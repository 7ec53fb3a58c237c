"""Execution: run a plan's calls concurrently through the cached client, then join the answers."""

from __future__ import annotations

import dataclasses
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from typing import Any

import pandas as pd
import pyarrow as pa

from vitec_nb.errors import (
    IncompleteBreakdownError,
    InvalidQueryError,
    NotCachedError,
    VitecError,
)
from vitec_nb.plan.join import _arrow_ids, _join
from vitec_nb.plan.options import check_concurrency, run_option
from vitec_nb.plan.result import BreakdownResult
from vitec_nb.plan.values import (
    DEFAULT_CONCURRENCY,
    BreakdownPlan,
    BreakdownWarning,
    MissingCall,
    PlannedCall,
    RunOptions,
)
from vitec_nb.provenance import provenance_of
from vitec_nb.query import ContactQuery

__all__ = ["JOIN_MEMO", "MissingCall", "cached_calls", "run_plan"]


def _progress_sink(
    progress: Any, total: int, desc: str
) -> tuple[Callable[[int], None], Callable[[], None]]:
    """(update(done), close()) for a progress option: True/False or a callable(done, total)."""
    if callable(progress):
        return (lambda done: progress(done, total)), (lambda: None)
    if not progress or total == 0:
        return (lambda done: None), (lambda: None)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="call", leave=False)

    def update(done: int) -> None:
        bar.update(done - bar.n)

    return update, bar.close


class _JoinMemo:
    """The last joins, so a re-run whose answers all come unchanged from the cache skips the
    join (about two thirds of a warm 100 000-contact breakdown; docs/benchmarks.md).

    An entry matches only the same client, an equal plan (apart from when it was made) and
    the very same answers: each call's original fetch time, as the cache reports it. Run
    options are not in the plan, so they never split the key. The join is deterministic, so
    a match gives exactly what joining again would. Bounded by facts rows; least recently
    used out. Thread-safe.
    """

    def __init__(self, max_rows: int = 1_000_000) -> None:
        self.max_rows = max_rows
        self._entries: list[tuple[Any, BreakdownResult]] = []
        self._lock = threading.Lock()
        self.hits = 0  # lookups answered from the memo (a count; tests read it)
        self.misses = 0  # lookups that found nothing, so the join ran

    @staticmethod
    def key(client: Any, plan: BreakdownPlan, versions: Sequence[Any]) -> Any:
        return (id(client), dataclasses.replace(plan, planned_at=None), tuple(versions))

    def get(self, key: Any) -> BreakdownResult | None:
        with self._lock:
            for i, (k, result) in enumerate(self._entries):
                if k == key:
                    self._entries.append(self._entries.pop(i))
                    self.hits += 1
                    return result
            self.misses += 1
        return None

    def put(self, key: Any, result: BreakdownResult) -> None:
        with self._lock:
            self._entries.append((key, result))
            while sum(len(r.facts) for _, r in self._entries) > self.max_rows:
                self._entries.pop(0)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


JOIN_MEMO = _JoinMemo()


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """A shared pool of `workers` threads, started once per process (not per breakdown)."""
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vitec-breakdown")
            _POOLS[workers] = pool
        return pool


def _limited(slots: threading.Semaphore, fetch: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """`fetch(*args, **kw)` with its HTTP exchanges limited by the run's `slots`."""
    from vitec_nb import retries

    http_slots = getattr(retries, "HTTP_SLOTS", None)
    if http_slots is None:
        with slots:
            return fetch(*args, **kw)
    token = http_slots.set(slots)
    try:
        return fetch(*args, **kw)
    finally:
        http_slots.reset(token)


def client_concurrency(client: Any, asked: int | None) -> int:
    """The requests in flight: the client's `concurrency` is the one limit (an option may
    only lower it)."""
    limit = getattr(client, "concurrency", None)
    if limit is None:
        limit = getattr(getattr(client, "settings", None), "concurrency", None)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        limit = None
    if asked is None:
        return limit or DEFAULT_CONCURRENCY
    return min(asked, limit) if limit else asked


def cached_calls(client: Any, plan: BreakdownPlan) -> int:
    """How many of a plan's calls the cache already answers (sends nothing)."""
    return sum(1 for call in plan.calls if client.is_cached(call.query))


@dataclasses.dataclass
class _Fetched:
    """The answers of a run as they arrive (each from the caller's thread only)."""

    answers: dict[ContactQuery, pd.DataFrame] = dataclasses.field(default_factory=dict)
    failures: dict[ContactQuery, MissingCall] = dataclasses.field(default_factory=dict)
    versions: dict[ContactQuery, Any] = dataclasses.field(default_factory=dict)
    ids: dict[ContactQuery, pa.Array] = dataclasses.field(default_factory=dict)
    stale: list[PlannedCall] = dataclasses.field(default_factory=list)
    fetched: int = 0
    cached: int = 0
    failed_requests: int = 0
    done: int = 0
    demo: bool = False
    fetched_at: pd.Timestamp | None = None  # the oldest answer's fetch time

    def take(self, call: PlannedCall, frame: Any = None, error: VitecError | None = None) -> None:
        self.done += 1
        if error is not None:
            self.failures[call.query] = MissingCall(call, error)
            if not isinstance(error, NotCachedError):
                self.failed_requests += 1
            return
        came = provenance_of(frame)
        if came.from_cache:
            self.cached += 1
        else:
            self.fetched += 1
            # the join's first step, done now while other calls are in flight (a cached
            # answer's ids wait: a memoised join may not need them)
            self.ids[call.query] = _arrow_ids(frame)
        self.demo = self.demo or came.demo
        if came.stale:
            self.stale.append(call)
        when = came.fetched_at
        self.versions[call.query] = when
        if when is not None and (self.fetched_at is None or when < self.fetched_at):
            self.fetched_at = when
        frame.attrs = {}  # pandas copies attrs (deeply) on every operation: the join needs none
        self.answers[call.query] = frame


def _fetch(client: Any, plan: BreakdownPlan, run: RunOptions) -> _Fetched:
    """Every call once: answers held parsed in this process at once, the rest on threads."""
    workers = client_concurrency(client, run.concurrency)
    update, close = _progress_sink(run.progress, plan.n_calls, "Breakdown")
    got = _Fetched(demo=bool(getattr(client, "is_demo", False)))
    # `workers` requests in flight at most; twice as many threads, so that while one thread
    # parses and stores an answer its slot already serves the next request
    pool = _pool(2 * workers)
    slots = threading.BoundedSemaphore(workers)
    pending: dict[Future[pd.DataFrame], PlannedCall] = {}
    remembered = None if run.refresh else client.cached_answer
    update(0)
    try:
        for call in plan.calls:
            frame = remembered(call.query) if remembered is not None else None
            if frame is not None:  # kept parsed beside the cache: no thread needed
                got.take(call, frame)
                update(got.done)
                continue
            kw = {"refresh": run.refresh, "offline": run.offline}
            pending[pool.submit(_limited, slots, client.contacts, call.query, **kw)] = call
        for future in as_completed(list(pending)):
            call = pending.pop(future)
            try:
                got.take(call, future.result())
            except VitecError as exc:
                got.take(call, error=exc)
            update(got.done)
    finally:
        # interrupted (an unexpected error, Ctrl-C): drop what has not started and let what
        # is in flight finish, so no call of this run is still going after it returns
        for future in pending:
            future.cancel()
        wait(pending)
        close()
    return got


def _joined(client: Any, plan: BreakdownPlan, got: _Fetched) -> BreakdownResult:
    """The join, or the memo's copy of it when every answer came unchanged from the cache."""
    memo_key = None
    if not got.failures and not got.stale and all(v is not None for v in got.versions.values()):
        memo_key = JOIN_MEMO.key(client, plan, [got.versions[c.query] for c in plan.calls])
    joined = JOIN_MEMO.get(memo_key) if memo_key is not None else None
    if joined is None:
        joined = _join(plan, got.answers, got.failures, got.demo, got.ids)
        if memo_key is not None:
            JOIN_MEMO.put(memo_key, joined)
    else:
        for note in joined.warnings:  # what joining again would have said
            warnings.warn(note, BreakdownWarning, stacklevel=3)
    # shallow copies (copy-on-write): the caller may change its frames, never the memo's
    result = dataclasses.replace(
        joined,
        plan=plan,
        facts=joined.facts.copy(deep=False),
        counts=joined.counts.copy(deep=False),
        calls=got.fetched + got.failed_requests,
        cached_calls=got.cached,
        fetched_at=got.fetched_at,
        client=client,
    )
    result.facts.attrs.update(fetched_at=got.fetched_at, demo=result.demo)
    return result


def run_plan(
    client: Any,
    plan: BreakdownPlan,
    options: RunOptions | None = None,
    **run_options: Any,
) -> BreakdownResult:
    """Run a plan's calls through the cached client, concurrently, and join the answers.

    Each distinct call is made once, with at most `concurrency` requests in flight (the
    client's `concurrency` by default, and never more; the stand-in's `max_in_flight`
    checks it). `progress` is True for a tqdm bar, False for none, or a callable
    ``progress(done, total)`` called from the caller's thread (the form uses this).
    `refresh`/`offline` are passed to ``client.contacts``. A failed call raises
    `IncompleteBreakdownError` naming each missing call; with ``allow_partial=True`` the
    result comes back with ``.incomplete`` listing them and NaN counts where unknown.
    Everything fetched stays in the cache: a re-run fetches only what was missing.
    """
    run = _run_options(options, run_options)
    got = _fetch(client, plan, run)
    result = _joined(client, plan, got)
    if got.stale:
        note = _stale_note(got.stale, plan.n_calls, got.fetched_at)
        warnings.warn(note, BreakdownWarning, stacklevel=2)
        result = dataclasses.replace(result, warnings=[*result.warnings, note])
    if got.failures and not run.allow_partial:
        missing = [got.failures[c.query] for c in plan.calls if c.query in got.failures]
        raise IncompleteBreakdownError(
            _missing_message(missing, plan.n_calls), missing=missing, partial=result
        )
    return result


def _run_options(options: RunOptions | None, given: dict[str, Any]) -> RunOptions:
    """Run options from a RunOptions value and/or keywords (keywords win; None = unset)."""
    run = options if options is not None else RunOptions()
    changes = {}
    for key, value in given.items():
        if key not in {f.name for f in dataclasses.fields(RunOptions)}:
            allowed = ", ".join(f.name for f in dataclasses.fields(RunOptions))
            raise InvalidQueryError(key, "is not a run option", allowed)
        checked = run_option(key, value)
        if checked is not None:
            changes[key] = checked
    run = dataclasses.replace(run, **changes) if changes else run
    if run.concurrency is not None:
        check_concurrency(run.concurrency)
    return run


def _stale_note(stale: Sequence[PlannedCall], total: int, fetched_at: pd.Timestamp | None) -> str:
    """Say that some answers are out of date: the numbers are not silently current."""
    when = f" (the oldest fetched {fetched_at:%Y-%m-%d %H:%M})" if fetched_at is not None else ""
    return (
        f"{len(stale)} of {total} answers are expired cached answers{when}, used because "
        "Vitec Connect could not answer; the counts may be out of date. Run again later for "
        "current numbers."
    )


def _missing_message(missing: Sequence[MissingCall], total: int) -> str:
    shown = [f"  - {m}" for m in missing[:20]]
    if len(missing) > 20:
        shown.append(f"  - … and {len(missing) - 20} more (see error.missing)")
    return (
        f"{len(missing)} of {total} calls of the breakdown failed, so some counts are unknown:\n"
        + "\n".join(shown)
        + "\nEverything else is in the cache: run the breakdown again to fetch only these "
        "(or pass allow_partial=True to get the counts that are known)."
    )
