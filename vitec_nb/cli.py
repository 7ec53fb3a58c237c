"""The `vitec-nb` command: fetch, breakdown, agents, cache, doctor, stand-in, demo, report.

A thin layer over the library: each subcommand calls one public function. Credentials
come from the environment or the keyring (never from the command line, where other users
could read them in the process list); with none configured, fetch uses demo data.
Errors print one readable line to stderr and exit non-zero, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vitec_nb.errors import VitecError
from vitec_nb.export import CONTACT_SUFFIXES, COUNT_SUFFIXES
from vitec_nb.query import PARAMETERS

__all__ = ["main"]


_CACHE: Any = ("--cache", {"default": None, "help": "cache path or redis:// URL"})
_PERIOD_HELP = "D, W, M (default), Q or Y"
_END_HELP = "last day, included, e.g. 2025-12-31"


def _add_filters(p: argparse.ArgumentParser) -> None:
    """The offices and the query's filters as options (shared by fetch and breakdown)."""
    p.add_argument("customer_id", nargs="+", help="office id(s), e.g. M30011")
    for name, param in PARAMETERS.items():
        if name != "customer_id":
            p.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None,
                           help=param.description)  # fmt: skip
    p.add_argument(
        "--agent", default=None, metavar="NAME",
        help='only contacts of the agent with this name, e.g. "Sara Lundgren" (found in the '
        "users lookup; see `vitec-nb agents`); --agent-id takes the user id instead",
    )  # fmt: skip


def _add_mode(p: argparse.ArgumentParser) -> None:
    """--refresh or --offline (not both)."""
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--refresh", action="store_true", help="ask the server even if cached")
    mode.add_argument("--offline", action="store_true", help="answer from the cache only")


def _add_output(suffixes: Sequence[str]) -> Callable[[argparse.ArgumentParser], None]:
    """--out, --csv-style, --refresh/--offline and --cache."""

    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--out", required=True, type=Path, help="output file: " + ", ".join(suffixes)
        )
        p.add_argument(
            "--csv-style", choices=("plain", "excel-sv"), default="plain",
            help="CSV for: plain (commas, times with offsets; default) or excel-sv (Excel with "
            "Swedish settings: semicolons, UTF-8 with BOM, local times)",
        )  # fmt: skip
        _add_mode(p)
        p.add_argument(_CACHE[0], **_CACHE[1])

    return add


def _add_report_filters(p: argparse.ArgumentParser) -> None:
    for name, param in PARAMETERS.items():  # the report's further filters
        if name != "customer_id":
            p.add_argument(f"--{name.replace('_', '-')}", dest=name, help=param.description)


