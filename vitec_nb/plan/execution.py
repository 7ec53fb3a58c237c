"""Execution: run a plan's calls concurrently through the cached client, then join the answers."""

from __future__ import annotations

import dataclasses
import threading
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from typing import Any

import pandas as pd
import pyarrow as pa

from vitec_nb.errors import IncompleteBreakdownError, InvalidQueryError, VitecError
from vitec_nb.plan.join import _arrow_ids, _join
from vitec_nb.plan.planning import _concurrency, _split_options, plan_breakdown
from vitec_nb.plan.result import BreakdownResult
from vitec_nb.plan.values import _RUN_OPTIONS, BreakdownPlan, BreakdownWarning, PlannedCall
from vitec_nb.query import ContactQuery


@dataclasses.dataclass(frozen=True)
class MissingCall:
    """A call of a breakdown that failed: what it was for (in words) and why."""

    call: PlannedCall
    error: BaseException

    def __str__(self) -> str:
        return f"{self.call.label} ({type(self.error).__name__}: {self.error})"


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
    the very same answers: each call's original fetch time, as the cache reports it. The
    join is deterministic, so a match gives exactly what joining again would. Bounded by
    facts rows; least recently used out. Thread-safe.
    """

    def __init__(self, max_rows: int = 1_000_000) -> None:
        self.max_rows = max_rows
        self._entries: list[tuple[Any, BreakdownResult]] = []
        self._lock = threading.Lock()

    @staticmethod
    def key(client: Any, plan: BreakdownPlan, versions: Sequence[Any]) -> Any:
        return (id(client), dataclasses.replace(plan, planned_at=None), tuple(versions))

    def get(self, key: Any) -> BreakdownResult | None:
        with self._lock:
            for i, (k, result) in enumerate(self._entries):
                if k == key:
                    self._entries.append(self._entries.pop(i))
                    return result
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


def _limited(slots: threading.Semaphore, fetch: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """`fetch(*args, **kw)` with its HTTP exchanges limited by the run's `slots`."""
    from vitec_nb.retries import HTTP_SLOTS

    token = HTTP_SLOTS.set(slots)
    try:
        return fetch(*args, **kw)
    finally:
        HTTP_SLOTS.reset(token)


def _pool(workers: int) -> ThreadPoolExecutor:
    """A shared pool of `workers` threads, started once per process (not per breakdown)."""
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vitec-breakdown")
            _POOLS[workers] = pool
        return pool


