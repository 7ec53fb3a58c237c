"""Benchmark A (ablation): each speed optimisation on and off, measured on the figure it serves.

Issue 15: an optimisation is kept only where a benchmark shows it matters. For every switch
in benchmarks/ablation_switches.py the benchmark figure it serves is measured with it on
and with it off in the same run, runs interleaved (on, then each switch off, the order
rotated every repetition) so that the host's drift hits every variant alike:

- 3a / 3c: one office's whole answer (JSON, XML) parsed from memory, as benchmark 3;
- 2a: the same breakdown again on the same client (warm), as benchmark 2;
- 2c: that breakdown in a new Python process on the same cache file, as figure 2c;
- 5: a cold breakdown at the top concurrency level under its latency, as benchmark 5;
- 6a: the form's filter change to drawn chart, every answer cached, as benchmark 6.

Each repetition runs on and off next to each other, so a repetition is a pair: a switch is
"visible" (kept) when off is the slower of its pair in at least 80 % of the repetitions
(3 of 3, 9 of 11), and its saving is the median of the pairs' differences; otherwise the
saving is within this run's noise. Each variant's answer is checked against
the on variant's (same counts, same frame): an optimisation never changes a result.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import bench_form, bench_parse, sides
from benchmarks.ablation_switches import SWITCHES, Absent, Switch, switched_off
from benchmarks.bench_breakdown import _emptied_cache
from benchmarks.harness import Config, aligned

ROOT = Path(__file__).resolve().parent.parent
NOT_PRESENT = "(not present in this code)"
VISIBLE = 0.8  # share of the repetitions in which off must be the slower run: "kept"
# group -> the figure it measures (in words); groups run in this order
GROUPS: dict[str, str] = {
    "json": "3a parsing, JSON",
    "xml": "3c parsing, XML",
    "warm": "2a warm breakdown",
    "restart": "2c restarted kernel",
    "cold": "5 cold breakdown at 8",
    "form": "6a form: change to chart",
}
# A run: seconds and a check value (equal for every variant, or a result changed).
Run = Callable[[Switch | None], tuple[float, Any]]


@dataclass
class Result:
    """One switch's runs: seconds with everything on and with it off (same repetitions)."""

    switch: Switch
    figure: str
    on: list[float] = field(default_factory=list)
    off: list[float] = field(default_factory=list)
    absent: str = ""  # what is missing from the code (the row is skipped)
    error: str = ""
    same_result: bool = True

    @property
    def pairs(self) -> list[tuple[float, float]]:
        """(on, off) of each repetition: measured next to each other, so drift cancels."""
        return list(zip(self.on, self.off, strict=False))

    @property
    def saving(self) -> float | None:
        """The median of each repetition's off - on (what switching it off costs)."""
        pairs = self.pairs
        return statistics.median(off - on for on, off in pairs) if pairs else None

    @property
    def slower(self) -> int:
        """In how many repetitions the run with it off was the slower one."""
        return sum(off > on for on, off in self.pairs)

    @property
    def visible(self) -> bool:
        """Off slower in at least VISIBLE of the repetitions (3 of 3, 9 of 11)."""
        return bool(self.pairs) and self.slower >= VISIBLE * len(self.pairs)

    def kept_because(self) -> str:
        if self.absent:
            return f"{NOT_PRESENT}: {self.absent}"
        if self.error:
            return f"not measured: {self.error}"
        if not self.same_result:
            return "OFF CHANGES THE RESULT: check the switch"
        saving, on, n = self.saving, statistics.median(self.on), len(self.pairs)
        assert saving is not None
        ratio = f"off = {(on + saving) / on:.2f} × on" if on else "—"
        runs = f"off slower in {self.slower} of {n} repetitions"
        if self.visible:
            return f"kept: saves {fmt(saving)} ({ratio}); {runs}"
        if sum(off < on for on, off in self.pairs) >= VISIBLE * n:
            return f"off faster ({runs}): candidate for removal"
        return f"within this run's noise ({fmt(saving)}; {runs}): candidate for removal"


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if abs(seconds) >= 10:
        return f"{seconds:.1f} s"
    if abs(seconds) >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.1f} ms"


def _median(values: list[float]) -> str:
    return fmt(statistics.median(values)) if values else "—"


# -- measuring --------------------------------------------------------------------------------


