"""Benchmark 5: a cold breakdown at 1, 2, 4 and 8 concurrent calls against the ideal.

Under the transfer model a call costs its latency plus its bytes at the throughput, so calls
differ: the ideal at a level is the best schedule of those costs on that many connections
(longest first; with equal costs it is ceil(calls / level) × latency). The measured floor is
bare `requests` replaying the very calls vitec_nb made (from the stand-in's request log) on
as many threads: no parsing, no cache.
"""

from __future__ import annotations

import heapq
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

from benchmarks import sides
from benchmarks.bench_breakdown import _emptied_cache
from benchmarks.harness import Config, Row, Timing, timed


def ideal_time(costs: list[float], level: int) -> float:
    """The makespan of `costs` on `level` connections, longest first (LPT)."""
    slots = [0.0] * max(1, level)
    for cost in sorted(costs, reverse=True):
        heapq.heappush(slots, heapq.heappop(slots) + cost)
    return max(slots) if costs else 0.0


def concurrency(cfg: Config, s: Any, log: list[str]) -> list[Row]:
    """Benchmark 5 at every level; the top level with the bare-requests floor beside it."""
    lat = cfg.concurrency_latency
    top = max(cfg.concurrency_levels)
    with tempfile.TemporaryDirectory(prefix="vitec-bench-") as tmp:
        customer_id, agents = sides.office_and_agents(s, cfg.agents)
        start, end = sides.months_window(s, cfg.months)
        paced = sides.set_transfer(s, lat, cfg.throughput)
        runs: dict[int, dict[str, Any]] = {}
        for level in cfg.concurrency_levels:  # levels below the top are information: 3 runs
            reps = cfg.reps if level == top else min(cfg.reps, 3)
            runs[level] = _level(s, Path(tmp), customer_id, agents, start, end, level, reps)
        calls = runs[top]["log"]
        bare, sizes = _bare_http(s, calls, top, cfg.reps)
    costs = [sides.transfer_cost(n, lat, cfg.throughput, paced) for n in sizes]
    model = cfg.model(lat) + ("" if paced or not cfg.throughput else " (bytes not paced)")
    lookups = sum(not r.path.startswith("/CRM/Contact/") for r in calls)
    log.append(
        f"concurrency: {model}; levels {cfg.concurrency_levels}; {len(calls)} calls "
        f"({lookups} of them lookups), {sum(sizes) / 1e6:.1f} MB in all, largest "
        f"{max(sizes, default=0) / 1e6:.2f} MB; ideal = the longest-first schedule of each "
        "call's latency + bytes / throughput on that many connections"
    )
    rows = [_level_row(level, r, costs, top, log) for level, r in runs.items()]
    log.append(_timeline(runs[top], sizes))
    ideal = ideal_time(costs, top) or float("nan")
    ours_top = Timing(runs[top]["times"]).median
    log.append(
        f"concurrency {top}, bare requests (the same {len(calls)} calls, no parsing, no cache): "
        f"{bare.median:.3f} s = {bare.median / ideal:.2f} × ideal, process CPU "
        f"{bare.cpu_median:.3f} s; vitec_nb {ours_top / bare.median:.2f} × bare"
    )
    rows.append(
        Row(
            f"5  concurrency {top}: bare requests (floor)",
            "s",
            bare.median,
            ideal,
            f"ideal, {len(costs)} calls",
            "(information: the measured floor)",
            runs=str(bare.runs),
        )
    )
    return rows


