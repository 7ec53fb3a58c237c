"""Benchmarks 1, 2 and 7: cold, warm and restarted breakdowns against the two peers.

The peers are the naive loop (benchmarks/naive.py) and the careful analyst's cached loop
(benchmarks/peer.py). Every call is counted from the stand-in's request log (lookups and
retries included), not from what either side says about itself. Everything runs under the
transfer model (latency plus bytes at a throughput, benchmarks/sides.py `set_transfer`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import naive, peer, sides
from benchmarks.harness import Config, Row, Timing, timed


def _emptied_cache(s: Any, root: Path, name: str) -> Path:
    """The cache file `name` in `root`, emptied: no answers (nor anything kept parsed beside
    them), but its secret file is kept.

    "Cold" is the analyst's kernel with an empty cache: the credential tag, derived once
    per kernel and cache (scrypt, about 50 ms here), is not derived again on every
    repetition. A restarted kernel pays it: that is figure 2c.
    """
    path = root / f"{name}.sqlite"
    if not path.with_name(path.name + ".secret").exists():  # first use: derive the tag once
        sides.prime_credentials(s, path)
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        part.unlink(missing_ok=True)
    # the parsed answers and kept joins beside it (parsed_store.py) go with the answers
    shutil.rmtree(path.with_name(path.name + ".parsed"), ignore_errors=True)
    return path


@dataclass
class Ours:
    """vitec_nb's cold, warm and restarted-kernel runs and the calls each made."""

    cold: Timing = field(default_factory=Timing)
    warm: Timing = field(default_factory=Timing)
    restarted: Timing = field(default_factory=Timing)
    cold_calls: list[int] = field(default_factory=list)
    warm_calls: list[int] = field(default_factory=list)
    restart_calls: list[int] = field(default_factory=list)


def _add(into: Timing, run: Timing) -> None:
    into.times += run.times
    into.cpu += run.cpu
    into.value = run.value


def cold_and_warm(cfg: Config, s: Any, log: list[str], careful: bool = True) -> list[Row]:
    """Benchmarks 1, 2 (and 7 with `careful`) on the stand-in `s`, under the model."""
    customer_id, agents = sides.office_and_agents(s, cfg.agents)
    start, end = sides.months_window(s, cfg.months)
    truth = sides.truth_counts(s, customer_id, agents, start, end)
    paced = sides.set_transfer(s, cfg.latency, cfg.throughput)
    log.append(
        f"breakdown: {cfg.contacts} contacts, office {customer_id}, {len(agents)} agents, "
        f"{cfg.months} months from {start:%Y-%m}; {cfg.model()}"
        + ("" if paced or not cfg.throughput else f" ({sides.THROUGHPUT_UNSUPPORTED})")
    )
    naive_run, naive_calls = _naive(cfg, s, customer_id, agents, start, truth, log)

    ours: Ours | None = None
    error = ""
    try:
        ours = _ours_cold_warm(cfg, s, customer_id, agents, start, end, truth, log)
    except Exception as exc:  # vitec_nb's side missing or broken: keep the baselines
        log.append(f"vitec_nb breakdown FAILED: {type(exc).__name__}: {exc}")
        error = f"{type(exc).__name__}: {exc}"[:90]
    rows = _rows(ours, naive_run, naive_calls, error)
    if careful:
        rows += _careful_rows(cfg, s, customer_id, agents, start, ours, error, log)
    return rows


def _naive(
    cfg: Config, s: Any, customer_id: str, agents: list[str], start: Any, truth: Any, log: list
) -> tuple[Timing, float]:
    """The naive loop, `cfg.naive_reps` times; its calls a run and how far off it is."""
    s.clear_requests()
    auth = (s.username, s.password)
    naive_run = timed(
        lambda: naive.naive_breakdown(s.url, auth, customer_id, agents, start, cfg.months),
        cfg.naive_reps,
    )
    naive_calls = len(s.requests) / naive_run.runs
    missed = int((truth - naive_run.value[0]).to_numpy().sum())
    log.append(
        f"naive loop: {naive_calls:.0f} calls a run, counts "
        + ("equal the ground truth" if missed == 0 else f"miss {missed} contacts")
        + f" (month ends written as T23:59:59); process CPU time {naive_run.cpu_median:.2f} s"
    )
    return naive_run, naive_calls


