"""Run every benchmark (issues 7 and 13) and print one table: each figure beside its floor.

    .venv/bin/python benchmarks/run.py                # full sizes, medians (about 5 minutes)
    .venv/bin/python benchmarks/run.py --quick        # smoke run: small sizes, one repetition
    .venv/bin/python benchmarks/run.py --write-docs   # also update docs/benchmarks.md
    .venv/bin/python benchmarks/run.py --throughput 0 --latency 50   # latency only
    .venv/bin/python benchmarks/run.py --only 9       # the chain (optional, not in the default)
    .venv/bin/python benchmarks/run.py --only A       # the ablation (optional): each
                                                      # optimisation on and off

Each benchmark runs against the stand-in on loopback under a transfer model: every request
pays a latency, then its body's bytes at a throughput. A benchmark that fails (or whose
vitec_nb side is missing) still prints its rows, with the reason instead of a value.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import (
    bench_ablation,
    bench_breakdown,
    bench_chain,
    bench_concurrency,
    bench_form,
    bench_parse,
    sides,
)
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
PREVIOUS_BEGIN, PREVIOUS_END = "<!-- previous:begin -->", "<!-- previous:end -->"
ABLATION_BEGIN, ABLATION_END = "<!-- ablation:begin -->", "<!-- ablation:end -->"
ALL = "12345678"
KNOWN = "123456789A"  # 9 (the chain) and A (the ablation) run only when asked for


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


def run_all(
    cfg: Config,
    log: list[str],
    only: str = ALL,
    details: dict | None = None,
    ablation: list[bench_ablation.Result] | None = None,
) -> list[Row]:
    """Every benchmark in order (or those in `only`); every figure gets a row.

    1-7 and A share one stand-in (one office, `cfg.contacts` contacts); each sets the
    transfer model it needs and counts calls from a cleared request log. 8 starts its own.
    A's results (one per optimisation, their own table) go into `ablation`.
    """
    details = {} if details is None else details
    rows: list[Row] = []
    try:
        with sides.standin(cfg.contacts, cfg.agents, cfg.seed) as s:
            details.update(_model_details(cfg, s))
            rows += _benchmarks(cfg, s, log, only)
            if "A" in only and ablation is not None:
                _ablation(cfg, s, log, ablation)
    except Exception as exc:  # the stand-in itself failed: every figure says so
        log.append("stand-in FAILED\n" + traceback.format_exc(limit=4).rstrip())
        rows = missing_rows(FIGURES, "", f"stand-in: {type(exc).__name__}: {exc}"[:90])
    if "8" in only:
        large = [f for f in FIGURES if f.startswith("8")]
        rows += _section(
            "benchmark 8 (one large answer, peak memory)",
            large,
            "MB",
            lambda: bench_parse.large_answer(cfg, log),
            log,
        )
    if "9" in only:  # optional (not in ALL): the chain, 20 offices, about a minute more
        rows += _section(
            "benchmark 9 (the chain: 20 offices by office x month)",
            list(bench_chain.FIGURES),
            "s",
            lambda: bench_chain.chain(cfg, log),
            log,
        )
    seen = {r.figure for r in rows}
    for figure in FIGURES:
        if figure not in seen:
            why = "no row produced (see the log)" if figure[0] in only else "skipped (--only)"
            rows.append(Row(figure, "", error=why))
    order = {f: i for i, f in enumerate(FIGURES)}
    return sorted(rows, key=lambda r: order.get(r.figure, len(order)))


def _ablation(cfg: Config, s: Any, log: list[str], out: list[bench_ablation.Result]) -> None:
    """Benchmark A: every optimisation on and off (benchmarks/bench_ablation.py)."""
    speed = speed_check()
    started = time.perf_counter()
    try:
        out += bench_ablation.ablation(cfg, s, log)
    except Exception:
        log.append("benchmark A (ablation): FAILED\n" + traceback.format_exc(limit=4).rstrip())
    log.append(
        f"benchmark A (ablation): {time.perf_counter() - started:.1f} s "
        f"(speed check before: {speed})"
    )
    print(f"  benchmark A done ({time.perf_counter() - started:.1f} s)", file=sys.stderr)


def _model_details(cfg: Config, s: Any) -> dict[str, str]:
    """The transfer model as it ran (whether this stand-in paces bytes) and the id shape."""
    paced = sides.set_transfer(s, cfg.latency, cfg.throughput)
    s.set_faults()
    model = (
        f"{cfg.model()} per request, lookups included (benchmark 5: "
        f"{cfg.model(cfg.concurrency_latency)}); parsing (3, 4, 8) works on bytes in memory"
    )
    if cfg.throughput and not paced:
        model += f"; {sides.THROUGHPUT_UNSUPPORTED} (latency only)"
    return {"transfer model": model, "contact ids": sides.id_shape(s.truth["id"])}


def _benchmarks(cfg: Config, s: Any, log: list[str], only: str) -> list[Row]:
    # (name, the figure numbers it measures, unit, how to run it), in order
    sections: list[tuple[str, str, str, Callable[[], list[Row]]]] = [
        (
            "benchmarks 1, 2 and 7 (cold, warm and restarted breakdowns; two peers)",
            "127",
            "s",
            lambda: bench_breakdown.cold_and_warm(cfg, s, log, careful="7" in only),
        ),
        (
            "benchmarks 3-4 (parsing and memory)",
            "34",
            "ms",
            lambda: bench_parse.parsing(cfg, bench_parse.fetch_body(s, log), log),
        ),
        ("benchmark 5 (concurrency)", "5", "s", lambda: bench_concurrency.concurrency(cfg, s, log)),
        ("benchmark 6 (form responsiveness)", "6", "ms", lambda: bench_form.form(cfg, s, log)),
    ]
    rows: list[Row] = []
    for name, numbers, unit, fn in sections:
        wanted = [n for n in numbers if n in only]
        if wanted:
            figures = [f for f in FIGURES if f[0] in wanted]
            rows += [r for r in _section(name, figures, unit, fn, log) if r.figure[0] in wanted]
    return rows


def write_docs(path: Path, details: dict[str, str], table: str, log: list[str]) -> None:
    """Record this run in docs/benchmarks.md; the run recorded until now becomes "Previous run".

    The results block is replaced; its old content moves into the previous-run block
    (made after the results when the page has none), so each run is shown beside the last.
    """
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
    current, tail = rest.split(END, 1)
    if current.strip():
        tail = _with_previous(tail, current.strip())
    path.write_text(head + block + tail, encoding="utf-8")


def _with_previous(tail: str, previous: str) -> str:
    """`tail` (the page after the results) with `previous` as its previous-run block."""
    moved = f"{PREVIOUS_BEGIN}\n\n{previous}\n\n{PREVIOUS_END}"
    if PREVIOUS_BEGIN in tail and PREVIOUS_END in tail:
        before, rest = tail.split(PREVIOUS_BEGIN, 1)
        _, after = rest.split(PREVIOUS_END, 1)
        return before + moved + after
    return (
        "\n\n## Previous run\n\nThe run recorded before the one above, kept for comparison "
        f"(`--write-docs` moves it here).\n\n{moved}" + tail
    )


def write_ablation(path: Path, details: dict[str, str], table: str) -> None:
    """Record benchmark A's table between the ablation markers of docs/benchmarks.md.

    The markers sit in the section "Optimisations kept, and the figure for each"; a page
    without them gets them at its end. The results block is left as it is.
    """
    block = "\n".join([ABLATION_BEGIN, "", markdown_details(details), "", table, "", ABLATION_END])
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if ABLATION_BEGIN not in text or ABLATION_END not in text:
        text = text.rstrip() + f"\n\n{ABLATION_BEGIN}\n{ABLATION_END}\n"
    head, rest = text.split(ABLATION_BEGIN, 1)
    _, tail = rest.split(ABLATION_END, 1)
    path.write_text(head + block + tail, encoding="utf-8")


def _ablation_details(details: dict[str, str], cfg: Config) -> dict[str, str]:
    """What benchmark A's figures depend on: the date, the host, its load and speed."""
    skip = {"repetitions", "pandas", "numpy", "pyarrow", "orjson", "requests", "matplotlib"}
    kept = {k: v for k, v in details.items() if k not in skip and k != "requests-cache"}
    kept["repetitions"] = (
        f"{cfg.parse_reps} (3a), {2 * cfg.reps + 1} (2a), {min(cfg.parse_reps, 3)} (3c), "
        f"{min(cfg.reps, 3)} (2c, 5), {cfg.reps} (6a); medians, on and off interleaved"
    )
    return kept


