"""Execution: run a plan's calls concurrently through the cached client, then join the answers."""

from __future__ import annotations

import dataclasses
import logging
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
from vitec_nb.plan.join import _arrow_ids, _incomplete, _join
from vitec_nb.plan.memo import JOIN_MEMO, MemoKey
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
from vitec_nb.provenance import provenance_of, set_provenance
from vitec_nb.query import ContactQuery

__all__ = ["JOIN_MEMO", "MissingCall", "cached_calls", "run_plan"]

logger = logging.getLogger("vitec_nb")


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


def _limited(
    slots: threading.Semaphore | None, fetch: Callable[..., Any], *args: Any, **kw: Any
) -> Any:
    """`fetch(*args, **kw)`, holding one of the run's own `slots` for the whole call (None:
    the client's limit of requests in flight, `connect(concurrency=)`, is the run's)."""
    if slots is None:
        return fetch(*args, **kw)
    with slots:
        return fetch(*args, **kw)


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
    # the entry identity the answering thread last read or wrote (the caller's thread: None)
    seen: dict[ContactQuery, str | None] = dataclasses.field(default_factory=dict)
    from_cache: set[ContactQuery] = dataclasses.field(default_factory=set)
    ids: dict[ContactQuery, pa.Array] = dataclasses.field(default_factory=dict)
    stale: list[PlannedCall] = dataclasses.field(default_factory=list)
    fetched: int = 0
    cached: int = 0
    failed_requests: int = 0
    done: int = 0
    demo: bool = False
    fetched_at: pd.Timestamp | None = None  # the oldest answer's fetch time

    def take(
        self,
        call: PlannedCall,
        frame: Any = None,
        error: VitecError | None = None,
        seen: str | None = None,
    ) -> None:
        self.done += 1
        if error is not None:
            self.failures[call.query] = MissingCall(call, error)
            if not isinstance(error, NotCachedError):
                self.failed_requests += 1
            return
        came = provenance_of(frame)
        self.seen[call.query] = seen
        if came.from_cache:
            self.from_cache.add(call.query)
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
        if when is not None and (self.fetched_at is None or when < self.fetched_at):
            self.fetched_at = when
        # pandas copies attrs (deeply) on every operation: the join needs none
        set_provenance(frame, None)
        self.answers[call.query] = frame


def _seen_after(client: Any, store: Any, query: ContactQuery, **kw: Any) -> tuple[Any, Any]:
    """`client.contacts(query)` and the entry identity this thread then last read or wrote."""
    frame = client.contacts(query, **kw)
    return frame, (store.seen(_entry_key(client, query)) if store is not None else None)


def _fetch(client: Any, plan: BreakdownPlan, run: RunOptions, store: Any = None) -> _Fetched:
    """Every call once: answers held parsed in this process at once, the rest on threads."""
    workers = client_concurrency(client, run.concurrency)
    update, close = _progress_sink(run.progress, plan.n_calls, "Breakdown")
    got = _Fetched(demo=bool(getattr(client, "is_demo", False)))
    # `workers` requests in flight at most. The client holds each of its requests to its own
    # limit from sending until the body is in, so twice as many threads let one thread parse
    # and store an answer while the next request goes out; a lower limit asked for this run
    # holds a slot of its own for each whole call
    pool = _pool(2 * workers)
    own = workers != getattr(client, "concurrency", None)
    slots = threading.BoundedSemaphore(workers) if own else None
    pending: dict[Future[tuple[Any, Any]], PlannedCall] = {}
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
            task = pool.submit(_limited, slots, _seen_after, client, store, call.query, **kw)
            pending[task] = call
        for future in as_completed(list(pending)):
            call = pending.pop(future)
            try:
                frame, seen = future.result()
                got.take(call, frame, seen=seen)
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


def _answer_store(client: Any) -> Any:
    """The parsed store of the client's cache (parsed_store.py), or None (other backends)."""
    return getattr(client, "answer_store", None)


def _entry_key(client: Any, query: ContactQuery) -> str:
    """The cache key of a plan's call (one office, JSON), as the client computes it."""
    return str(client.entry_key(query))


