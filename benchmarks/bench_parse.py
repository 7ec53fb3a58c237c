"""Benchmarks 3, 4 and 8: one large answer into the contacts frame, its time and memory.

The body is a real answer of the stand-in (every contact of one office, no filter), fetched
once as JSON and once as XML; the parsers then work on the same bytes in memory, so the
transfer model does not enter. Runs alternate floor / vitec_nb / naive so that load from
other processes hits all three alike. Benchmark 8 parses one answer of a million
references in a fresh interpreter, JSON and XML, and reports its peak resident memory.
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
    df = parse_contacts(body, format=sys.argv[3], customer_id=sys.argv[2])
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
    """Every contact of one office as one answer (JSON and XML) from the stand-in `s`.

    Fetched with no transfer cost: only the bytes matter here, not how long they took.
    """
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


def _id_column(frame: pd.DataFrame) -> tuple[float, float]:
    """(bytes per row, characters per id) of the frame's id column: what the ids take."""
    n = max(len(frame), 1)
    chars = float(frame["id"].astype(str).str.len().mean()) if len(frame) else 0.0
    return float(frame["id"].memory_usage(index=False, deep=True)) / n, chars


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
        f"parse: {refs} references, contact ids {sides.id_shape(ours.value['id'])}; vitec_nb "
        f"JSON {ours.median * 1000:.1f} ms, XML {xml.median * 1000:.1f} ms (median of 3)"
    )
    n = str(cfg.parse_reps)
    return [
        Row(
            "3a parsing vs orjson floor",
            "ms",
            ours.median * 1000,
            floor.median * 1000,
            "orjson.loads of the same bytes",
            "≤ 1.0 × floor",
            target_ratio=1.0,
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
        Row(
            "3c XML parsing vs JSON",
            "ms",
            xml.median * 1000,
            ours.median * 1000,
            "vitec_nb JSON, same answer",
            "≤ 3 × JSON",
            target_ratio=3.0,
            runs=f"3 / JSON {n}",
        ),
        *memory(ours.value, naive_run.value, log),
    ]


def memory(ours_frame: pd.DataFrame, naive_frame: pd.DataFrame, log: list[str]) -> list[Row]:
    """Benchmark 4: deep bytes per reference of vitec_nb's frame; the ids' own share; naive."""
    ours = ours_frame.memory_usage(deep=True).sum() / max(len(ours_frame), 1)
    base = naive_frame.memory_usage(deep=True).sum() / max(len(naive_frame), 1)
    id_bytes, id_chars = _id_column(ours_frame)
    log.append(
        f"memory: {ours:.1f} B per reference, of which the id column {id_bytes:.1f} B "
        f"({id_chars:.0f} characters of id + the string's offsets and validity)"
    )
    return [
        Row(
            "4a memory: bytes per reference",
            "B",
            float(ours),
            id_bytes,
            f"the ids alone, {id_chars:.0f} chars + offsets",
            "≤ 60 B",
            target_value=60,
            runs="1",
        ),
        Row(
            "4b memory vs the naive frame",
            "B",
            float(ours),
            float(base),
            "naive frame",
            "(information)",
            runs="1",
        ),
    ]


def large_answer(cfg: Config, log: list[str]) -> list[Row]:
    """Benchmark 8: peak resident memory of a fresh interpreter parsing one answer of
    `cfg.large` references, JSON and XML (body included)."""
    with sides.standin(cfg.large, cfg.agents, cfg.seed, truth=False) as s:
        answer = fetch_body(s, [])
    rows = []
    for fmt, letter in (("json", "a"), ("xml", "b")):
        body = answer.json if fmt == "json" else answer.xml
        figure = f"8{letter} large answer: peak memory, {fmt.upper()}"
        try:
            peak, seconds, n = _peak(body, answer.customer_id, fmt)
        except Exception as exc:  # one format failing still leaves the other's row
            log.append(f"large answer {fmt}: FAILED {exc}")
            rows.append(Row(figure, "MB", error=f"{type(exc).__name__}: {exc}"[:90]))
            continue
        log.append(
            f"large answer {fmt.upper()}: {n} references ({len(body) / 1e6:.0f} MB) parsed in "
            f"{seconds:.2f} s, peak RSS {peak / 1e6:.0f} MB (body included)"
        )
        rows.append(
            Row(
                figure,
                "MB",
                peak / 1e6,
                len(body) / 1e6,
                f"the body itself, {n} refs",
                "< 500 MB",
                target_value=500,
                runs="1",
            )
        )
    return rows


def _peak(body: bytes, customer_id: str, fmt: str) -> tuple[int, float, int]:
    """(peak bytes, seconds, rows) of `parse_contacts` on `body` in a new interpreter."""
    with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as f:
        f.write(body)
        f.flush()
        out = subprocess.run(
            [sys.executable, "-c", PEAK, f.name, customer_id, fmt],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
    if out.returncode:
        raise RuntimeError(out.stderr[-300:])
    peak, seconds, rows, _ = out.stdout.split()
    return int(peak), float(seconds), int(rows)
