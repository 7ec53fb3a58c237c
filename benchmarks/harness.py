"""Timing, machine details and the results table shared by every benchmark.

A benchmark produces `Row`s: one figure, what vitec_nb measured, what the baseline measured
in the same run, the target and whether it was met. The table is printed as text and can
be written as Markdown into docs/benchmarks.md.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

# Every figure of issues 7 and 13, in order. Every one of them gets a row in the table,
# even when it could not be measured (the smoke test checks that each label is printed).
FIGURES: tuple[str, ...] = (
    "1a cold breakdown: calls",
    "1b cold breakdown: wall time",
    "2a warm breakdown: wall time",
    "2b warm breakdown: calls",
    "2c warm, restarted kernel on the same cache",
    "3a parsing vs orjson floor",
    "3b parsing vs naive json+pandas",
    "3c XML parsing vs JSON",
    "4a memory: bytes per reference",
    "4b memory vs the naive frame",
    "5  concurrency 1: wall vs ideal",
    "5  concurrency 2: wall vs ideal",
    "5  concurrency 4: wall vs ideal",
    "5  concurrency 8: wall vs ideal",
    "5  concurrency 8: bare requests (floor)",
    "6a form: filter change to drawn chart",
    "6b form vs the naive cell re-run",
    "7a careful analyst (requests-cache): cold",
    "7b careful analyst: warm",
    "7c careful analyst: restarted kernel",
    "8a large answer: peak memory, JSON",
    "8b large answer: peak memory, XML",
)


@dataclass(frozen=True)
class Row:
    """One line of the results table.

    `ours` and `base` are in `unit`; `ratio` is ours / base. `met` is None when the row has
    no target or could not be measured, else whether every target given holds (ratio,
    value and `condition`); `error` says why a value is missing.
    """

    figure: str
    unit: str
    ours: float | None = None
    base: float | None = None
    base_label: str = ""
    target: str = ""
    target_ratio: float | None = None  # met when ratio <= target_ratio
    target_value: float | None = None  # met when ours <= target_value
    condition: bool | None = None  # a further requirement (e.g. "0 calls"); False: missed
    runs: str = ""
    error: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.base is None or self.base == 0:
            return None
        return self.ours / self.base

    @property
    def met(self) -> bool | None:
        if self.ours is None:
            return None
        checks: list[bool] = []
        if self.target_value is not None:
            checks.append(self.ours <= self.target_value)
        if self.target_ratio is not None and self.ratio is not None:
            checks.append(self.ratio <= self.target_ratio)
        if self.condition is not None:
            checks.append(self.condition)
        return all(checks) if checks else None


@dataclass
class Timing:
    """Wall times of repeated runs (seconds), their process CPU times, the last value.

    CPU time is what the run cost this process; unlike wall time it hardly moves when other
    processes load the machine, so the log reports it beside the wall-clock medians.
    """

    times: list[float] = field(default_factory=list)
    value: Any = None
    cpu: list[float] = field(default_factory=list)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def runs(self) -> int:
        return len(self.times)


def timed(
    fn: Callable[[], Any],
    reps: int,
    *,
    warmup: int = 0,
    setup: Callable[[], Any] | None = None,
) -> Timing:
    """Run `fn` `warmup` + `reps` times and keep the wall times of the last `reps`.

    `setup` runs before each call, outside the timed section (e.g. a fresh cache).
    A garbage collection runs before each timed call so one run's garbage is not billed
    to the next.
    """
    result = Timing()
    for i in range(warmup + reps):
        if setup is not None:
            setup()
        gc.collect()
        cpu_start = time.process_time()
        start = time.perf_counter()
        value = fn()
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        if i >= warmup:
            result.times.append(elapsed)
            result.cpu.append(cpu)
            result.value = value
    return result


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as the kernel reports them."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024**2:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_details() -> dict[str, str]:
    """What the figures depend on: date, CPU, cores, RAM, OS, library versions, load."""
    return {
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "CPU": _cpu_model(),
        "cores": str(os.cpu_count()),
        "RAM": _ram_gib(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "pandas": _version("pandas"),
        "numpy": _version("numpy"),
        "pyarrow": _version("pyarrow"),
        "orjson": _version("orjson"),
        "requests": _version("requests"),
        "requests-cache": _version("requests-cache"),
        "matplotlib": _version("matplotlib"),
        "load average at start": load_average(),
    }


# ---------------------------------------------------------------- formatting


def fmt_value(value: float | None, unit: str) -> str:
    """A value with its unit, rounded for reading ("1.23 s", "480 calls", "41 B")."""
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "calls":
        return f"{value:.0f}"
    if unit == "B":
        return f"{value:.1f} B"
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:g} {unit}"


def fmt_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    if ratio == 0:
        return "0"
    if ratio < 0.1:
        inverse = 1 / ratio
        return (
            f"{ratio:.4f} (1/{inverse:.1f})" if inverse < 20 else f"{ratio:.4f} (1/{inverse:.0f})"
        )
    return f"{ratio:.2f}"


def fmt_met(row: Row) -> str:
    if row.error:
        return "n/a"
    met = row.met
    return "—" if met is None else ("yes" if met else "NO")


def row_cells(row: Row) -> list[str]:
    """The table cells of one row (figure, vitec_nb, baseline, ratio, target, met?, runs)."""
    ours = fmt_value(row.ours, row.unit) if not row.error else f"not measured: {row.error}"
    base = fmt_value(row.base, row.unit)
    if row.base is not None and row.base_label:
        base += f" ({row.base_label})"
    return [row.figure, ours, base, fmt_ratio(row.ratio), row.target, fmt_met(row), row.runs]


HEADER = ["figure", "vitec_nb", "baseline (same run)", "ratio", "target", "met?", "runs"]


def text_table(rows: Sequence[Row]) -> str:
    """The results as an aligned plain-text table."""
    return aligned([HEADER, *(row_cells(r) for r in rows)])


def aligned(lines: Sequence[Sequence[str]]) -> str:
    """Rows of cells as a plain-text table: columns padded, a rule under the first row."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for n, line in enumerate(lines):
        out.append(" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if n == 0:
            out.append("-+-".join("-" * w for w in widths))
    return "\n".join(out)


def markdown_table(rows: Sequence[Row]) -> str:
    """The results as a Markdown table (for docs/benchmarks.md)."""
    out = ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    for row in rows:
        cells = [c.replace("|", "\\|") for c in row_cells(row)]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def markdown_details(details: dict[str, str]) -> str:
    return "\n".join(f"- {k}: {v}" for k, v in details.items())


def missing_rows(figures: Iterable[str], unit: str, error: str) -> list[Row]:
    """Placeholder rows for figures a benchmark could not measure, saying why."""
    return [Row(figure=f, unit=unit, error=error) for f in figures]


@dataclass(frozen=True)
class Config:
    """Sizes, transfer model and repetitions of one run (`full()` is issue 7's sizes with
    issue 13's transfer model; `smoke()` a quick run)."""

    contacts: int  # in the one office of the stand-in every benchmark uses
    agents: int
    months: int
    latency: float  # seconds added to every request (benchmarks 1, 2, 6 and 7)
    concurrency_latency: float  # benchmark 5
    concurrency_levels: tuple[int, ...]
    reps: int  # repetitions of each breakdown and form measurement; the median is reported
    parse_reps: int  # repetitions of the parsing measurements (well under a second each)
    naive_reps: int  # repetitions of the naive and careful loops (~half a minute each)
    throughput: float = 10e6  # bytes per second of every answer body; 0: instant
    large: int = 1_000_000  # references in the one answer of benchmark 8
    seed: int = 7
    quick: bool = False

    @classmethod
    def full(cls, reps: int = 5, naive_reps: int = 2) -> Config:
        return cls(
            contacts=100_000,
            agents=20,
            months=24,
            latency=0.05,
            concurrency_latency=0.1,
            concurrency_levels=(1, 2, 4, 8),
            reps=reps,
            parse_reps=11,
            naive_reps=naive_reps,
        )

    @classmethod
    def smoke(cls) -> Config:
        return cls(
            contacts=3_000,
            agents=3,
            months=3,
            latency=0.002,
            concurrency_latency=0.005,
            concurrency_levels=(1, 2, 4, 8),
            reps=1,
            parse_reps=1,
            naive_reps=1,
            large=20_000,
            quick=True,
        )

    def model(self, latency: float | None = None) -> str:
        """The transfer model in words, e.g. "latency 50 ms + bytes at 10 MB/s"."""
        lat = self.latency if latency is None else latency
        rate = f"bytes at {self.throughput / 1e6:g} MB/s" if self.throughput else "no byte cost"
        return f"latency {lat * 1000:g} ms + {rate}"


def speed_check() -> str:
    """How fast this machine is right now: orjson.loads of a 9.8 MB, 100 000-reference body.

    The host's speed drifts (other tenants, frequency scaling) even when the load average
    is low; printed at the start and the end of a run, it tells whether absolute times of
    two runs can be compared. Ratios within one run are unaffected.
    """
    import orjson

    refs = [
        {"id": f"CRM{i:016X}", "changedAt": "2024-11-21T11:13:17.501382+01:00", "customerId": "M1"}
        for i in range(100_000)
    ]
    body = orjson.dumps({"persons": refs, "companies": [], "deceasedEstates": []})
    del refs
    run = timed(lambda: orjson.loads(body), 7, warmup=1)
    return f"orjson.loads of {len(body) / 1e6:.1f} MB: {run.median * 1000:.0f} ms (median of 7)"
