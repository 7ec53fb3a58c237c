"""Contacts and a breakdown's counts to files, as `vitec-nb fetch` and `breakdown` write them.

`fetch_to_file()` and `breakdown_to_file()` check their input before any request, resolve
an agent given by name through the users lookup, ask the client and write the file:
CSV and Excel through the form's export (`form_output.export_contacts`: the same columns
and "# " header lines), Parquet with the provenance as text metadata. `contacts_written()`
and `counts_written()` say in a line what was written.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from vitec_nb import vocab
from vitec_nb.errors import InvalidQueryError
from vitec_nb.form_output import CSV_STYLES, contacts_caption, export_contacts, make_caption
from vitec_nb.plan.names import checked_agent
from vitec_nb.provenance import provenance_of, set_provenance
from vitec_nb.query import ContactQuery

if TYPE_CHECKING:
    from collections.abc import Callable

    from vitec_nb.plan.result import BreakdownResult

__all__ = [
    "CONTACT_SUFFIXES",
    "COUNT_SUFFIXES",
    "breakdown_to_file",
    "contacts_written",
    "counts_written",
    "fetch_to_file",
    "query_with_agent",
    "write_contacts",
    "write_counts",
]

CONTACT_SUFFIXES = (".csv", ".xlsx", ".parquet")
COUNT_SUFFIXES = (".csv", ".xlsx")


def _checked(path: Path | str, suffixes: tuple[str, ...], csv_style: str) -> Path:
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise InvalidQueryError("path", f"{path.name} has no known suffix", ", ".join(suffixes))
    if csv_style not in CSV_STYLES:
        raise InvalidQueryError(
            "csv_style", f"{csv_style!r} is not a CSV style", ", ".join(CSV_STYLES)
        )
    return path


def write_contacts(frame: pd.DataFrame, path: Path | str, *, csv_style: str = "plain") -> Path:
    """Write a contacts frame (`client.contacts()`) to .csv, .xlsx or .parquet; the path.

    CSV and Excel: the form's export, its header from the frame's query and provenance.
    Parquet: the columns as they are, the provenance as text in the file's metadata.
    """
    path = _checked(path, CONTACT_SUFFIXES, csv_style)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() != ".parquet":
        return export_contacts(frame, path, caption=contacts_caption(frame), csv_style=csv_style)
    plain = set_provenance(frame.copy(deep=False), provenance_of(frame), as_text=True)
    plain.to_parquet(path, index=False)
    return path


def write_counts(result: BreakdownResult, path: Path | str, *, csv_style: str = "plain") -> Path:
    """Write a breakdown's counts, with a name column per named dimension, to .csv or .xlsx."""
    path = _checked(path, COUNT_SUFFIXES, csv_style)
    caption = make_caption(result, names=result.labels, ranges={}, demo=result.demo)
    return export_contacts(
        result.counts, path, caption=caption, csv_style=csv_style, names=result.labels
    )


def contacts_written(frame: pd.DataFrame, path: Path | str) -> str:
    """'Wrote 12 contacts (10 persons, 2 companies) to x.csv — <query>, fetched at …'."""
    came = provenance_of(frame)
    counts = frame["kind"].value_counts()
    words = vocab.KIND_LABELS["en"]
    kinds = ", ".join(f"{counts.get(k, 0)} {words.get(k, k)}" for k in counts.index)
    source = "from the cache" if came.from_cache else "fetched"
    if came.stale:
        source = "STALE from the cache (the server failed)"
    when = f" at {came.fetched_at:%Y-%m-%d %H:%M}" if came.fetched_at is not None else ""
    demo = f" [{vocab.DEMO_SOURCE}]" if came.demo else ""
    return (
        f"Wrote {len(frame)} contacts ({kinds or 'none'}) to {path} — "
        f"{came.query}, {source}{when}{demo}"
    )


def counts_written(result: BreakdownResult, path: Path | str) -> str:
    """'Wrote 24 rows (contacts per period × agent) to counts.csv'."""
    split = " × ".join(["period", *result.plan.by])
    return f"Wrote {len(result.counts)} rows (contacts per {split}) to {path}"


def query_with_agent(
    client: Any,
    query: ContactQuery,
    *,
    agent: str | None = None,
    refresh: bool = False,
    offline: bool = False,
    note: Callable[[str], object] | None = None,
) -> ContactQuery:
    """`query` for the agent called `agent`, or with its `agent_id` checked: both through
    the users lookup of the query's offices (`plan.names.checked_agent`). No agent: `query`."""
    if agent is None and query.agent_id is None:
        return query
    frames = [client.agents(o, refresh=refresh, offline=offline) for o in query.customer_ids]
    agents = pd.concat(frames)
    found = checked_agent(agents, agent=agent, agent_id=query.agent_id, note=note)
    return query if found == query.agent_id else dataclasses.replace(query, agent_id=found)


def fetch_to_file(
    client: Any,
    query: ContactQuery,
    path: Path | str,
    *,
    agent: str | None = None,
    format: str = "json",
    refresh: bool = False,
    offline: bool = False,
    csv_style: str = "plain",
    note: Callable[[str], object] | None = None,
) -> pd.DataFrame:
    """The contacts of `query` (for agent `agent` by name, if given), written to `path`
    (`write_contacts`); the frame. `note` hears what is worth saying but no error."""
    _checked(path, CONTACT_SUFFIXES, csv_style)
    kw = {"refresh": refresh, "offline": offline}
    query = query_with_agent(client, query, agent=agent, note=note, **kw)
    frame: pd.DataFrame = client.contacts(query, format=format, **kw)
    write_contacts(frame, path, csv_style=csv_style)
    return frame


def breakdown_to_file(
    client: Any,
    query: ContactQuery,
    path: Path | str,
    *,
    by: tuple[str, ...] = ("agent",),
    agent: str | None = None,
    csv_style: str = "plain",
    note: Callable[[str], object] | None = None,
    **options: Any,
) -> BreakdownResult:
    """`client.breakdown(query, by, **options)` (for agent `agent` by name, if given), its
    counts written to `path` (`write_counts`); the result."""
    _checked(path, COUNT_SUFFIXES, csv_style)
    kw = {"refresh": options.get("refresh", False), "offline": options.get("offline", False)}
    query = query_with_agent(client, query, agent=agent, note=note, **kw)
    result: BreakdownResult = client.breakdown(query, by=by, **options)
    write_counts(result, path, csv_style=csv_style)
    return result
