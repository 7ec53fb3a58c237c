"""The join memo: joined breakdowns kept beside the cache, this process's recent ones in front."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import pickle
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import cachetools
import pandas as pd

from vitec_nb import __version__
from vitec_nb.parsed_frames import Unstorable, pack_join
from vitec_nb.plan.result import BreakdownResult
from vitec_nb.plan.values import BreakdownPlan

__all__ = ["JOIN_MEMO", "JoinMemo", "MemoKey"]

logger = logging.getLogger("vitec_nb")


@dataclasses.dataclass(frozen=True)
class MemoKey:
    """What a joined breakdown is kept under. `name` hashes the plan (apart from when it was
    made), the cache key of each office's base call (it pins the server, the credential's
    tag, the format and the key function; with the plan and this version of vitec_nb, the
    other calls' keys follow) and vitec_nb's version. `entries`, when it is kept: each
    call's cache key and the identity (version or digest) of the entry it was read from;
    a kept join is used only while every one of them is current and fresh."""

    store: Any  # the parsed store of the client's cache (parsed_store.py)
    name: str
    plan: Any = dataclasses.field(compare=False, repr=False)
    entries: tuple[tuple[str, str], ...] = ()


class JoinMemo:
    """Joined breakdowns kept beside the cache (parsed_store: one record per join, tied to
    the entries it came from) with this process's recent ones in front (an LRU, bounded by
    facts rows), so a re-run, or a restarted kernel, whose every call's entry is unchanged
    and fresh skips reading the answers and the join (docs/caching.md).

    A join is reused only for the same plan (planned_at aside) and the very same entries:
    each call's cache key and the identity of the entry its answer was read from, checked
    current on every use. The join is deterministic, so a match gives exactly what joining
    again would. Thread-safe.
    """

    def __init__(self, max_rows: int = 1_000_000) -> None:
        self._recent: cachetools.LRUCache[str, tuple[BreakdownResult, tuple[Any, ...]]]
        self._recent = cachetools.LRUCache(max_rows, getsizeof=lambda r: max(len(r[0].facts), 1))
        self._lock = threading.Lock()
        self._stores: weakref.WeakSet[Any] = weakref.WeakSet()  # where joins were kept
        self.hits = 0  # lookups answered from the memo (a count; tests read it)
        self.misses = 0  # lookups that found nothing, so the join ran

    @staticmethod
    def key(
        store: Any,
        plan: BreakdownPlan,
        anchors: Sequence[str],
        entries: Sequence[tuple[str, str]] = (),
    ) -> MemoKey:
        plain = dataclasses.replace(plan, planned_at=None)
        named = (plain, tuple(anchors), __version__)
        digest = hashlib.sha256(pickle.dumps(named, protocol=5)).hexdigest()
        return MemoKey(store, digest, plan, tuple(entries))

    def get(self, key: MemoKey) -> BreakdownResult | None:
        with self._lock:
            item = self._recent.get(key.name)
        joined = None
        if item is not None and _current(key.store, item[1]):
            joined = item[0]
        elif key.store is not None:
            found = _kept_join(key)
            if found is not None:
                joined = found[0]
                with self._lock:
                    self._recent[key.name] = found
        with self._lock:
            if joined is None:
                self.misses += 1
            else:
                self.hits += 1
        return joined

    def put(self, key: MemoKey, result: BreakdownResult) -> None:
        with self._lock:
            self._recent[key.name] = (result, key.entries)
        if key.store is not None:
            with self._lock:
                self._stores.add(key.store)
            _keep_join(key, result)

    def clear(self) -> None:
        """Forget every join: this process's recent ones and those it kept beside a cache."""
        with self._lock:
            self._recent.clear()
            stores = list(self._stores)
        for store in stores:
            store.clear_joins()


JOIN_MEMO = JoinMemo()


def _current(store: Any, entries: Sequence[Sequence[str]]) -> bool:
    """Whether every entry is still stored, fresh and of the same identity (version)."""
    if store is None or not entries:
        return False
    return store.versions([key for key, _ in entries]) == [token for _, token in entries]


def _keep_join(key: MemoKey, result: BreakdownResult) -> None:
    """Keep `result` beside the cache, if its frames can be rebuilt exactly."""
    header = {
        "entries": [list(e) for e in key.entries],
        "warnings": list(result.warnings),
        "checks": list(result.checks),
        "demo": bool(result.demo),
        "fetched_at": _stamp(result.fetched_at),
    }
    try:
        packed = pack_join(header, [result.facts, result.counts, result.conflicts])
    except Unstorable as exc:
        logger.debug("breakdown join not kept beside the cache (%s)", exc)
        return
    key.store.put_join(key.name, packed)


def _kept_join(key: MemoKey) -> tuple[BreakdownResult, tuple[Any, ...]] | None:
    """(the join kept beside the cache under `key`, rebuilt; its entries) if every entry is
    current; None otherwise (or damaged)."""
    found = key.store.get_join(key.name)
    if found is None:
        return None
    header, (facts, counts, conflicts) = found
    entries = tuple((k, v) for k, v in header["entries"])
    joined = BreakdownResult(
        plan=None,  # type: ignore[arg-type]  # the caller's plan replaces it
        facts=facts,
        counts=counts,
        calls=0,
        cached_calls=0,
        warnings=list(header["warnings"]),
        conflicts=conflicts,
        incomplete=pd.DataFrame(),  # none: a join with a failed call is never kept
        demo=bool(header["demo"]),
        fetched_at=_unstamp(header["fetched_at"]),
        checks=list(header["checks"]),
    )
    return joined, entries


def _stamp(when: pd.Timestamp | None) -> list[Any] | None:
    """A time as [nanoseconds since the epoch, time zone name]: rebuilt in its own zone."""
    if when is None:
        return None
    return [int(when.value), None if when.tz is None else str(when.tz)]


def _unstamp(stamp: list[Any] | None) -> pd.Timestamp | None:
    if stamp is None:
        return None
    when = pd.Timestamp(stamp[0])
    return when if stamp[1] is None else when.tz_localize("UTC").tz_convert(stamp[1])
