"""One answer of 1 000 000 contact references, end to end, in bounded memory and linear time.

A stand-in with a million contacts in one office answers `GET CRM/Contact/{id}` with all of
them in one body (about 93 MB of JSON). A fresh Python process connects through the client
(HTTP, cache, parse) and measures its own peak resident memory; the test asserts it stays
under 500 MB and that a million references take no more memory per reference than a part
of them do. Counts and bytes only: no timing ratios (they depend on the host).

Peak memory is the worker's VmHWM (/proc/self/status), the high-water mark of its own
address space. `ru_maxrss` is reported too but not asserted: Linux carries the parent's
peak across fork+exec into the child's ru_maxrss, so with a stand-in of a million contacts
in the test process it measures the wrong process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vitec_nb.standin import StandIn

pytestmark = pytest.mark.slow

CONTACTS = 1_000_000
PEAK_LIMIT_MB = 500
# Frame bytes per reference of the whole answer over those of a part of it: ~1 when linear
# (ids have one shape; categories and the index are shared), well above when not.
LINEARITY_LIMIT = 1.5

WORKER = r"""
import json, resource, sys, time

def peak_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB -> MiB

import vitec_nb as vnb
import vitec_nb.client, vitec_nb.parse  # loaded before the baseline is taken

url, user, password, customer_id, cache, steps = sys.argv[1:7]
client = vnb.connect(base_url=url, username=user, password=password, cache=cache,
                     customer_ids=[customer_id], timeout=(10, 120))
out = {"baseline_mb": peak_mb()}
for step in steps.split(","):
    filters = {"lead_score": 1} if step == "part" else {}
    started = time.perf_counter()
    frame = client.contacts(customer_id=customer_id, **filters)
    out[step] = {
        "n": len(frame),
        "ids": int(frame["id"].nunique()),
        "from_cache": bool(frame.attrs["from_cache"]),
        "seconds": time.perf_counter() - started,
        "peak_mb": peak_mb(),
        "frame_mb": frame.memory_usage(deep=True).sum() / 2**20,
    }
    del frame
out["ru_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def million() -> Iterator[StandIn]:
    with StandIn(seed=3, contacts=CONTACTS, offices=1) as s:
        yield s


def run_worker(standin: StandIn, cache: Path, steps: str) -> dict:
    """One fresh Python process: connect, run the steps, report its own measurements."""
    done = subprocess.run(
        [sys.executable, "-c", WORKER, standin.url, standin.username, standin.password,
         standin.customer_ids[0], str(cache), steps],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def measured(million: StandIn, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two processes sharing one cache file: the first fetches the whole office (and then a
    quarter of it, for the linearity check), the second reads the whole office from the cache.
    """
    cache = tmp_path_factory.mktemp("scale") / "http_cache.sqlite"
    fetching = run_worker(million, cache, "full,part")
    reading = run_worker(million, cache, "cached")
    out = {"fetch": fetching, "read": reading}
    artifacts = os.environ.get("VITEC_NB_ARTIFACTS")  # written only when asked
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        (Path(artifacts) / "scale.json").write_text(json.dumps(out, indent=2))
    print("scale measurements:", json.dumps(out))
    return {**fetching, "cached": reading["cached"]}


def test_million_reference_answer_is_complete(measured, million) -> None:
    truth = million.truth
    assert measured["full"]["n"] == measured["full"]["ids"] == len(truth) == CONTACTS
    assert measured["part"]["n"] == int((truth["lead_score"] == 1).sum())
    assert measured["cached"]["from_cache"] and measured["cached"]["n"] == CONTACTS


def test_million_reference_answer_peaks_under_500_mb(measured, record_property) -> None:
    fresh, cached = measured["full"]["peak_mb"], measured["cached"]["peak_mb"]
    record_property("peak_mb_fresh", round(fresh))
    record_property("peak_mb_cached", round(cached))
    assert fresh < PEAK_LIMIT_MB, f"fetching and parsing 1M references peaked at {fresh:.0f} MB"
    assert cached < PEAK_LIMIT_MB, f"reading 1M references from the cache peaked at {cached:.0f} MB"


def test_million_references_cost_no_more_memory_each_than_a_quarter_million(measured) -> None:
    """Linear, by bytes rather than seconds: the frame of the whole answer costs no more per
    reference than the frame of a part of it (a timing ratio would depend on the host)."""
    part, full = measured["part"], measured["full"]
    per_ref = (full["frame_mb"] / full["n"]) / (part["frame_mb"] / part["n"])
    assert per_ref < LINEARITY_LIMIT, (
        f"{full['n']} references take {full['frame_mb']:.1f} MB, {part['n']} take "
        f"{part['frame_mb']:.1f} MB: {per_ref:.2f}× the memory per reference"
    )
