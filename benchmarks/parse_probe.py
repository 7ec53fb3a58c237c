"""Probe of parse_contacts against issue 7's targets: time vs orjson, bytes/ref, 1M peak memory.

    .venv/bin/python -m benchmarks.parse_probe            # 100k refs, 15 interleaved runs, 1M peak
    .venv/bin/python -m benchmarks.parse_probe --n 20000 --reps 5 --no-million

Bodies are generated in the exact API shape (tests/plugins/parse.py), not fetched from the
stand-in, so the probe isolates parsing. Runs alternate floor / ours / naive so that load
from other processes hits all three alike; medians are reported.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pandas as pd

from tests.plugins.parse import contact_list, json_body, xml_body
from vitec_nb.parse import parse_contacts

ROOT = Path(__file__).resolve().parent.parent

PEAK = textwrap.dedent(
    """
    import re, sys, time
    from vitec_nb.parse import parse_contacts
    body = open(sys.argv[1], "rb").read()
    start = time.perf_counter()
    df = parse_contacts(body)
    seconds = time.perf_counter() - start
    hwm = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
    print(hwm * 1024, seconds, len(df))
    """
)


def naive_frame(body: bytes) -> pd.DataFrame:
    """What an analyst would write: json + DataFrame + to_datetime."""
    doc = json.loads(body)
    rows = [
        {**ref, "kind": kind}
        for kind, key in (
            ("person", "persons"),
            ("company", "companies"),
            ("deceased_estate", "deceasedEstates"),
        )
        for ref in doc[key]
    ]
    df = pd.DataFrame(rows)
    changed = pd.to_datetime(df["changedAt"], format="ISO8601", utc=True)
    df["changedAt"] = changed.dt.tz_convert("Europe/Stockholm")
    return df


def interleaved(funcs: dict[str, Callable[[], object]], reps: int) -> dict[str, float]:
    """Median seconds of each function, runs interleaved, one warm-up each."""
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for f in funcs.values():
        f()
    for _ in range(reps):
        for name, f in funcs.items():
            gc.collect()
            start = time.perf_counter()
            result = f()
            del result  # freeing the result is part of the cost, for every side alike
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def million_peak(n: int) -> tuple[int, float, int]:
    """(peak RSS bytes, parse seconds, rows) of a fresh interpreter parsing `n` references."""
    body = json_body(contact_list(n, seed=11, offices=("M30011", "M30012")))
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        f.write(body)
        f.flush()
        del body
        out = subprocess.run(
            [sys.executable, "-c", PEAK, f.name], capture_output=True, text=True, cwd=ROOT
        )
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    peak, seconds, rows = out.stdout.split()
    return int(peak), float(seconds), int(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="references in the body")
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--million", type=int, default=1_000_000, help="size of the peak probe")
    parser.add_argument("--no-million", action="store_true")
    args = parser.parse_args(argv)

    print(f"python {platform.python_version()} pandas {pd.__version__} on {platform.machine()},")
    print(f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f} at start")
    truth = contact_list(args.n, seed=1)
    body, xml = json_body(truth), xml_body(truth)
    print(f"body: {args.n} references, {len(body) / 1e6:.1f} MB JSON, {len(xml) / 1e6:.1f} MB XML")

    med = interleaved(
        {
            "floor": lambda: orjson.loads(body),
            "ours": lambda: parse_contacts(body),
            "naive": lambda: naive_frame(body),
        },
        args.reps,
    )
    xml_time = interleaved({"xml": lambda: parse_contacts(xml, format="xml")}, 3)["xml"]
    df = parse_contacts(body)
    per_ref = df.memory_usage(deep=True).sum() / len(df)
    naive_per_ref = naive_frame(body).memory_usage(deep=True).sum() / len(df)

    ratio = med["ours"] / med["floor"]
    print(f"{'figure':44} {'value':>12} {'target':>14}")
    print(f"{'orjson.loads alone (floor), ms':44} {med['floor'] * 1e3:12.1f}")
    print(f"{'parse_contacts JSON, ms':44} {med['ours'] * 1e3:12.1f}")
    print(f"{'  ratio to floor':44} {ratio:12.2f} {'<= 1.5':>14}")
    print(f"{'naive json + DataFrame + to_datetime, ms':44} {med['naive'] * 1e3:12.1f}")
    print(f"{'  naive / ours':44} {med['naive'] / med['ours']:12.1f}")
    print(f"{'parse_contacts XML, ms':44} {xml_time * 1e3:12.1f}")
    print(f"{'bytes per reference (deep)':44} {per_ref:12.1f} {'<= 60':>14}")
    print(f"{'  naive frame bytes per reference':44} {naive_per_ref:12.1f}")
    if not args.no_million:
        peak, seconds, rows = million_peak(args.million)
        print(f"{f'{rows} refs: peak RSS, MB (incl. body)':44} {peak / 1e6:12.0f} {'< 500':>14}")
        scale = (seconds / rows) / (med["ours"] / args.n)
        print(f"{f'{rows} refs: parse, s':44} {seconds:12.2f}")
        print(f"{'  time per ref vs the small body':44} {scale:12.2f} {'~1 (linear)':>14}")
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
