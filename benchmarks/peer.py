"""The second peer (issue 13): the careful analyst's notebook, the naive loop on requests-cache.

The same per-cell loop as benchmarks/naive.py (one call per agent × month, `json.loads` +
DataFrame + `to_datetime` per answer), sent through a requests-cache `CachedSession` on a
SQLite file: 480 calls cold; warm, no call but 480 cache reads and parses; a restarted
kernel reads the same file in a new process. Calls are counted from the stand-in's log.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import naive
from benchmarks.harness import Timing, timed

ROOT = Path(__file__).resolve().parent.parent

# A restarted kernel: a fresh interpreter, imports done, the loop on the same cache file.
_RESTART = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
import pandas as pd
from benchmarks import naive
a = json.loads(sys.argv[2])
session = naive.careful_session(Path(a["cache"]))
start = pd.Timestamp(a["start"])
cpu, t = time.process_time(), time.perf_counter()
_, calls, cached = naive.naive_breakdown(a["url"], (a["username"], a["password"]),
                                         a["customer_id"], a["agents"], start, a["months"],
                                         session=session)
print(json.dumps([time.perf_counter() - t, time.process_time() - cpu, calls, cached]))
"""


@dataclass
class Careful:
    """The careful analyst's times (cold, warm, restarted) and what each run did."""

    cold: Timing = field(default_factory=Timing)
    warm: Timing = field(default_factory=Timing)
    restarted: Timing = field(default_factory=Timing)
    server_calls: dict[str, list[int]] = field(default_factory=dict)  # from the stand-in
    cache_reads: dict[str, list[int]] = field(default_factory=dict)  # from requests-cache

    def note(self, phase: str, server: int, reads: int) -> None:
        self.server_calls.setdefault(phase, []).append(server)
        self.cache_reads.setdefault(phase, []).append(reads)

    def summary(self) -> str:
        parts = [
            f"{phase} {max(calls)} calls, {max(self.cache_reads[phase])} cache reads"
            for phase, calls in self.server_calls.items()
        ]
        return (
            "careful analyst (the naive loop on a requests-cache CachedSession): "
            + "; ".join(parts)
            + f"; process CPU time (median) cold {self.cold.cpu_median:.2f} s, warm "
            f"{self.warm.cpu_median:.3f} s, restarted {self.restarted.cpu_median:.3f} s"
        )


def careful(
    s: Any, customer_id: str, agents: list[str], start: Any, months: int, reps: int
) -> Careful:
    """Cold (`reps` runs, each on a new cache file), then warm and restarted after each."""
    out = Careful()
    auth = (s.username, s.password)
    with tempfile.TemporaryDirectory(prefix="vitec-bench-careful-") as tmp:
        for rep in range(reps):
            path = Path(tmp) / f"careful-{rep}.sqlite"
            session = naive.careful_session(path)

            def loop(session: Any = session) -> tuple[Any, int, int]:
                return naive.naive_breakdown(
                    s.url, auth, customer_id, agents, start, months, session=session
                )

            for phase, timing in (("cold", out.cold), ("warm", out.warm)):
                s.clear_requests()
                run = timed(loop, 1)
                timing.times += run.times
                timing.cpu += run.cpu
                out.note(phase, len(s.requests), run.value[2])
            session.close()
            s.clear_requests()
            wall, cpu, _, cached = _restarted(s, path, customer_id, agents, start, months)
            out.restarted.times.append(wall)
            out.restarted.cpu.append(cpu)
            out.note("restarted", len(s.requests), cached)
    return out


def _restarted(
    s: Any, cache: Path, customer_id: str, agents: list[str], start: Any, months: int
) -> tuple[float, float, int, int]:
    """(wall, CPU, requests, cache reads) of the loop in a new process on the same file."""
    args = {
        "url": s.url,
        "username": s.username,
        "password": s.password,
        "cache": str(cache),
        "customer_id": customer_id,
        "agents": agents,
        "start": str(start),
        "months": months,
    }
    done = subprocess.run(
        [sys.executable, "-c", _RESTART, str(ROOT), json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise RuntimeError(f"the careful analyst's restarted run failed: {done.stderr[-1500:]}")
    wall, cpu, calls, cached = json.loads(done.stdout.strip().splitlines()[-1])
    return float(wall), float(cpu), int(calls), int(cached)
