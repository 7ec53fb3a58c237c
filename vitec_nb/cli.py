"""The `vitec-nb` command: fetch, breakdown, agents, cache, doctor, stand-in, demo, report.

A thin layer over the library: each subcommand calls one public function. Credentials
come from the environment or the keyring (never from the command line, where other users
could read them in the process list); with none configured, fetch uses demo data.
Errors print one readable line to stderr and exit non-zero, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vitec_nb import vocab
from vitec_nb.errors import VitecError
from vitec_nb.query import PARAMETERS

__all__ = ["main"]

OUTPUT_SUFFIXES = (".csv", ".xlsx", ".parquet")
COUNT_SUFFIXES = (".csv", ".xlsx")


def _add_filters(p: argparse.ArgumentParser) -> None:
    """The offices and the query's filters as options (shared by fetch and breakdown)."""
    p.add_argument("customer_id", nargs="+", help="office id(s), e.g. M30011")
    for name, param in PARAMETERS.items():
        if name == "customer_id":
            continue
        p.add_argument(
            f"--{name.replace('_', '-')}", dest=name, default=None, help=param.description
        )
    p.add_argument(
        "--agent", default=None, metavar="NAME",
        help='only contacts of the agent with this name, e.g. "Sara Lundgren" (found in the '
        "users lookup; see `vitec-nb agents`); --agent-id takes the user id instead",
    )  # fmt: skip


def _add_output(p: argparse.ArgumentParser, suffixes: Sequence[str]) -> None:
    """--out, --csv-style, --refresh/--offline and --cache."""
    p.add_argument("--out", required=True, type=Path, help="output file: " + ", ".join(suffixes))
    p.add_argument(
        "--csv-style",
        choices=("plain", "excel-sv"),
        default="plain",
        help="CSV for: plain (commas, times with offsets; default) or excel-sv (Excel with "
        "Swedish settings: semicolons, UTF-8 with BOM, local times)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--refresh", action="store_true", help="ask the server even if cached")
    mode.add_argument("--offline", action="store_true", help="answer from the cache only")
    p.add_argument("--cache", default=None, help="cache path or redis:// URL")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vitec-nb",
        description="Explore Vitec Connect CRM contacts: fetch to files, manage the cache, "
        "run the stand-in, the demo and the report. Credentials come from VITEC_* "
        "environment variables or the keyring (docs/credentials.md); with none, demo data.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("standin", help="serve a local Vitec Connect stand-in until Ctrl-C")
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765)")
    p.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    p.add_argument("--contacts", type=int, default=10_000, help="contacts in total")
    p.add_argument("--offices", type=int, default=None, help="number of offices")
    p.add_argument("--dialect", default="documented", help="stand-in dialect (docs/standin.md)")
    p.add_argument("--throughput", type=float, default=None, help="bytes per second")

    p = sub.add_parser(
        "fetch", help="fetch contacts to a CSV, Excel or Parquet file and print a summary"
    )
    _add_filters(p)
    _add_output(p, OUTPUT_SUFFIXES)
    p.add_argument("--format", choices=("json", "xml"), default="json", help="answer format")

    p = sub.add_parser(
        "breakdown",
        help="count contacts per period and agent (or other dimensions) to a CSV or Excel file",
    )
    _add_filters(p)
    _add_output(p, COUNT_SUFFIXES)
    p.add_argument(
        "--by", default="agent",
        help="dimensions, comma-separated: agent, lead_score, newsletter_list, "
        "scheduled_order_type, office; '' for totals (default agent)",
    )  # fmt: skip
    p.add_argument("--measure", choices=("created", "changed"), default="created",
                   help="count by creation (default) or by last change")  # fmt: skip
    p.add_argument("--period", default="M", help="D, W, M (default), Q or Y")
    p.add_argument("--start", default=None, help="first day, included, e.g. 2025-01-01")
    p.add_argument("--end", default=None, help="last day, included, e.g. 2025-12-31")

    p = sub.add_parser("agents", help="list an office's agents: name, id, title, archived, public")
    p.add_argument("customer_id", nargs="+", help="office id(s), e.g. M30011")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--refresh", action="store_true", help="ask the server even if cached")
    mode.add_argument("--offline", action="store_true", help="answer from the cache only")
    p.add_argument("--cache", default=None, help="cache path or redis:// URL")

    p = sub.add_parser("cache", help="show or clear the answer cache")
    p.add_argument("action", choices=("info", "clear"))
    p.add_argument("--cache", default=None, help="cache path or redis:// URL")
    p.add_argument("--expired", action="store_true", help="with clear: remove only expired answers")

    p = sub.add_parser(
        "doctor", help="check the account and how the server behaves (docs/doctor.md)"
    )
    p.add_argument(
        "--office", nargs="+", action="extend", default=None, metavar="M30011",
        help="office id(s) to check (default: every configured office)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--cache", default=None, help="cache path or redis:// URL")

    p = sub.add_parser("demo", help="open the contact explorer in JupyterLab (demo data)")
    p.add_argument("--port", type=int, default=None, help="JupyterLab port")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")

    p = sub.add_parser("report", help="render the activity report notebook to HTML")
    p.add_argument("--out", type=Path, default=Path("report.html"), help="HTML file to write")
    p.add_argument("--office", default=None, help="office id(s), comma-separated")
    p.add_argument("--period", default=None, help="D, W, M, Q or Y")
    p.add_argument("--start", default=None, help="first day, e.g. 2025-01-01")
    p.add_argument("--end", default=None, help="last day, included, e.g. 2025-12-31")
    p.add_argument(
        "--language",
        default=None,
        help="en or sv (default: VITEC_NB_LANGUAGE, else the locale)",
    )
    p.add_argument(
        "--by", default=None, metavar="DIM[,DIM]",
        help="the report's breakdowns, comma-separated, e.g. agent,lead_score (the default)",
    )  # fmt: skip
    for name, param in PARAMETERS.items():  # the report's further filters
        if name != "customer_id":
            p.add_argument(f"--{name.replace('_', '-')}", dest=name, help=param.description)
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
    filters = {
        name: getattr(args, name)
        for name in PARAMETERS
        if name != "customer_id" and getattr(args, name) is not None
    }
    offices = args.customer_id[0] if len(args.customer_id) == 1 else list(args.customer_id)
    return ContactQuery(offices, **filters)