def compare(group: str, run: Run, reps: int, log: list[str], warmup: bool = True) -> list[Result]:
    """Every switch of `group` against everything on, `reps` interleaved repetitions.

    `warmup`: one repetition first, not counted (first-use costs: imports, allocators).
    """
    results = {sw.key: Result(sw, GROUPS[group]) for sw in SWITCHES if sw.group == group}
    reference: list[Any] = []
    if warmup:
        _warm_up(run, results)
    for rep in range(reps):
        variants: list[Switch | None] = [None, *(r.switch for r in results.values())]
        shift = rep % len(variants)
        for which in variants[shift:] + variants[:shift]:
            result = None if which is None else results[which.key]
            if result is not None and (result.absent or result.error):
                continue
            try:
                seconds, check = run(which)
            except Absent as exc:
                assert result is not None
                result.absent = str(exc)
                continue
            except Exception as exc:
                if result is None:
                    raise
                result.error = f"{type(exc).__name__}: {exc}"[:90]
                continue
            if result is None:
                reference.append(check)
                for r in results.values():
                    r.on.append(seconds)
            else:
                result.off.append(seconds)
                result.same_result = result.same_result and check == (reference or [check])[0]
    for result in results.values():  # measured where another switch is off too
        given = results.get(result.switch.given)
        if given is not None:
            result.on = list(given.off)
            result.absent = result.absent or given.absent
            result.error = result.error or given.error
            result.figure = f"{result.figure}, {given.switch.key} off"
    done = list(results.values())
    print(f"  ablation {group} done", file=sys.stderr, flush=True)
    log.append(
        f"ablation {group} ({GROUPS[group]}): {reps} repetitions, on {_median(done[0].on)}"
        if done
        else f"ablation {group}: no switches"
    )
    return done


def _warm_up(run: Run, results: dict[str, Result]) -> None:
    """Each variant once, not counted; a switch found absent (or failing) is marked."""
    run(None)
    for result in results.values():
        try:
            run(result.switch)
        except Absent as exc:
            result.absent = str(exc)
        except Exception as exc:
            result.error = f"{type(exc).__name__}: {exc}"[:90]


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _parse_run(answer: bench_parse.Answer, fmt_: str) -> Run:
    body = answer.json if fmt_ == "json" else answer.xml

    def run(which: Switch | None) -> tuple[float, Any]:
        with switched_off(which):
            seconds, frame = _timed(lambda: sides.parse(body, answer.customer_id, fmt_))
        return seconds, (len(frame), int(frame["changed_at"].astype("int64").sum()))

    return run


@dataclass
class _Setup:
    """The breakdown every group runs: office, agents, months, the truth to check against."""

    s: Any
    tmp: Path
    customer_id: str
    agents: list[str]
    start: Any
    end: Any

    def breakdown(self, client: Any, concurrency: int | None = None) -> Any:
        return sides.breakdown(
            client, self.customer_id, self.agents, self.start, self.end, concurrency
        )


def _contacts(result: Any) -> int:
    return int(result.counts["contacts"].sum())


@contextlib.contextmanager
def _warm_run(cfg: Config, b: _Setup, log: list[str]) -> Iterator[tuple[Run, Path]]:
    """The warm breakdown on one client (filled by a cold run, then once warm)."""
    sides.set_transfer(b.s, cfg.latency, cfg.throughput)
    cache = _emptied_cache(b.s, b.tmp, "ablation")
    client = sides.connect(b.s, cache)
    b.breakdown(client)
    b.breakdown(client)
    b.s.clear_requests()

    def run(which: Switch | None) -> tuple[float, Any]:
        with switched_off(which, client):
            seconds, result = _timed(lambda: b.breakdown(client))
        return seconds, _contacts(result)

    try:
        yield run, cache
    finally:
        log.append(f"ablation warm: {len(b.s.requests)} calls in all the warm runs")
        client.close()


# A restarted kernel: a new interpreter on the same cache file; only the breakdown is timed.
_CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
a = json.loads(sys.argv[2])
from benchmarks import ablation_switches as ab, sides
import pandas as pd
import vitec_nb
ab.preload()
which = ab.switch(a["switch"], "restart") if a["switch"] else None
try:
    with ab.switched_off(which):
        client = vitec_nb.connect(a["url"], username=a["username"], password=a["password"],
                                  cache=a["cache"])
        start = time.perf_counter()
        result = sides.breakdown(client, a["customer_id"], a["agents"],
                                 pd.Timestamp(a["start"]), pd.Timestamp(a["end"]))
        seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "check": int(result.counts["contacts"].sum())}))
except ab.Absent as exc:
    print(json.dumps({"absent": str(exc)}))
