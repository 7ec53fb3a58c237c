"""How the benchmarks drive vitec_nb and the stand-in: every call into the package in one place.

Kept apart from the measuring code so that a change in the package's surface is fixed here
once. Each function is the plain use an analyst would make of the public API.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

TZ = "Europe/Stockholm"
# The stand-in runs in a child process (like a remote API) unless run.py --in-process.
IN_PROCESS = False


@contextmanager
def standin(
    contacts: int, agents: int, seed: int, latency: float = 0.0, truth: bool = True
) -> Iterator[Any]:
    """A one-office stand-in with `contacts` contacts and `agents` agents (some archived).

    In its own process by default (benchmarks/remote.py), in this one with IN_PROCESS;
    `truth` False: the ground truth is not needed (not sent from the child process).
    """
    kwargs = {"seed": seed, "contacts": contacts, "offices": 1, "latency": latency}
    if IN_PROCESS:
        from vitec_nb.standin import StandIn

        with StandIn(**kwargs, agents=agents) as s:
            yield s
    else:
        from benchmarks.remote import RemoteStandIn

        with RemoteStandIn(**kwargs, agents=agents, truth=truth) as s:
            yield s


# Whether the stand-in paces bodies (`throughput=`, issue 13); found out by `set_transfer`.
THROUGHPUT_UNSUPPORTED = "throughput: not supported by this stand-in"


def set_transfer(s: Any, latency: float, throughput: float) -> bool:
    """Put the stand-in under the transfer model: `latency` s, then bytes at `throughput`.

    Every request pays it, lookups included (a real server does not answer them for free).
    `throughput` 0 means instant bodies. Returns whether bodies are paced: False also when
    the stand-in has no `throughput` switch yet (only the latency applies; the run says so).
    """
    s.set_faults()
    if throughput:
        try:
            s.set_faults(latency=latency, lookups=True, throughput=throughput)
            return True
        except (TypeError, ValueError, RuntimeError) as exc:  # RuntimeError: remote stand-in
            if "throughput" not in str(exc):
                raise
            s.set_faults()
    s.set_faults(latency=latency, lookups=True)
    return False


def transfer_cost(size: int, latency: float, throughput: float, paced: bool) -> float:
    """Seconds one answer of `size` bytes costs under the model (as the stand-in applies it)."""
    return latency + (size / throughput if paced and throughput else 0.0)


def id_shape(ids: Any) -> str:
    """The shape of a sample of contact ids in words, e.g. "ADR + 32 hex (35 chars)"."""
    import re

    sample = [str(i) for i in list(ids)[:1000]]
    if not sample:
        return "no ids"
    chars = sum(len(i) for i in sample) / len(sample)
    if all(re.fullmatch(r"ADR[0-9A-Fa-f]{32}", i) for i in sample):
        return f"ADR + 32 hex, Vitec's shape ({chars:.0f} chars)"
    return f"NOT Vitec's shape (e.g. {sample[0]!r}, {chars:.1f} chars on average)"


def office_and_agents(s: Any, agents: int) -> tuple[str, list[str]]:
    """The office and its agents, archived ones included (issue 7: 20 agents in one office).

    Both sides get the same explicit list, so both count the same cells.
    """
    customer_id = s.customer_ids[0]
    users = s.agents[s.agents["customer_id"] == customer_id]
    return customer_id, [str(a) for a in users["user_id"]][:agents]


def months_window(s: Any, months: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The last `months` whole months of the data: [start, end) as naive Stockholm times."""
    latest = s.truth["created_at"].max().tz_convert(TZ).tz_localize(None)
    end = latest.normalize().replace(day=1)
    start = end - pd.DateOffset(months=months)
    return pd.Timestamp(start), pd.Timestamp(end)


def truth_counts(
    s: Any, customer_id: str, agent_ids: list[str], start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Created-per-month by agent from the stand-in's ground truth (index month, cols agent)."""
    t = s.truth
    created = t["created_at"].dt.tz_convert(TZ).dt.tz_localize(None)
    keep = (
        (t["customer_id"] == customer_id)
        & t["agent_id"].isin(agent_ids)
        & (created >= start)
        & (created < end)
    )
    months = created[keep].dt.to_period("M").dt.start_time
    table = pd.crosstab(months, t.loc[keep, "agent_id"].astype(str))
    index = pd.date_range(start, end, freq="MS", inclusive="left")
    table = table.reindex(index=index, columns=agent_ids, fill_value=0).astype("int64")
    table.index.name = "month"
    table.columns.name = None
    return table


def connect(s: Any, cache: Path, **options: Any) -> Any:
    """A vitec_nb client on the stand-in with its own SQLite cache file (`options`: more
    `connect()` options, e.g. concurrency=)."""
    import vitec_nb

    return vitec_nb.connect(
        s.url, username=s.username, password=s.password, cache=str(cache), **options
    )


def prime_credentials(s: Any, cache: Path) -> None:
    """Create `cache` and derive its credential tag (one lookup), as a kernel's first call."""
    client = connect(s, cache)
    client.agents(s.customer_ids[0])
    client.close()


def breakdown(
    client: Any,
    customer_id: str,
    agent_ids: list[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
    concurrency: int | None = None,
    progress: Any = False,
) -> Any:
    """Created per month by agent over [start, end) through the planner.

    `end` (a midnight) goes in as the date of the last whole day: the one convention for
    dates (a date is the whole day; a time of day is that instant, included).
    `progress` is passed on: False, or a callable ``progress(done, total)``.
    """
    from vitec_nb import ContactQuery

    options: dict[str, Any] = {}
    if concurrency is not None:
        options["concurrency"] = concurrency
    return client.breakdown(
        ContactQuery(customer_id),
        by=("agent",),
        measure="created",
        period="M",
        start=start,
        end=(end - pd.Timedelta(days=1)).date(),
        agent_ids=agent_ids,
        include_archived=True,
        progress=progress,
        **options,
    )


def result_counts(result: Any, agent_ids: list[str], start: pd.Timestamp) -> pd.DataFrame:
    """The result's counts in the truth table's layout (index month start, columns agent)."""
    counts = result.counts
    table = counts.pivot_table(
        index="period", columns="agent", values="contacts", aggfunc="sum", observed=True
    )
    table.index = pd.DatetimeIndex(table.index).tz_localize(None)
    table.columns = [str(c) for c in table.columns]
    table = table.reindex(columns=agent_ids, fill_value=0).fillna(0).astype("int64")
    table.index.name = "month"
    table.columns.name = None
    return table


def parse(body: bytes, customer_id: str, fmt: str = "json") -> pd.DataFrame:
    """One answer (JSON or XML) into the contacts DataFrame with vitec_nb's parser."""
    from vitec_nb.parse import parse_contacts

    return parse_contacts(body, format=fmt, customer_id=customer_id)