def _with_agent(client: Any, query: Any, args: argparse.Namespace) -> Any:
    """`query` with --agent's name resolved to a user id through the users lookup."""
    import dataclasses

    import pandas as pd

    from vitec_nb.plan.names import agent_id_for

    if args.agent is None and args.agent_id is None:
        return query
    frames = [
        client.agents(office, refresh=args.refresh, offline=args.offline)
        for office in query.customer_ids
    ]
    agents = pd.concat(frames)
    if args.agent is not None:
        return dataclasses.replace(query, agent_id=agent_id_for(agents, args.agent))
    _check_agent_id(agents, args.agent_id)
    return query


def _check_agent_id(agents: Any, agent_id: str) -> None:
    """--agent-id must be a user id: a name there would silently match nobody."""
    from vitec_nb.errors import InvalidQueryError
    from vitec_nb.plan.names import agent_id_for

    if agent_id.strip() in set(map(str, agents["user_id"])):
        return
    try:
        found = agent_id_for(agents, agent_id, option="agent-id")
    except InvalidQueryError:
        found = None
    if found is not None:
        raise InvalidQueryError(
            "agent-id",
            f"{agent_id!r} is an agent's name, not a user id (its id is {found})",
            f"--agent {agent_id!r}, or --agent-id {found}",
        )
    if " " in agent_id.strip():
        raise InvalidQueryError(
            "agent-id",
            f"{agent_id!r} is neither a listed agent's id nor a name `vitec-nb agents` lists",
            "a user id (see `vitec-nb agents`), or --agent NAME",
        )
    # an id no lookup lists may still be real (GetUser lists public users only): say so
    print(
        f"note: --agent-id {agent_id} is not among the users the lookup lists; it is sent as given",
        file=sys.stderr,
    )


def _fetch(args: argparse.Namespace) -> int:
    from vitec_nb.client import connect

    out: Path = args.out
    query = _query(args, OUTPUT_SUFFIXES)
    client = connect(cache=args.cache)
    try:
        query = _with_agent(client, query, args)
        frame = client.contacts(
            query, format=args.format, refresh=args.refresh, offline=args.offline
        )
    finally:
        client.close()
    _write(frame, out, args.csv_style)
    print(_summary(frame, out))
    return 0


def _write(frame: Any, out: Path, csv_style: str = "plain") -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix in (".csv", ".xlsx"):  # the form's export: the same columns and header
        from vitec_nb.form_output import contacts_caption, export_contacts

        export_contacts(frame, out, caption=contacts_caption(frame), csv_style=csv_style)
    else:
        # Parquet keeps attrs as JSON metadata: store the provenance as plain text.
        plain = frame.copy(deep=False)
        plain.attrs = {k: str(v) for k, v in frame.attrs.items() if k != "offices"}
        plain.to_parquet(out, index=False)


def _summary(frame: Any, out: Path) -> str:
    attrs = frame.attrs
    counts = frame["kind"].value_counts()
    words = vocab.KIND_LABELS["en"]
    kinds = ", ".join(f"{counts.get(k, 0)} {words.get(k, k)}" for k in counts.index)
    source = "from the cache" if attrs.get("from_cache") else "fetched"
    if attrs.get("stale"):
        source = "STALE from the cache (the server failed)"
    fetched = attrs.get("fetched_at")
    when = f" at {fetched:%Y-%m-%d %H:%M}" if fetched is not None else ""
    demo = f" [{vocab.DEMO_SOURCE}]" if attrs.get("demo") else ""
    query = attrs.get("query")
    return (
        f"Wrote {len(frame)} contacts ({kinds or 'none'}) to {out} — {query}, {source}{when}{demo}"
    )


