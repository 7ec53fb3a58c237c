"""`python -m vitec_nb.standin --port 8765 --seed 1 --contacts 50000`: serve a stand-in."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from vitec_nb.standin import DIALECTS, serve


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m vitec_nb.standin",
        description="Serve a local Vitec Connect stand-in with synthetic CRM data.",
    )
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed")
    parser.add_argument("--contacts", type=int, default=10_000, help="contacts over all offices")
    parser.add_argument("--offices", type=int, default=3, help="number of offices")
    parser.add_argument(
        "--dialect", choices=list(DIALECTS), default="documented", help="undocumented behaviours"
    )
    parser.add_argument(
        "--throughput", type=float, default=None, help="bytes per second (default: instant)"
    )
    args = parser.parse_args(argv)
    serve(
        port=args.port,
        seed=args.seed,
        contacts=args.contacts,
        offices=args.offices,
        dialect=args.dialect,
        throughput=args.throughput,
    )


if __name__ == "__main__":
    main()
