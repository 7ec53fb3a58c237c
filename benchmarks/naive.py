"""The baselines: what an analyst writes without vitec_nb, and the parsing floor.

The naive breakdown is the notebook cell vitec_nb replaces: plain `requests`, one call per
agent × month, sequential, no cache, each answer through `json.loads` +
`pandas.DataFrame` + `pandas.to_datetime`. The careful analyst runs the same loop on a
requests-cache `CachedSession` (`careful_session`). It writes month ends the way people do
(`…T23:59:59`), so a contact created in the last second of a month after :59.0 is missed;
run.py reports how many against the stand-in's ground truth rather than hiding it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import requests

LISTS = ("persons", "companies", "deceasedEstates")
KINDS = {"persons": "person", "companies": "company", "deceasedEstates": "deceased_estate"}


def month_starts(start: pd.Timestamp, months: int) -> list[pd.Timestamp]:
    """The first instants of `months` consecutive months from `start` (naive local time)."""
    return [start + pd.DateOffset(months=k) for k in range(months)]


def naive_frame(body: str | bytes) -> pd.DataFrame:
    """An answer body into a frame the way a notebook does it: json + DataFrame + to_datetime."""
    data = json.loads(body)
    frames = []
    for key in LISTS:
        part = pd.DataFrame(data.get(key) or [], columns=["id", "changedAt", "customerId"])
        part["kind"] = KINDS[key]
        frames.append(part)
    df = pd.concat(frames, ignore_index=True)
    changed = pd.to_datetime(df["changedAt"], utc=True, format="ISO8601")
    df["changedAt"] = changed.dt.tz_convert("Europe/Stockholm")  # the same schema as ours
    return df


def orjson_floor(body: bytes) -> int:
    """The floor: decoding the same bytes with orjson and nothing else (returns the count)."""
    data = orjson.loads(body)
    return sum(len(data.get(key) or ()) for key in LISTS)


def naive_breakdown(
    base_url: str,
    auth: tuple[str, str],
    customer_id: str,
    agent_ids: Sequence[str],
    start: pd.Timestamp,
    months: int,
    filters: dict[str, str] | None = None,
    session: Any = None,
) -> tuple[pd.DataFrame, int, int]:
    """Created-per-month by agent, one request per (agent, month), sequential.

    `filters` are extra API parameters (e.g. ``{"LeadScore": "3"}``); `session` is what
    sends them (default: bare `requests`, no cache). Returns the counts (index: month
    start, columns: agent id), the number of requests and how many were cache reads.
    """
    url = f"{base_url}/CRM/Contact/{customer_id}"
    get = requests.get if session is None else session.get
    counts: dict[str, dict[pd.Timestamp, int]] = {}
    calls = cached = 0
    for agent in agent_ids:
        column = counts.setdefault(agent, {})
        for month in month_starts(start, months):
            last_day = month + pd.offsets.MonthEnd(0)
            params = {
                "AgentId": agent,
                "CreatedAtFrom": month.strftime("%Y-%m-%dT00:00:00"),
                "CreatedAtTo": last_day.strftime("%Y-%m-%dT23:59:59"),
                **(filters or {}),
            }
            response = get(url, params=params, auth=auth, timeout=120)
            calls += 1
            cached += bool(getattr(response, "from_cache", False))
            response.raise_for_status()
            column[month] = len(naive_frame(response.text))
    table = pd.DataFrame(counts, dtype="int64")
    table.index.name = "month"
    return table, calls, cached


def careful_session(path: Path) -> Any:
    """The careful analyst's session: requests-cache on a SQLite file, answers kept forever.

    What the requests-cache documentation shows first; the loop itself is unchanged.
    """
    import requests_cache

    return requests_cache.CachedSession(str(path), backend="sqlite")


def naive_chart(table: pd.DataFrame) -> bytes:
    """The naive cell's chart: stacked monthly bars per agent, rendered to PNG as inline does."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5))
    table.set_axis(table.index.strftime("%Y-%m")).plot(kind="bar", stacked=True, ax=ax)
    ax.set_ylabel("contacts created")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