"""


def _restart_run(b: _Setup, cache: Path) -> Run:
    def run(which: Switch | None) -> tuple[float, Any]:
        args = {
            "switch": which.key if which else None,
            "url": b.s.url,
            "username": b.s.username,
            "password": b.s.password,
            "cache": str(cache),
            "customer_id": b.customer_id,
            "agents": b.agents,
            "start": str(b.start),
            "end": str(b.end),
        }
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(ROOT), json.dumps(args)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode:
            raise RuntimeError(done.stderr.strip().splitlines()[-1][:200])
        out = json.loads(done.stdout.strip().splitlines()[-1])
        if "absent" in out:
            raise Absent(out["absent"])
        return float(out["seconds"]), out["check"]

    return run


def _cold_run(cfg: Config, b: _Setup) -> Run:
    top = max(cfg.concurrency_levels)

    def run(which: Switch | None) -> tuple[float, Any]:
        with switched_off(which):
            client = sides.connect(b.s, _emptied_cache(b.s, b.tmp, "ablation-cold"))
            try:
                seconds, result = _timed(lambda: b.breakdown(client, top))
            finally:
                client.close()
        return seconds, _contacts(result)

    return run


@contextlib.contextmanager
def _form_run(cfg: Config, b: _Setup) -> Iterator[Run]:
    """The form over the warm cache, the lead score alternating between two cached values."""
    sides.set_transfer(b.s, cfg.latency, cfg.throughput)
    client = sides.connect(b.s, b.tmp / "ablation-form.sqlite")
    explorer = bench_form._explorer(client, b.customer_id, b.start, b.end)
    scores = bench_form.LEAD_SCORES[:2]
    for score in scores:
        bench_form._change_and_run(explorer, score)
    turn = [0]

    def run(which: Switch | None) -> tuple[float, Any]:
        turn[0] += 1
        with switched_off(which), contextlib.redirect_stdout(io.StringIO()):
            gc.collect()
            seconds = bench_form._change_and_run(explorer, scores[turn[0] % 2])
        return seconds, None  # the picture may differ (another layout): no check

    try:
        yield run
    finally:
        client.close()


def _failed(group: str, exc: BaseException, log: list[str]) -> list[Result]:
    """Rows for a group that could not run, each saying why (the other groups still run)."""
    why = f"{type(exc).__name__}: {exc}"[:90]
    log.append(f"ablation {group}: FAILED {why}")
    return [Result(sw, GROUPS[group], error=why) for sw in SWITCHES if sw.group == group]


def _guarded(group: str, fn: Callable[[], list[Result]], log: list[str]) -> list[Result]:
    try:
        return fn()
    except Exception as exc:
        return _failed(group, exc, log)


def _breakdowns(cfg: Config, b: _Setup, log: list[str]) -> list[Result]:
    """2a and 2c on one cache (warm, then new processes on it), 5 cold, then 6a."""
    results: list[Result] = []
    try:
        with _warm_run(cfg, b, log) as (warm, cache):
            results += _guarded("warm", lambda: compare("warm", warm, 2 * cfg.reps + 1, log), log)
            b.s.clear_requests()
            restart = _restart_run(b, cache)
            results += _guarded(
                "restart",
                lambda: compare("restart", restart, min(cfg.reps, 3), log, warmup=False),
                log,
            )
            log.append(f"ablation restart: {len(b.s.requests)} calls in all the restarted runs")
    except Exception as exc:  # the warm cache could not be made
        results += _failed("warm", exc, log) + _failed("restart", exc, log)
    sides.set_transfer(b.s, cfg.concurrency_latency, cfg.throughput)
    cold = _cold_run(cfg, b)
    results += _guarded(
        "cold", lambda: compare("cold", cold, min(cfg.reps, 3), log, warmup=False), log
    )

    def form() -> list[Result]:
        with _form_run(cfg, b) as run:
            return compare("form", run, cfg.reps, log)

    return results + _guarded("form", form, log)


def ablation(cfg: Config, s: Any, log: list[str]) -> list[Result]:
    """Every group in order on the stand-in `s` (one office); a result for every switch."""
    customer_id, agents = sides.office_and_agents(s, cfg.agents)
    start, end = sides.months_window(s, cfg.months)
    answer = bench_parse.fetch_body(s, log)
    results = _guarded(
        "json", lambda: compare("json", _parse_run(answer, "json"), cfg.parse_reps, log), log
    )
    xml = _parse_run(answer, "xml")
    results += _guarded("xml", lambda: compare("xml", xml, min(cfg.parse_reps, 3), log), log)
    with tempfile.TemporaryDirectory(prefix="vitec-ablation-") as tmp:
        b = _Setup(s, Path(tmp), customer_id, agents, start, end)
        results += _breakdowns(cfg, b, log)
    s.set_faults()
    return results


# -- the table --------------------------------------------------------------------------------

HEADER = ["optimisation", "where", "figure", "on", "off", "saving", "kept because"]


def cells(r: Result) -> list[str]:
    off_runs = f" (n={len(r.off)})" if r.off else ""
    return [
        r.switch.name,
        r.switch.where,
        r.figure,
        _median(r.on),
        _median(r.off) + off_runs,
        fmt(r.saving) if not (r.absent or r.error) else "—",
        r.kept_because(),
    ]


def text_table(results: list[Result]) -> str:
    return aligned([HEADER, *(cells(r) for r in results)])


def markdown_table(results: list[Result]) -> str:
    """The table for docs/benchmarks.md, with what runs instead when a switch is off."""
    header = [*HEADER[:5], "off means", *HEADER[5:]]
    out = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for r in results:
        name, where, *rest = cells(r)
        row = [name, f"`{where}`", *rest[:3], r.switch.plain, *rest[3:]]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(out)