# command -> (help, its arguments: (name, keywords) or a function adding a group of them)
_COMMANDS: dict[str, tuple[str, list[Any]]] = {
    "standin": ("serve a local Vitec Connect stand-in until Ctrl-C", [
        ("--port", {"type": int, "default": 8765, "help": "port on 127.0.0.1 (default 8765)"}),
        ("--seed", {"type": int, "default": 0, "help": "dataset seed (default 0)"}),
        ("--contacts", {"type": int, "default": 10_000, "help": "contacts in total"}),
        ("--offices", {"type": int, "default": None, "help": "number of offices"}),
        ("--dialect", {"default": "documented", "help": "stand-in dialect (docs/standin.md)"}),
        ("--throughput", {"type": float, "default": None, "help": "bytes per second"}),
    ]),
    "fetch": ("fetch contacts to a CSV, Excel or Parquet file and print a summary", [
        _add_filters, _add_output(CONTACT_SUFFIXES),
        ("--format", {"choices": ("json", "xml"), "default": "json", "help": "answer format"}),
    ]),
    "breakdown": (
        "count contacts per period and agent (or other dimensions) to a CSV or Excel file", [
        _add_filters, _add_output(COUNT_SUFFIXES),
        ("--by", {"default": "agent", "help": "dimensions, comma-separated: agent, lead_score, "
                  "newsletter_list, scheduled_order_type, office; '' for totals (default agent)"}),
        ("--measure", {"choices": ("created", "changed"), "default": "created",
                       "help": "count by creation (default) or by last change"}),
        ("--period", {"default": "M", "help": _PERIOD_HELP}),
        ("--start", {"default": None, "help": "first day, included, e.g. 2025-01-01"}),
        ("--end", {"default": None, "help": _END_HELP}),
    ]),
    "agents": ("list an office's agents: name, id, title, archived, public", [
        ("customer_id", {"nargs": "+", "help": "office id(s), e.g. M30011"}), _add_mode, _CACHE,
    ]),
    "cache": ("show or clear the answer cache", [
        ("action", {"choices": ("info", "clear")}), _CACHE,
        ("--expired", {"action": "store_true", "help": "with clear: remove only expired answers"}),
    ]),
    "doctor": ("check the account and how the server behaves (docs/doctor.md)", [
        ("--office", {"nargs": "+", "action": "extend", "default": None, "metavar": "M30011",
                      "help": "office id(s) to check (default: every configured office)"}),
        ("--json", {"action": "store_true", "help": "print the findings as JSON"}), _CACHE,
    ]),
    "demo": ("open the contact explorer in JupyterLab (demo data)", [
        ("--port", {"type": int, "default": None, "help": "JupyterLab port"}),
        ("--no-browser", {"action": "store_true", "help": "do not open a browser"}),
    ]),
    "report": ("render the activity report notebook to HTML", [
        ("--out", {"type": Path, "default": Path("report.html"), "help": "HTML file to write"}),
        ("--office", {"default": None, "help": "office id(s), comma-separated"}),
        ("--period", {"default": None, "help": "D, W, M, Q or Y"}),
        ("--start", {"default": None, "help": "first day, e.g. 2025-01-01"}),
        ("--end", {"default": None, "help": _END_HELP}),
        ("--language", {"default": None,
                        "help": "en or sv (default: VITEC_NB_LANGUAGE, else the locale)"}),
        ("--by", {"default": None, "metavar": "DIM[,DIM]", "help": "the report's breakdowns, "
                  "comma-separated, e.g. agent,lead_score (the default)"}),
        _add_report_filters,
    ]),
}  # fmt: skip


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vitec-nb",
        description="Explore Vitec Connect CRM contacts: fetch to files, manage the cache, "
        "run the stand-in, the demo and the report. Credentials come from VITEC_* "
        "environment variables or the keyring (docs/credentials.md); with none, demo data.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command, (text, arguments) in _COMMANDS.items():
        p = sub.add_parser(command, help=text)
        for argument in arguments:
            if callable(argument):
                argument(p)
            else:
                p.add_argument(argument[0], **argument[1])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 success, 1 error, 2 usage, 130 Ctrl-C)."""
    args = _build_parser().parse_args(argv)
    handlers = {
        "standin": _standin,
        "fetch": _fetch,
        "breakdown": _breakdown,
        "agents": _agents,
        "cache": _cache,
        "doctor": _doctor,
        "demo": _demo,
        "report": _report,
    }
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        print("vitec-nb: interrupted", file=sys.stderr)
        return 130
    except (VitecError, OSError, ValueError, ImportError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"vitec-nb: error: {message}", file=sys.stderr)
        return 1


def _standin(args: argparse.Namespace) -> int:
    from vitec_nb.standin import serve

    serve(port=args.port, seed=args.seed, contacts=args.contacts, offices=args.offices,
          dialect=args.dialect, throughput=args.throughput)  # fmt: skip
    return 0


def _query(args: argparse.Namespace, suffixes: Sequence[str]) -> Any:
    """The `ContactQuery` of the options (checked: bad input fails before connecting)."""
    from vitec_nb.query import ContactQuery

    out: Path = args.out
    if out.suffix.lower() not in suffixes:
        allowed = ", ".join(suffixes)
        raise ValueError(f"--out: {out.name} has no known suffix (allowed: {allowed})")
    if args.agent is not None and args.agent_id is not None:
        raise ValueError(
            f"--agent, --agent-id: give one, got {args.agent!r} and {args.agent_id!r} "
            "(allowed: --agent NAME or --agent-id USER_ID)"
        )
    if args.agent is not None and not args.agent.strip():
        raise ValueError("--agent: an empty name (allowed: a name that `vitec-nb agents` lists)")
    many: tuple[str, ...] = tuple(args.customer_id)
    offices = many[0] if len(many) == 1 else many
    return ContactQuery(offices, **_filters(args))


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    """The query's filters given as options."""
    return {
        name: getattr(args, name)
        for name in PARAMETERS
        if name != "customer_id" and getattr(args, name) is not None
    }


