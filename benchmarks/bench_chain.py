"""Benchmark 9: the chain, 20 offices x 25 000 contacts by office x month over 24 months.

vitec_nb runs one breakdown over the stand-in's office group of all 20 offices
(`office_group=`, `by=("office",)`); the naive per-office loop asks one plain request per
office per month, sequentially, as a notebook does. Each side runs in a fresh interpreter
so its peak resident memory is its own (Python, pandas and the answers included); calls are
counted from the stand-in's request log (lookups included), and both sides' counts are held
against the stand-in's ground truth. Optional: `benchmarks/run.py --only 9`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import requests

from benchmarks import naive, sides
from benchmarks.harness import Config, Row

ROOT = Path(__file__).resolve().parent.parent
TZ = "Europe/Stockholm"
FIGURES = (
    "9a chain: calls",
    "9b chain: wall time",
    "9c chain: peak memory",
)
OFFICES, PER_OFFICE = 20, 25_000

# One side of the benchmark in a fresh interpreter (both import the same modules first, so
# the peaks compare the runs): prints a JSON line with the run's wall seconds, peak RSS bytes
# (and the RSS after the imports) and the counts {"YYYY-MM office": n}. vitec_nb's connect
# (the credential tag) is outside the timed run, as the naive loop has none.
_CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
a = json.loads(sys.argv[2])
import pandas as pd
import vitec_nb
from benchmarks import bench_chain
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
if a["side"] == "ours":
    client = vitec_nb.connect(a["url"], username=a["username"], password=a["password"],
                              cache=a["cache"], customer_ids=a["offices"])
    t = time.perf_counter()
    result = client.breakdown(vitec_nb.ContactQuery(a["offices"][0]), by=("office",),
                              office_group=a["group"], start=a["start"], end=a["end"],
                              progress=False)
    counts = {f"{p:%Y-%m} {o}": int(n) for p, o, n in
              zip(result.counts["period"], result.counts["office"], result.counts["contacts"])}
else:
    t = time.perf_counter()
    counts = bench_chain.naive_offices(a["url"], (a["username"], a["password"]), a["offices"],
                                       pd.Timestamp(a["start"]), a["months"])
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"wall": wall, "peak": peak, "before": before, "counts": counts}))
"""


def chain(cfg: Config, log: list[str]) -> list[Row]:
    """Benchmark 9 under the run's transfer model; one run of each side (each takes long)."""
    offices, per_office = (3, 1_000) if cfg.quick else (OFFICES, PER_OFFICE)
    kwargs = {"seed": cfg.seed, "contacts": offices * per_office, "offices": offices}
    with _standin(kwargs) as s:
        paced = sides.set_transfer(s, cfg.latency, cfg.throughput)
        start, end = sides.months_window(s, cfg.months)
        truth = _truth(s, start, end)
        group = _whole_chain(s)
        log.append(
            f"chain: {offices} offices x {per_office} contacts, group {group!r}, by office x "
            f"month, {cfg.months} months from {start:%Y-%m}; {cfg.model()}"
            + ("" if paced or not cfg.throughput else f" ({sides.THROUGHPUT_UNSUPPORTED})")
        )
        args = {
            "url": s.url,
            "username": s.username,
            "password": s.password,
            "offices": list(s.customer_ids),
            "group": group,
            "start": str(start.date()),
            "end": str((end - pd.Timedelta(days=1)).date()),  # a date: the whole last day
            "months": cfg.months,
        }
        with tempfile.TemporaryDirectory() as tmp:
            ours = _side(s, {**args, "side": "ours", "cache": str(Path(tmp) / "c.sqlite")})
        base = _side(s, {**args, "side": "naive"})
    for name, run in (("vitec_nb", ours), ("naive loop", base)):
        off = _difference(run["counts"], truth)
        log.append(
            f"chain {name}: {run['calls']} calls ({run['contact_calls']} contact lists), "
            f"{run['wall']:.2f} s, peak RSS {run['peak'] / 1e6:.0f} MB (after the imports "
            f"{run['before'] / 1e6:.0f} MB); counts "
            + ("equal the ground truth" if off == 0 else f"differ from the truth by {off} contacts")
        )
    return _rows(ours, base, _difference(ours["counts"], truth) == 0)


