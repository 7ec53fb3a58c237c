"""Benchmarks 3 and 4: one large answer into the contacts frame, its time and its memory.

The body is a real answer of the stand-in (every contact of one office, no filter), fetched
once as JSON and once as XML; the parsers then work on the same bytes in memory. Runs
alternate floor / vitec_nb / naive so that load from other processes hits all three alike
(folded in from the parse engineer's parse_probe.py, as is the 1M-reference peak probe).
"""

from __future__ import annotations

import gc
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import requests

from benchmarks import naive, sides
from benchmarks.harness import Config, Row, Timing

ROOT = Path(__file__).resolve().parent.parent

# Run in a fresh interpreter so the peak resident memory is the parse's alone.
PEAK = textwrap.dedent(
    """
    import re, sys, time
    from vitec_nb.parse import parse_contacts
    body = open(sys.argv[1], "rb").read()
    start = time.perf_counter()
    df = parse_contacts(body, customer_id=sys.argv[2])
    seconds = time.perf_counter() - start
    hwm = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
    print(hwm * 1024, seconds, len(df), len(body))
    """
)


class Answer:
    """One office's full answer, as JSON and as XML bytes."""

    def __init__(self, customer_id: str, json_body: bytes, xml_body: bytes) -> None:
        self.customer_id = customer_id
        self.json = json_body
        self.xml = xml_body


def fetch_body(s: Any, log: list[str]) -> Answer:
    """Every contact of one office as one answer (JSON and XML) from the stand-in `s`."""
    s.set_faults()
    customer_id = s.customer_ids[0]
    url, auth = f"{s.url}/CRM/Contact/{customer_id}", (s.username, s.password)
    as_json = requests.get(url, auth=auth, timeout=120)
    as_xml = requests.get(url, auth=auth, timeout=120, headers={"Accept": "application/xml"})
    as_json.raise_for_status()
    as_xml.raise_for_status()
    answer = Answer(customer_id, as_json.content, as_xml.content)
    log.append(
        f"parse: one answer of {len(answer.json) / 1e6:.1f} MB JSON, "
        f"{len(answer.xml) / 1e6:.1f} MB XML"
    )
    return answer


def interleaved(funcs: dict[str, Callable[[], object]], reps: int) -> dict[str, Timing]:
    """Wall times of each function, runs interleaved, one warm-up each.

    Freeing the result is part of the cost, for every side alike.
    """
    out = {name: Timing() for name in funcs}
    for name, f in funcs.items():
        out[name].value = f()
    for _ in range(reps):
        for name, f in funcs.items():
            gc.collect()
            start = time.perf_counter()
            result = f()
            del result
            out[name].times.append(time.perf_counter() - start)
    return out


def parsing(cfg: Config, answer: Answer, log: list[str]) -> list[Row]:
    """Benchmark 3: vitec_nb's parser vs orjson alone (floor) and vs json + pandas (naive)."""
    body, cid = answer.json, answer.customer_id
    refs = naive.orjson_floor(body)
    runs = interleaved(
        {
            "floor": lambda: naive.orjson_floor(body),
            "ours": lambda: sides.parse(body, cid),
            "naive": lambda: naive.naive_frame(body),
        },
        cfg.parse_reps,
    )
    floor, ours, naive_run = runs["floor"], runs["ours"], runs["naive"]
    if len(ours.value) != refs:
        log.append(f"parse: WARNING the frame has {len(ours.value)} rows for {refs} references")
    xml = interleaved({"xml": lambda: sides.parse(answer.xml, cid, "xml")}, 3)["xml"]
    log.append(
        f"parse: {refs} references; vitec_nb JSON {ours.median * 1000:.1f} ms, "
        f"XML {xml.median * 1000:.1f} ms (median of 3)"
    )
    n = str(cfg.parse_reps)
    return [
        Row(
            "3a parsing vs orjson floor",
            "ms",
            ours.median * 1000,
            floor.median * 1000,
            "orjson.loads alone",
            "≤ 1.5 × floor",
            target_ratio=1.5,
            runs=n,
        ),
        Row(
            "3b parsing vs naive json+pandas",
            "ms",
            ours.median * 1000,
            naive_run.median * 1000,
            "json + DataFrame + to_datetime",
            "(information)",
            runs=n,
        ),
        memory(ours.value, naive_run.value),
    ]


def memory(ours_frame: pd.DataFrame, naive_frame: pd.DataFrame) -> Row:
    """Benchmark 4: deep bytes per reference of vitec_nb's frame vs the naive frame."""
    ours = ours_frame.memory_usage(deep=True).sum() / max(len(ours_frame), 1)
    base = naive_frame.memory_usage(deep=True).sum() / max(len(naive_frame), 1)
    return Row(
        "4  memory: bytes per reference",
        "B",
        float(ours),
        float(base),
        "naive frame",
        "≤ 60 B",
        target_value=60,
        runs="1",
    )


def million_peak(cfg: Config, log: list[str], contacts: int = 1_000_000) -> None:
    """Peak resident memory of a fresh interpreter parsing one answer of `contacts` refs."""
    with sides.standin(contacts, cfg.agents, cfg.seed) as s:
        answer = fetch_body(s, [])
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        f.write(answer.json)
        f.flush()
        size = len(answer.json)
        del answer.json, answer.xml
        out = subprocess.run(
            [sys.executable, "-c", PEAK, f.name, answer.customer_id],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    peak, seconds, rows, _ = out.stdout.split()
    log.append(
        f"parse at scale: {int(rows)} references ({size / 1e6:.0f} MB) parsed in "
        f"{float(seconds):.2f} s, peak RSS {int(peak) / 1e6:.0f} MB (body included)"
    )