def _note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


def _fetch(args: argparse.Namespace) -> int:
    from vitec_nb.client import connect
    from vitec_nb.export import contacts_written, fetch_to_file

    query = _query(args, CONTACT_SUFFIXES)
    with connect(cache=args.cache) as client:
        frame = fetch_to_file(
            client, query, args.out, agent=args.agent, format=args.format, refresh=args.refresh,
            offline=args.offline, csv_style=args.csv_style, note=_note,
        )  # fmt: skip
    print(contacts_written(frame, args.out))
    return 0


def _breakdown(args: argparse.Namespace) -> int:
    from vitec_nb.client import connect
    from vitec_nb.export import breakdown_to_file, counts_written

    query = _query(args, COUNT_SUFFIXES)
    by = tuple(d.strip() for d in args.by.split(",") if d.strip())
    with connect(cache=args.cache) as client:
        result = breakdown_to_file(
            client, query, args.out, by=by, agent=args.agent, csv_style=args.csv_style,
            note=_note, measure=args.measure, period=args.period, start=args.start,
            end=args.end, refresh=args.refresh, offline=args.offline, progress=False,
        )  # fmt: skip
    print(result.summary())
    print(counts_written(result, args.out))
    return 0


def _agents(args: argparse.Namespace) -> int:
    from vitec_nb.client import connect
    from vitec_nb.plan.names import agents_text
    from vitec_nb.vocab import normalize_customer_id

    offices = [normalize_customer_id(o) for o in args.customer_id]
    with connect(cache=args.cache) as client:
        frames = [client.agents(o, refresh=args.refresh, offline=args.offline) for o in offices]
    for office, frame in zip(offices, frames, strict=True):
        print(agents_text(frame, office))
    return 0


def _cache(args: argparse.Namespace) -> int:
    from vitec_nb import cache as cache_mod

    if args.action == "info":
        found = cache_mod.describe_caches(args.cache)
    else:
        found = cache_mod.clear_caches(args.cache, expired_only=args.expired)
    for one in found:
        print(f"{one['location']}: {_cache_line(one)}")
    return 0


def _cache_line(one: dict[str, Any]) -> str:
    if one.get("missing"):
        return "no cache yet"
    if "removed" in one:
        return f"removed {one['removed']} answers, {one['left']} left"
    fresh = "" if one.get("fresh") is None else f" ({one['fresh']} fresh)"
    size = f", {one['bytes'] / 1e6:.1f} MB" if "bytes" in one else ""
    return f"{one['responses']} answers{fresh}{size}"


def _doctor(args: argparse.Namespace) -> int:
    import json

    from vitec_nb.client import connect

    client = connect(cache=args.cache)
    try:
        # the call count goes first; with --json to stderr, so stdout stays one JSON document
        echo = (lambda line: print(line, file=sys.stderr)) if args.json else print
        report = client.doctor(args.office, echo=echo)
    finally:
        client.close()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        print(report.text())
    return 0 if report.ok else 1


def _demo(args: argparse.Namespace) -> int:
    from vitec_nb.report import launch_demo

    return int(launch_demo(port=args.port, open_browser=not args.no_browser) or 0)


def _report(args: argparse.Namespace) -> int:
    from vitec_nb.report import render_report

    params: dict[str, Any] = {}
    if args.office:
        offices = [o.strip() for o in args.office.split(",") if o.strip()]
        params["office"] = offices[0] if len(offices) == 1 else offices
    for name in ("period", "start", "end", "language"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    if args.by is not None:
        params["dimensions"] = [d.strip() for d in args.by.split(",") if d.strip()]
    filters = _filters(args)
    if filters:
        params["filters"] = filters  # a bad one fails before a kernel starts
    path = render_report(args.out, **params)
    print(f"Wrote the activity report to {path}")
    return 0