def naive_offices(
    base_url: str, auth: tuple[str, str], offices: list[str], start: pd.Timestamp, months: int
) -> dict[str, int]:
    """The naive per-office loop: one plain request per office x month, sequential, no
    cache, each answer through json + pandas (benchmarks/naive.py), month ends written as
    people write them (…T23:59:59)."""
    counts: dict[str, int] = {}
    for office in offices:
        for month in naive.month_starts(start, months):
            last_day = month + pd.offsets.MonthEnd(0)
            params = {
                "CreatedAtFrom": month.strftime("%Y-%m-%dT00:00:00"),
                "CreatedAtTo": last_day.strftime("%Y-%m-%dT23:59:59"),
            }
            url = f"{base_url}/CRM/Contact/{office}"
            response = requests.get(url, params=params, auth=auth, timeout=120)
            response.raise_for_status()
            counts[f"{month:%Y-%m} {office}"] = len(naive.naive_frame(response.text))
    return counts


def _standin(kwargs: dict[str, Any]) -> Any:
    if sides.IN_PROCESS:
        from vitec_nb.standin import StandIn

        return StandIn(**kwargs, agents=2)
    from benchmarks.remote import RemoteStandIn

    return RemoteStandIn(**kwargs, agents=2)


def _whole_chain(s: Any) -> str:
    """The name of the stand-in's office group holding every office (a plain request)."""
    office = s.customer_ids[0]
    response = requests.get(
        f"{s.url}/CRM/Officegroups/{office}", auth=(s.username, s.password), timeout=60
    )
    response.raise_for_status()
    for group in response.json():
        if {o["id"] for o in group["offices"]} == set(s.customer_ids):
            return str(group["name"])
    raise RuntimeError("the stand-in has no office group of every office")


def _truth(s: Any, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, int]:
    """Ground truth: contacts created per "YYYY-MM office" in [start, end) (naive local)."""
    created = s.truth["created_at"].dt.tz_convert(TZ).dt.tz_localize(None)
    keep = (created >= start) & (created < end)
    keys = created[keep].dt.strftime("%Y-%m") + " " + s.truth.loc[keep, "customer_id"].astype(str)
    return {k: int(n) for k, n in keys.value_counts().items()}


def _difference(counts: dict[str, int], truth: dict[str, int]) -> int:
    """Contacts by which `counts` differ from the truth, summed over every cell."""
    return sum(abs(counts.get(k, 0) - truth.get(k, 0)) for k in set(counts) | set(truth))


def _side(s: Any, args: dict[str, Any]) -> dict[str, Any]:
    """One side in a new interpreter: its wall time, peak memory, counts and calls."""
    s.clear_requests()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(ROOT), json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode:
        raise RuntimeError(f"the {args['side']} side failed: {done.stderr[-1500:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    log = s.requests
    out["calls"] = len(log)
    out["contact_calls"] = sum(1 for r in log if r.path.startswith("/CRM/Contact/"))
    return out


def _rows(ours: dict[str, Any], base: dict[str, Any], exact: bool) -> list[Row]:
    return [
        Row(FIGURES[0], "calls", ours["calls"], base["calls"], "naive per-office loop",
            "(information: exact, lookups included)", condition=exact, runs="1 / naive 1"),
        Row(FIGURES[1], "s", ours["wall"], base["wall"], "naive per-office loop",
            "(information)", runs="1 / naive 1"),
        Row(FIGURES[2], "MB", ours["peak"] / 1e6, base["peak"] / 1e6, "naive per-office loop",
            "≤ 1 GB", target_value=1000, runs="1 / naive 1"),
    ]  # fmt: skip