def _options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes, 1 rep")
    parser.add_argument("--reps", type=int, default=5, help="repetitions (median reported)")
    parser.add_argument(
        "--naive-reps", type=int, default=2, help="repetitions of the naive and careful loops"
    )
    parser.add_argument(
        "--latency", type=float, help="ms added to every request (default 50; --quick 2)"
    )
    parser.add_argument(
        "--concurrency-latency",
        type=float,
        help="ms added to every request in benchmark 5 (default 100; --quick 5)",
    )
    parser.add_argument(
        "--throughput",
        type=float,
        help="bytes per second of every answer body, e.g. 10e6 (the default); 0: instant",
    )
    parser.add_argument(
        "--large", type=int, help="references in benchmark 8's answer (default 1000000)"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the stand-in in this process (default: its own, like a remote API)",
    )
    parser.add_argument(
        "--only",
        default=ALL,
        help=f"benchmarks to run, e.g. 36 (default: {ALL}; also 9, the chain, and A, the ablation)",
    )
    parser.add_argument(
        "--write-docs", action="store_true", help=f"write the results into {DOCS.name}"
    )
    return parser.parse_args(argv)


def _config(args: argparse.Namespace) -> Config:
    wrong = sorted(set(args.only) - set(KNOWN))
    if wrong or not args.only:
        raise SystemExit(
            f"--only: {args.only!r} names no benchmark {''.join(wrong)!r}; allowed: any of "
            f"{KNOWN} (e.g. 36, or A for the ablation)"
        )
    cfg = Config.smoke() if args.quick else Config.full(args.reps, args.naive_reps)
    given: dict[str, Any] = {}
    if args.latency is not None:
        given["latency"] = args.latency / 1000
    if args.concurrency_latency is not None:
        given["concurrency_latency"] = args.concurrency_latency / 1000
    if args.throughput is not None:
        given["throughput"] = args.throughput
    if args.large is not None:
        given["large"] = args.large
    for name, value in given.items():
        if value < 0:
            raise SystemExit(f"--{name.replace('_', '-')}: must be >= 0, got {value:g}")
    return dataclasses.replace(cfg, **given)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmarks, print (and optionally write) the table."""
    args = _options(argv)
    cfg = _config(args)
    sides.IN_PROCESS = args.in_process

    details = machine_details()
    details["sizes"] = (
        f"{cfg.contacts} contacts, {cfg.agents} agents, {cfg.months} months; benchmark 8: "
        f"one answer of {cfg.large} references" + (" (--quick smoke run)" if cfg.quick else "")
    )
    details["stand-in"] = "in this process" if args.in_process else "in its own process"
    details["repetitions"] = (
        f"median of {cfg.reps} (breakdowns, form, concurrency at {max(cfg.concurrency_levels)}; "
        f"{min(cfg.reps, 3)} at lower levels), {cfg.parse_reps} (parsing), "
        f"{cfg.naive_reps} (naive and careful loops), 1 (naive form cell)"
    )
    details["speed check at start"] = speed_check()
    for key, value in details.items():
        print(f"{key}: {value}")
    print(flush=True)

    log: list[str] = []
    ablation: list[bench_ablation.Result] = []
    rows = run_all(cfg, log, args.only, details, ablation)
    details["load average at end"] = load_average()
    details["speed check at end"] = speed_check()

    print("\n".join(log))
    print()
    print(f"transfer model: {details.get('transfer model', 'not set (no stand-in)')}")
    measured = any(n in args.only for n in "123456789")
    if measured:
        print(text_table(rows))
    if "A" in args.only:
        print("\nbenchmark A, the ablation (each optimisation on and off, same run):")
        print(bench_ablation.text_table(ablation))
    print(f"\nload average at end: {details['load average at end']}")
    print(f"speed check at end: {details['speed check at end']}")
    if args.write_docs:
        if measured:
            write_docs(DOCS, details, markdown_table(rows), log)
        if "A" in args.only:
            write_ablation(
                DOCS, _ablation_details(details, cfg), bench_ablation.markdown_table(ablation)
            )
        print(f"wrote {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