def _breakdown(args: argparse.Namespace) -> int:
    from vitec_nb.client import connect
    from vitec_nb.form_output import export_contacts, make_caption

    out: Path = args.out
    query = _query(args, COUNT_SUFFIXES)
    by = tuple(d.strip() for d in args.by.split(",") if d.strip())
    client = connect(cache=args.cache)
    try:
        query = _with_agent(client, query, args)
        result = client.breakdown(
            query, by=by, measure=args.measure, period=args.period, start=args.start,
            end=args.end, refresh=args.refresh, offline=args.offline, progress=False,
        )  # fmt: skip
    finally:
        client.close()
    caption = make_caption(result, names=result.labels, ranges={}, demo=result.demo)
    export_contacts(result.counts, out, caption=caption, csv_style=args.csv_style,
                    names=result.labels)  # fmt: skip
    print(result.summary())
    split = " × ".join(["period", *by])
    print(f"Wrote {len(result.counts)} rows (contacts per {split}) to {out}")
    return 0


def _agents(args: argparse.Namespace) -> int:
    import pandas as pd

    from vitec_nb.client import connect
    from vitec_nb.plan.names import agent_labels
    from vitec_nb.vocab import normalize_customer_id

    offices = [normalize_customer_id(o) for o in args.customer_id]
    client = connect(cache=args.cache)
    try:
        frames = [client.agents(o, refresh=args.refresh, offline=args.offline) for o in offices]
    finally:
        client.close()
    for office, frame in zip(offices, frames, strict=True):
        complete = frame.attrs.get("agents_complete", True)
        which = "every user (GetAllUsers)" if complete else "public users only (GetUser)"
        demo = f" [{vocab.DEMO_SOURCE}]" if frame.attrs.get("demo") else ""
        print(f"{office}: {len(frame)} agents, {which}{demo}")
        if frame.empty:
            continue
        table = pd.DataFrame(
            {
                "name": frame["user_id"].astype(str).map(agent_labels(frame)),
                "id": frame["user_id"].astype(str),
                "title": frame["title"].fillna(""),
                "archived": frame["archived"].map({True: "archived", False: ""}),
                "public": frame["public"].map({True: "public", False: "not public"}),
            }
        ).sort_values("name", key=lambda s: s.str.casefold())
        print(_left_aligned(table))
    return 0


def _left_aligned(table: Any) -> str:
    """A text table, every column left-aligned (names read better so)."""
    widths = {c: max([len(c), *map(len, table[c])]) for c in table.columns}
    rows = [list(table.columns), *table.itertuples(index=False)]
    return "\n".join(
        "  ".join(str(v).ljust(widths[c]) for c, v in zip(table.columns, row, strict=True)).rstrip()
        for row in rows
    )


def _cache(args: argparse.Namespace) -> int:
    from vitec_nb import cache as cache_mod
    from vitec_nb.settings import Settings

    configured = Settings.resolve(cache=args.cache, demo=True).cache
    targets = [configured]
    if configured is None:  # the default location: the demo cache lives beside it
        targets = [cache_mod.default_cache_path(), cache_mod.demo_cache_path()]
    for target in targets:
        if isinstance(target, Path) and not cache_mod.sqlite_path(target, create=False).exists():
            print(f"{cache_mod.sqlite_path(target, create=False)}: no cache yet")
            continue
        session = cache_mod.make_session(target)
        try:
            if args.action == "info":
                info = cache_mod.cache_description(session)
                fresh = info.get("fresh")
                size = f", {info['bytes'] / 1e6:.1f} MB" if "bytes" in info else ""
                print(
                    f"{info.get('location', info['backend'])}: {info['responses']} answers"
                    f"{'' if fresh is None else f' ({fresh} fresh)'}{size}"
                )
            else:
                before = len(session.cache.responses)
                if args.expired:
                    session.cache.delete(expired=True)
                else:
                    session.cache.clear()
                after = len(session.cache.responses)
                where = cache_mod.cache_description(session).get("location", "cache")
                print(f"{where}: removed {before - after} answers, {after} left")
        finally:
            session.close()
    return 0


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
    filters = {
        name: getattr(args, name)
        for name in PARAMETERS
        if name != "customer_id" and getattr(args, name) is not None
    }
    if filters:
        from vitec_nb.query import ContactQuery

        ContactQuery("M1", **filters)  # a bad filter fails here, before a kernel starts
        params["filters"] = filters
    path = render_report(args.out, **params)
    print(f"Wrote the activity report to {path}")
    return 0