def _entries(client: Any, plan: BreakdownPlan, store: Any) -> tuple[list[str], list[Any]]:
    """Each call's cache key and its entry's identity now (None: missing or expired)."""
    keys = [_entry_key(client, call.query) for call in plan.calls]
    return keys, store.versions(keys)


def _memo_key(
    client: Any, plan: BreakdownPlan, got: _Fetched, store: Any, before: Sequence[Any]
) -> MemoKey | None:
    """The memo key of the entries this run's answers were read from, if every one is
    known: an answer counts only if its entry is unchanged since it was read. Identities
    never repeat (SQLite: a new random version on every write; Redis: the bytes' SHA-1),
    so an entry found with the same identity before the read (or by the answering thread
    at the read) and after it is the one read."""
    if store is None or got.failures or got.stale:
        return None
    keys, after = _entries(client, plan, store)
    entries = []
    for call, key, was, now in zip(plan.calls, keys, before, after, strict=True):
        seen = got.seen.get(call.query)
        cached = call.query in got.from_cache
        unchanged = cached and seen is None and was == now  # read here, before 'after'
        own = seen == now and (cached or seen != was)  # read, or written, by its thread
        if now is None or not (unchanged or own):
            return None
        entries.append((key, now))
    return JOIN_MEMO.key(store, plan, _anchors(client, plan), entries)


def _anchors(client: Any, plan: BreakdownPlan) -> list[str]:
    """The cache key of each office's base call (what a kept join is looked up by)."""
    return [_entry_key(client, op.base.query) for op in plan.offices]


def _joined(
    client: Any, plan: BreakdownPlan, got: _Fetched, memo: MemoKey | None
) -> BreakdownResult:
    """The join (kept under `memo`, when every answer's entry is known), as the result."""
    joined = _join(plan, got.answers, got.failures, got.demo, got.ids)
    joined = dataclasses.replace(joined, fetched_at=got.fetched_at)  # the oldest answer's
    if memo is not None:
        JOIN_MEMO.put(memo, joined)
    return _result(client, plan, joined, got.fetched + got.failed_requests, got.cached)


def _result(
    client: Any, plan: BreakdownPlan, joined: BreakdownResult, calls: int, cached: int
) -> BreakdownResult:
    """The caller's result: shallow copies (copy-on-write; the caller may change its frames,
    never the memo's) with this run's plan, counts of calls and client."""
    result = dataclasses.replace(
        joined,
        plan=plan,
        facts=joined.facts.copy(deep=False),
        counts=joined.counts.copy(deep=False),
        conflicts=joined.conflicts.copy(deep=False),
        incomplete=joined.incomplete if len(joined.incomplete.columns) else _incomplete(plan, {}),
        calls=calls,
        cached_calls=cached,
        client=client,
    )
    came = provenance_of(result.facts)
    came = dataclasses.replace(came, fetched_at=result.fetched_at, demo=result.demo)
    set_provenance(result.facts, came)
    return result


def _remembered(client: Any, plan: BreakdownPlan, run: RunOptions) -> Any:
    """(the result from the memo, or None; if None, each call's entry identity before
    fetching, for keeping the join after it).

    A restarted kernel whose every call's entry is unchanged and fresh computes one cache
    key per office, reads the kept join and its entries' identities (one indexed read
    each): no answer is read."""
    store = _answer_store(client)
    if store is None:
        return None, None
    if run.refresh:
        return None, [None] * plan.n_calls
    joined = JOIN_MEMO.get(JOIN_MEMO.key(store, plan, _anchors(client, plan)))
    if joined is None:
        return None, _entries(client, plan, store)[1]
    for note in joined.warnings:  # what joining again would have said
        warnings.warn(note, BreakdownWarning, stacklevel=4)
    update, close = _progress_sink(run.progress, plan.n_calls, "Breakdown")
    update(plan.n_calls)
    close()
    logger.debug("breakdown of %d calls answered by its kept join", plan.n_calls)
    return _result(client, plan, joined, 0, plan.n_calls), None


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
    remembered, before = _remembered(client, plan, run)
    if remembered is not None:
        return remembered
    store = _answer_store(client)
    got = _fetch(client, plan, run, store)
    memo = _memo_key(client, plan, got, store, before) if before is not None else None
    result = _joined(client, plan, got, memo)
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