def run_plan(
    client: Any,
    plan: BreakdownPlan,
    *,
    concurrency: int | None = None,
    progress: bool | Callable[[int, int], Any] | None = None,
    refresh: bool | None = None,
    offline: bool | None = None,
    allow_partial: bool | None = None,
) -> BreakdownResult:
    """Run a plan's calls through the cached client, concurrently, and join the answers.

    Each distinct call is made once, with at most `concurrency` requests in flight (default
    6, at most 8; the stand-in's `max_in_flight` checks it) on twice as many threads;
    answers this process already holds parsed (a warm re-run) are taken at once, inline.
    `progress` is True for a tqdm bar (a widget in a kernel), False for none, or a callable
    ``progress(done, total)`` called from the caller's thread (the form uses this).
    `refresh`/`offline` are passed to ``client.contacts``. A failed call raises
    `IncompleteBreakdownError` naming each missing call; with ``allow_partial=True`` the
    result comes back with ``.incomplete`` listing them and NaN counts where unknown.
    Everything fetched stays in the cache: a re-run fetches only what was missing.
    """
    opts = dict(plan.options)
    workers = _concurrency(concurrency if concurrency is not None else opts.get("concurrency"))
    progress = progress if progress is not None else opts.get("progress", True)
    refresh = bool(refresh if refresh is not None else opts.get("refresh", False))
    offline = bool(offline if offline is not None else opts.get("offline", False))
    allow_partial = bool(
        allow_partial if allow_partial is not None else opts.get("allow_partial", False)
    )
    total = plan.n_calls
    update, close = _progress_sink(progress, total, "Breakdown")
    answers: dict[ContactQuery, pd.DataFrame] = {}
    failures: dict[ContactQuery, MissingCall] = {}
    fetched = cached = failed_requests = 0
    stale: list[PlannedCall] = []  # expired answers the client used because the server failed
    done = 0
    demo = bool(getattr(client, "is_demo", False))
    fetched_at: pd.Timestamp | None = None  # the oldest answer's fetch time
    versions: dict[ContactQuery, Any] = {}  # each answer's fetch time: the join memo's key
    ids: dict[ContactQuery, pa.Array] = {}  # answers' id columns, made as they arrive
    update(0)
    # `workers` requests in flight at most; twice as many threads, so that while one thread
    # parses and stores an answer (mostly under the GIL) its slot already serves the next
    # request. A cached answer needs no slot.
    pool = _pool(2 * workers)
    slots = threading.BoundedSemaphore(workers)
    pending: dict[Future[pd.DataFrame], PlannedCall] = {}

    def take(call: PlannedCall, future: Future[pd.DataFrame] | None, frame: Any = None) -> None:
        nonlocal fetched, cached, failed_requests, demo, fetched_at, done
        try:
            if future is not None:
                frame = future.result()
        except VitecError as exc:
            failures[call.query] = MissingCall(call, exc)
            if not _is_offline_miss(exc):
                failed_requests += 1
        else:
            if frame.attrs.get("from_cache"):
                cached += 1
            else:
                fetched += 1
                # the join's first step, done now while other calls are in flight
                # (a cached answer's ids wait: a memoised join may not need them)
                ids[call.query] = _arrow_ids(frame)
            demo = demo or bool(frame.attrs.get("demo"))
            if frame.attrs.get("stale"):
                stale.append(call)
            when = frame.attrs.get("fetched_at")
            versions[call.query] = when
            if when is not None and (fetched_at is None or when < fetched_at):
                fetched_at = when
            # pandas copies attrs (deeply) on every operation: the join needs none
            frame.attrs = {}
            answers[call.query] = frame
        done += 1
        update(done)

    remembered = None if refresh else getattr(client, "_remembered", None)
    try:
        for call in plan.calls:
            # held parsed in this process (sends nothing): no thread needed
            frame = remembered(call.query) if remembered is not None else None
            if frame is not None:
                take(call, None, frame)
                continue
            future = pool.submit(
                _limited, slots, client.contacts, call.query, refresh=refresh, offline=offline
            )
            pending[future] = call
        for future in as_completed(list(pending)):
            take(pending.pop(future), future)
    finally:
        # interrupted (an unexpected error, Ctrl-C): drop what has not started and let what
        # is in flight finish, so no call of this run is still going after it returns
        for future in pending:
            future.cancel()
        wait(pending)
        close()

    memo_key = None
    if not failures and not stale and all(v is not None for v in versions.values()):
        memo_key = JOIN_MEMO.key(client, plan, [versions[c.query] for c in plan.calls])
    joined = JOIN_MEMO.get(memo_key) if memo_key is not None else None
    if joined is None:
        joined = _join(plan, answers, failures, demo, ids)
        if memo_key is not None:
            JOIN_MEMO.put(memo_key, joined)
    else:
        for note in joined.warnings:  # what joining again would have said
            warnings.warn(note, BreakdownWarning, stacklevel=2)
    # shallow copies (copy-on-write): the caller may change its frames, never the memo's
    result = dataclasses.replace(
        joined,
        plan=plan,
        facts=joined.facts.copy(deep=False),
        counts=joined.counts.copy(deep=False),
        calls=fetched + failed_requests,
        cached_calls=cached,
        fetched_at=fetched_at,
    )
    result.facts.attrs.update(fetched_at=fetched_at, demo=result.demo)
    if stale:
        note = _stale_note(stale, total, fetched_at)
        warnings.warn(note, BreakdownWarning, stacklevel=2)
        result = dataclasses.replace(result, warnings=[*result.warnings, note])
    if failures:
        missing = [failures[c.query] for c in plan.calls if c.query in failures]
        if not allow_partial:
            raise IncompleteBreakdownError(
                _missing_message(missing, total), missing=missing, partial=result
            )
    return result


def _stale_note(stale: Sequence[PlannedCall], total: int, fetched_at: pd.Timestamp | None) -> str:
    """Say that some answers are out of date: the numbers are not silently current."""
    when = f" (the oldest fetched {fetched_at:%Y-%m-%d %H:%M})" if fetched_at is not None else ""
    return (
        f"{len(stale)} of {total} answers are expired cached answers{when}, used because "
        "Vitec Connect could not answer; the counts may be out of date. Run again later for "
        "current numbers."
    )


def _is_offline_miss(exc: BaseException) -> bool:
    from vitec_nb.errors import NotCachedError

    return isinstance(exc, NotCachedError)


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


def run_breakdown(
    client: Any,
    query: ContactQuery | BreakdownPlan,
    by: str | Iterable[str] | None = ("agent",),
    **options: Any,
) -> BreakdownResult:
    """Plan and run a breakdown (see `plan_breakdown` and `run_plan` for the options)."""
    if isinstance(query, BreakdownPlan):
        plan_opts, run_opts = _split_options(options)
        if plan_opts or by not in (("agent",), query.by):
            raise InvalidQueryError(
                next(iter(plan_opts), "by"),
                "cannot change a plan that is already made",
                "only run options with a plan: " + ", ".join(sorted(_RUN_OPTIONS)),
            )
        return run_plan(client, query, **run_opts)
    plan = plan_breakdown(client, query, by, **options)
    return run_plan(client, plan)
