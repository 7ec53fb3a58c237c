"""Run every benchmark of issue 7 and print one table: vitec_nb vs the naive loop, same run.

    .venv/bin/python benchmarks/run.py                # full sizes, medians (a few minutes)
    .venv/bin/python benchmarks/run.py --quick        # smoke run: small sizes, one repetition
    .venv/bin/python benchmarks/run.py --write-docs   # also update docs/benchmarks.md

Each benchmark runs against the stand-in on loopback. A benchmark that fails (or whose
vitec_nb side is missing) still prints its rows, with the reason instead of a value.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_breakdown, bench_form, bench_parse, sides
from benchmarks.harness import (
    FIGURES,
    Config,
    Row,
    load_average,
    machine_details,
    markdown_details,
    markdown_table,
    missing_rows,
    speed_check,
    text_table,
)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def _section(
    name: str, figures: list[str], unit: str, fn: Callable[[], list[Row]], log: list[str]
) -> list[Row]:
    """Run one benchmark; on failure, rows for its figures that carry the error.

    The machine's speed is checked right before each benchmark: the host drifts within a
    run, and a slow reading beside a figure says why it moved.
    """
    speed = speed_check()
    started = time.perf_counter()
    try:
        rows = fn()
    except Exception as exc:
        log.append(f"{name}: FAILED\n" + traceback.format_exc(limit=4).rstrip())
        rows = missing_rows(figures, unit, f"{type(exc).__name__}: {exc}"[:90])
    log.append(f"{name}: {time.perf_counter() - started:.1f} s (speed check before: {speed})")
    print(f"  {name} done ({time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
    return rows


def run_all(cfg: Config, log: list[str], only: str = "123456") -> list[Row]:
    """Every benchmark in issue 7's order (or those in `only`); every figure gets a row.

    All of them share one stand-in (one office, `cfg.contacts` contacts); each sets the
    faults it needs and counts calls from a cleared request log.
    """
    rows: list[Row] = []
    try:
        with sides.standin(cfg.contacts, cfg.agents, cfg.seed) as s:
            rows += _benchmarks(cfg, s, log, only)
    except Exception as exc:  # the stand-in itself failed: every figure says so
        log.append("stand-in FAILED\n" + traceback.format_exc(limit=4).rstrip())
        rows = missing_rows(FIGURES, "", f"stand-in: {type(exc).__name__}: {exc}"[:90])
    if "3" in only and not cfg.quick:
        _section(
            "1M-reference peak memory",
            [],
            "",
            lambda: bench_parse.million_peak(cfg, log) or [],
            log,
        )
    seen = {r.figure for r in rows}
    for figure in FIGURES:
        if figure not in seen:
            why = "no row produced (see the log)" if figure[0] in only else "skipped (--only)"
            rows.append(Row(figure, "", error=why))
    order = {f: i for i, f in enumerate(FIGURES)}
    return sorted(rows, key=lambda r: order.get(r.figure, len(order)))


def _benchmarks(cfg: Config, s: Any, log: list[str], only: str) -> list[Row]:
    # (name, the figure numbers it measures, unit, how to run it), in issue 7's order
    sections: list[tuple[str, str, str, Callable[[], list[Row]]]] = [
        (
            "benchmarks 1-2 (cold and warm breakdown)",
            "12",
            "s",
            lambda: bench_breakdown.cold_and_warm(cfg, s, log),
        ),
        (
            "benchmarks 3-4 (parsing and memory)",
            "34",
            "ms",
            lambda: bench_parse.parsing(cfg, bench_parse.fetch_body(s, log), log),
        ),
        ("benchmark 5 (concurrency)", "5", "s", lambda: bench_breakdown.concurrency(cfg, s, log)),
        ("benchmark 6 (form responsiveness)", "6", "ms", lambda: bench_form.form(cfg, s, log)),
    ]
    rows: list[Row] = []
    for name, numbers, unit, fn in sections:
        if any(n in only for n in numbers):
            rows += _section(name, [f for f in FIGURES if f[0] in numbers], unit, fn, log)
    return rows


def write_docs(path: Path, details: dict[str, str], table: str, log: list[str]) -> None:
    """Replace the generated block of docs/benchmarks.md with this run's results."""
    block = "\n".join(
        [
            BEGIN,
            "",
            "Machine and run:",
            "",
            markdown_details(details),
            "",
            table,
            "",
            "Run log:",
            "",
            "```text",
            *log,
            "```",
            "",
            END,
        ]
    )
    text = (
        path.read_text(encoding="utf-8") if path.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    )
    if BEGIN not in text or END not in text:
        text = text.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(head + block + tail, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmarks, print (and optionally write) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes, 1 rep")
    parser.add_argument("--reps", type=int, default=5, help="repetitions (median reported)")
    parser.add_argument("--naive-reps", type=int, default=3, help="repetitions of naive loop")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the stand-in in this process (default: its own, like a remote API)",
    )
    parser.add_argument(
        "--only", default="123456", help="benchmarks to run, e.g. 36 (default: all)"
    )
    parser.add_argument(
        "--write-docs", action="store_true", help=f"write the results into {DOCS.name}"
    )
    args = parser.parse_args(argv)
    cfg = Config.smoke() if args.quick else Config.full(args.reps, args.naive_reps)
    sides.IN_PROCESS = args.in_process

    details = machine_details()
    details["sizes"] = f"{cfg.contacts} contacts, {cfg.agents} agents, {cfg.months} months" + (
        " (--quick smoke run)" if cfg.quick else ""
    )
    details["stand-in"] = "in this process" if args.in_process else "in its own process"
    details["repetitions"] = (
        f"median of {cfg.reps} (breakdowns, form), {cfg.parse_reps} (parsing), "
        f"{cfg.naive_reps} (naive loop)"
    )
    details["speed check at start"] = speed_check()
    for key, value in details.items():
        print(f"{key}: {value}")
    print(flush=True)

    log: list[str] = []
    rows = run_all(cfg, log, args.only)
    details["load average at end"] = load_average()
    details["speed check at end"] = speed_check()

    print("\n".join(log))
    print()
    print(text_table(rows))
    print(f"\nload average at end: {details['load average at end']}")
    print(f"speed check at end: {details['speed check at end']}")
    if args.write_docs:
        write_docs(DOCS, details, markdown_table(rows), log)
        print(f"wrote {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