def _median_calls(calls: list[int]) -> float | None:
    return float(sorted(calls)[len(calls) // 2]) if calls else None


def _rows(ours: Ours | None, naive_run: Timing, naive_calls: float, error: str) -> list[Row]:
    """The rows of benchmarks 1 and 2 (with `error` instead of vitec_nb's values)."""
    o = ours or Ours()
    cold = o.cold.median if o.cold.runs else None
    runs = f"{o.cold.runs} / naive {naive_run.runs}"
    warm = str(o.warm.runs)
    no_calls = not any(o.restart_calls) if o.restart_calls else None
    # figure, unit, vitec_nb, baseline, its label, target (words), target fields, runs
    table: list[tuple[str, str, float | None, float | None, str, str, dict, str]] = [
        ("1a cold breakdown: calls", "calls", _median_calls(o.cold_calls), naive_calls,
         "naive loop", "≤ 1/10 of naive", {"target_ratio": 0.1}, runs),
        ("1b cold breakdown: wall time", "s", cold, naive_run.median,
         "naive loop", "≤ 1/15 of naive", {"target_ratio": 1 / 15}, runs),
        ("2a warm breakdown: wall time", "s", o.warm.median if o.warm.runs else None, cold,
         "vitec_nb cold", "≤ 5 % of cold", {"target_ratio": 0.05}, warm),
        ("2b warm breakdown: calls", "calls", max(o.warm_calls, default=None), naive_calls,
         "naive loop", "0 calls", {"target_value": 0}, warm),
        ("2c warm, restarted kernel on the same cache", "s",
         o.restarted.median if o.restarted.runs else None, cold, "vitec_nb cold",
         "≤ 10 % of cold, 0 calls", {"target_ratio": 0.10, "condition": no_calls}, warm),
    ]  # fmt: skip
    return [
        Row(figure, unit, ours_v, base, label, target, runs=n, error=error, **targets)
        for figure, unit, ours_v, base, label, target, targets, n in table
    ]


def _careful_rows(
    cfg: Config,
    s: Any,
    customer_id: str,
    agents: list[str],
    start: Any,
    ours: Ours | None,
    error: str,
    log: list[str],
) -> list[Row]:
    """Benchmark 7: vitec_nb beside the careful analyst, cold, warm and restarted."""
    try:
        c = peer.careful(s, customer_id, agents, start, cfg.months, cfg.naive_reps)
    except Exception as exc:
        log.append(f"careful analyst FAILED: {type(exc).__name__}: {exc}")
        why = f"careful analyst: {type(exc).__name__}: {exc}"[:90]
        return [Row(f, "s", error=why) for f in FIGURES_7]
    log.append(c.summary())
    o = ours or Ours()
    phases = (
        ("cold", o.cold, c.cold),
        ("warm", o.warm, c.warm),
        ("restarted", o.restarted, c.restarted),
    )
    rows = []
    for figure, (phase, mine, theirs) in zip(FIGURES_7, phases, strict=True):
        calls, reads = max(c.server_calls[phase]), max(c.cache_reads[phase])
        rows.append(
            Row(
                figure,
                "s",
                mine.median if mine.runs else None,
                theirs.median,
                f"careful analyst: {calls} calls, {reads} cache reads",
                "(information)",
                runs=f"{mine.runs} / careful {theirs.runs}",
                error=error,
            )
        )
    return rows


FIGURES_7 = (
    "7a careful analyst (requests-cache): cold",
    "7b careful analyst: warm",
    "7c careful analyst: restarted kernel",
)


def _ours_cold_warm(
    cfg: Config,
    s: Any,
    customer_id: str,
    agents: list[str],
    start: Any,
    end: Any,
    truth: Any,
    log: list[str],
) -> Ours:
    """vitec_nb cold, warm, then in a new process, on an emptied cache for every repetition."""
    o = Ours()
    with tempfile.TemporaryDirectory(prefix="vitec-bench-") as tmp:
        for _ in range(cfg.reps):
            cache = _emptied_cache(s, Path(tmp), "cold")
            client = sides.connect(s, cache)
            for timing, calls in ((o.cold, o.cold_calls), (o.warm, o.warm_calls)):
                s.clear_requests()
                _add(
                    timing,
                    timed(lambda c=client: _breakdown(c, customer_id, agents, start, end), 1),
                )
                calls.append(len(s.requests))
            s.clear_requests()
            elapsed, cpu = _in_new_process(s, cache, customer_id, agents, start, end)
            o.restarted.times.append(elapsed)
            o.restarted.cpu.append(cpu)
            o.restart_calls.append(len(s.requests))
            client.close()
    same = sides.result_counts(o.cold.value, agents, start).equals(truth)
    log.append(
        f"vitec_nb: {o.cold_calls} calls cold, {o.warm_calls} warm; counts "
        + ("equal the ground truth" if same else "DIFFER from the ground truth")
    )
    log.append(
        f"vitec_nb process CPU time (median): cold {o.cold.cpu_median:.3f} s, warm "
        f"{o.warm.cpu_median:.3f} s, new process on the same cache {o.restarted.cpu_median:.3f} s "
        f"({o.restart_calls} calls)"
    )
    return o


def _breakdown(client: Any, customer_id: str, agents: list[str], start: Any, end: Any) -> Any:
    return sides.breakdown(client, customer_id, agents, start, end)


# A restarted kernel: a fresh interpreter that connects to the same cache file and runs the
# same breakdown (only the breakdown is timed, not Python's start-up or the imports).
_RESTART = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from benchmarks import sides
import pandas as pd
import vitec_nb
a = json.loads(sys.argv[2])
client = vitec_nb.connect(a["url"], username=a["username"], password=a["password"],
                          cache=a["cache"])
start, end = pd.Timestamp(a["start"]), pd.Timestamp(a["end"])
cpu, t = time.process_time(), time.perf_counter()
sides.breakdown(client, a["customer_id"], a["agents"], start, end)
print(json.dumps([time.perf_counter() - t, time.process_time() - cpu]))
"""


def _in_new_process(
    s: Any, cache: Path, customer_id: str, agents: list[str], start: Any, end: Any
) -> tuple[float, float]:
    """(wall, CPU) seconds of the breakdown in a new Python process on the same cache."""
    args = {
        "url": s.url,
        "username": s.username,
        "password": s.password,
        "cache": str(cache),
        "customer_id": customer_id,
        "agents": agents,
        "start": str(start),
        "end": str(end),
    }
    root = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run(
        [sys.executable, "-c", _RESTART, root, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise RuntimeError(f"the restarted-kernel run failed: {done.stderr[-1500:]}")
    wall, cpu = json.loads(done.stdout.strip().splitlines()[-1])
    return float(wall), float(cpu)
