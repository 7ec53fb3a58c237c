"""Benchmarks 3 and 4: one large answer into the contacts frame, its time and its memory.

The body is a real answer of the stand-in (every contact of one office, no filter), fetched
once; all three parsers then work on the same bytes in memory.
"""

from __future__ import annotations

import requests

from benchmarks import naive, sides
from benchmarks.harness import Config, Row, timed


def fetch_body(cfg: Config, log: list[str]) -> tuple[bytes, str]:
    """Every contact of one office as one JSON answer from a fresh stand-in."""
    with sides.standin(cfg.parse_contacts, cfg.agents, cfg.seed) as s:
        customer_id = s.customer_ids[0]
        response = requests.get(
            f"{s.url}/CRM/Contact/{customer_id}", auth=(s.username, s.password), timeout=120
        )
        response.raise_for_status()
        body = response.content
    log.append(f"parse: one answer of {len(body) / 1e6:.1f} MB")
    return body, customer_id


def parsing(cfg: Config, answer: tuple[bytes, str], log: list[str]) -> list[Row]:
    """Benchmark 3: vitec_nb's parser vs orjson alone (floor) and vs json + pandas (naive)."""
    body, customer_id = answer
    refs = naive.orjson_floor(body)
    floor = timed(lambda: naive.orjson_floor(body), cfg.parse_reps, warmup=1)
    naive_run = timed(lambda: naive.naive_frame(body), cfg.parse_reps, warmup=1)
    rows: list[Row] = []
    try:
        ours = timed(lambda: sides.parse(body, customer_id), cfg.parse_reps, warmup=1)
    except Exception as exc:  # the parser may not have landed yet: say so in the table
        error = f"{type(exc).__name__}: {exc}"[:120]
        return [
            Row("3a parsing vs orjson floor", "ms", error=error),
            Row("3b parsing vs naive json+pandas", "ms", error=error),
        ]
    if len(ours.value) != refs:
        log.append(f"parse: WARNING the frame has {len(ours.value)} rows for {refs} references")
    log.append(f"parse: {refs} references")
    runs = str(cfg.parse_reps)
    rows.append(
        Row(
            "3a parsing vs orjson floor",
            "ms",
            ours.median * 1000,
            floor.median * 1000,
            "orjson.loads alone",
            "≤ 1.5 × floor",
            target_ratio=1.5,
            runs=runs,
        )
    )
    rows.append(
        Row(
            "3b parsing vs naive json+pandas",
            "ms",
            ours.median * 1000,
            naive_run.median * 1000,
            "json + DataFrame + to_datetime",
            "(information)",
            runs=runs,
        )
    )
    rows.append(memory(ours.value, naive_run.value))
    return rows


def memory(ours_frame: object, naive_frame: object) -> Row:
    """Benchmark 4: deep bytes per reference of vitec_nb's frame vs the naive frame."""
    import pandas as pd

    assert isinstance(ours_frame, pd.DataFrame) and isinstance(naive_frame, pd.DataFrame)
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
