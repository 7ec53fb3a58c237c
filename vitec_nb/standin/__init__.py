"""A local Vitec Connect: seeded synthetic CRM data behind a real HTTP server on loopback.

    from vitec_nb.standin import StandIn
    with StandIn(seed=0, contacts=10_000) as s:
        s.url, s.username, s.password, s.customer_ids, s.truth, s.requests

It is the demo's data source, the tests' server and the benchmarks' load. See
docs/standin.md for what it answers, which behaviours Vitec documents and which are ours.
"""

from __future__ import annotations

import threading

from vitec_nb.standin.dialect import DIALECTS, Dialect
from vitec_nb.standin.faults import Faults
from vitec_nb.standin.server import DEMO_PASSWORD, DEMO_USERNAME, RequestRecord, StandIn
from vitec_nb.standin.wire import Transfer

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "DIALECTS",
    "Dialect",
    "Faults",
    "RequestRecord",
    "StandIn",
    "Transfer",
    "serve",
]


def serve(
    port: int = 8765,
    seed: int = 0,
    contacts: int = 10_000,
    offices: int | list[str] | None = None,
    *,
    dialect: Dialect | str | None = None,
    throughput: float | None = None,
) -> None:
    """Serve a stand-in on 127.0.0.1:`port` until Ctrl-C, printing its URL and demo account.

    This is what `vitec-nb standin` and `python -m vitec_nb.standin` run; `dialect` is a
    `Dialect` or a preset name, `throughput` bytes per second (None: instant).
    """
    try:
        with StandIn(
            seed=seed,
            contacts=contacts,
            offices=offices,
            port=port,
            dialect=dialect,
            throughput=throughput,
        ) as s:
            print(f"Vitec Connect stand-in serving at {s.url}", flush=True)
            print(f"  offices:   {', '.join(s.customer_ids)}")
            speaks = (
                dialect if isinstance(dialect, str) else "documented" if dialect is None else ""
            )
            print(f"  contacts:  {s.dataset.size} (seed {seed}; dialect {speaks or s.dialect})")
            print(f"  user name: {s.username}")
            print(f"  password:  {s.password}  (demo account, allowed on every office)")
            example = f"{s.url}/CRM/Contact/{s.customer_ids[0]}?LeadScore=5"
            print(f"  try:       curl -u {s.username}:'{s.password}' '{example}'")
            print("Press Ctrl-C to stop.", flush=True)
            threading.Event().wait()
    except KeyboardInterrupt:
        print("\nStopped.", flush=True)