def _timeline(run: dict[str, Any], sizes: list[int]) -> str:
    """When the last run's lookups ended and its largest answer was asked for (server times).

    An ideal schedule starts the largest answer first; the lookups come before any call
    that needs them. Read from the stand-in's request log (when it received each request).
    """
    calls = run["log"]
    if not calls or len(sizes) != len(calls):
        return "concurrency timeline: no calls logged"
    sent = [r.time - run["epoch"] for r in calls]
    contact = [t for t, r in zip(sent, calls, strict=True) if r.path.startswith("/CRM/Contact/")]
    big = max(range(len(sizes)), key=sizes.__getitem__)
    return (
        f"concurrency timeline (last run at the top level, seconds after the breakdown "
        f"began): first contact call received at +{min(contact, default=0):.3f} s; the "
        f"largest answer ({sizes[big] / 1e6:.2f} MB, {calls[big].path}) asked for at "
        f"+{sent[big]:.3f} s, as call {sorted(sent).index(sent[big]) + 1} of {len(calls)}"
    )


def _level_row(level: int, r: dict[str, Any], costs: list[float], top: int, log: list) -> Row:
    """The row of one level (the top one has the target) and its log line."""
    ideal = ideal_time(costs, level) or float("nan")
    wall, fetch = Timing(r["times"]).median, Timing(r["fetch"]).median
    log.append(
        f"concurrency {level}: {max(r['calls'])} calls, fetch phase (until the last answer "
        f"is in) {fetch:.3f} s = {fetch / ideal:.2f} × ideal; whole breakdown {wall:.3f} s; "
        f"most requests in flight at the stand-in {max(r['in_flight'])}"
    )
    return Row(
        f"5  concurrency {level}: wall vs ideal",
        "s",
        wall,
        ideal,
        f"ideal, {len(costs)} calls",
        "≤ 1.15 × ideal" if level == top else "(information)",
        target_ratio=1.15 if level == top else None,
        runs=str(len(r["times"])),
    )


def _level(
    s: Any,
    tmp: Path,
    customer_id: str,
    agents: list[str],
    start: Any,
    end: Any,
    level: int,
    reps: int,
) -> dict[str, Any]:
    """`reps` cold breakdowns at `level`: wall, fetch phase, calls, in flight, last log."""
    out: dict[str, Any] = {"times": [], "fetch": [], "calls": [], "in_flight": [], "log": []}
    for _ in range(reps):
        # connect(concurrency=) is the one limit of requests in flight (a breakdown's own
        # lower limit would hold each whole call, parsing and storing included)
        client = sides.connect(s, _emptied_cache(s, tmp, "cold"), concurrency=level)
        s.clear_requests()
        last = [0.0]  # when the last call's answer was in: the end of the fetch phase

        def progress(done: int, total: int, last: list[float] = last) -> None:
            if done == total:
                last[0] = time.perf_counter()

        out["epoch"], begin = time.time(), time.perf_counter()
        sides.breakdown(
            client, customer_id, agents, start, end, concurrency=level, progress=progress
        )
        out["times"].append(time.perf_counter() - begin)
        out["fetch"].append((last[0] or time.perf_counter()) - begin)
        out["log"] = [r for r in s.requests if r.method == "GET" and r.status == 200]
        out["calls"].append(len(s.requests))
        out["in_flight"].append(s.max_in_flight)
        client.close()
    return out


def _bare_http(s: Any, calls: list[Any], level: int, reps: int) -> tuple[Timing, list[int]]:
    """The logged calls again with bare `requests` on `level` threads; bytes of each answer.

    Shows what the stand-in and the transfer model themselves allow, so the gap between
    vitec_nb and the ideal can be told apart from the server's own cost.
    """
    import requests

    sessions: dict[int, requests.Session] = {}
    auth = (s.username, s.password)

    def get(record: Any) -> int:
        session = sessions.setdefault(threading.get_ident(), requests.Session())
        headers = {"Accept": record.accept} if record.accept else {}
        url = s.url + quote(record.path, safe="/,")
        response = session.get(url, params=record.params, auth=auth, headers=headers)
        response.raise_for_status()
        return len(response.content)

    def run() -> list[int]:
        with ThreadPoolExecutor(level) as pool:
            return list(pool.map(get, calls))

    bare = timed(run, reps, warmup=1)
    for session in sessions.values():
        session.close()
    return bare, list(bare.value or [])
