"""Pytest fixtures for the breakdown tests (loaded by tests/conftest.py).

- `breakdown_standin`: session-scoped stand-ins over several seeds (small: 3 000 contacts,
  2 offices, 8 agents each, so a naive cell-by-cell loop stays quick).
- `make_breakdown_client(standin)`: a client on a stand-in with a fresh SQLite cache in
  the test's tmp_path.
- `breakdown_dialect_standin`: one small stand-in per dialect of `vitec_nb.standin.DIALECTS`
  that can change a clean server's answers (`BREAKDOWN_DIALECTS`).
- `truth_counts(...)` and `naive_counts(...)`: the two independent oracles the planner is
  checked against — the stand-in's ground truth, and one plain HTTP request per cell.
"""

from __future__ import annotations

import contextlib
import http.server
import itertools
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

import vitec_nb
from vitec_nb.standin import DIALECTS, StandIn

TZ = "Europe/Stockholm"
BREAKDOWN_SEEDS = (1, 2, 3)
NO_AGENT = "(no agent)"
NO_AGENT_OR_UNLISTED = "(no agent or an unlisted user)"
NO_LEAD_SCORE = "(no lead score)"
NO_VALUE = {"newsletter_list": "(no list)", "scheduled_order_type": "(no active service)"}
TRUTH_COLUMN = {
    "agent": "agent_id",
    "lead_score": "lead_score",
    "newsletter_list": "newsletter_list_ids",
    "scheduled_order_type": "scheduled_order_types",
}
API_NAME = {
    "agent": "AgentId",
    "lead_score": "LeadScore",
    "newsletter_list": "NewsletterListId",
    "scheduled_order_type": "ContactScheduledOrderType",
}


@pytest.fixture(scope="session", params=BREAKDOWN_SEEDS, ids=lambda s: f"seed{s}")
def breakdown_standin(request: pytest.FixtureRequest) -> Iterator[StandIn]:
    """A small stand-in per seed: 3 000 contacts, offices M30011 and M30012, 8 agents each."""
    with StandIn(seed=request.param, contacts=3000, offices=2, agents=8) as s:
        yield s


def _only_error_shape_differs(name: str) -> bool:
    """A preset that differs from the documented one in its error bodies alone: on a clean
    server (no faults, every user listed) it sends no error, so its answers are the
    documented preset's, byte for byte (the dialect tests check the error shapes)."""
    documented = DIALECTS["documented"]
    dialect = DIALECTS[name]
    return dialect != documented and dialect == replace(documented, error_shape=dialect.error_shape)


# Every preset that can change what a clean server answers (see `_only_error_shape_differs`).
BREAKDOWN_DIALECTS = tuple(name for name in DIALECTS if not _only_error_shape_differs(name))


@pytest.fixture(scope="session", params=BREAKDOWN_DIALECTS, ids=lambda d: f"dialect-{d}")
def breakdown_dialect_standin(request: pytest.FixtureRequest) -> Iterator[StandIn]:
    """A small stand-in (seed 2: 3 000 contacts, 2 offices, 8 agents) in one dialect: each
    of `BREAKDOWN_DIALECTS` (the presets differing in error bodies only are left out)."""
    with StandIn(seed=2, contacts=3000, offices=2, agents=8, dialect=request.param) as s:
        yield s


@pytest.fixture(scope="session")
def seed3_standin() -> Iterator[StandIn]:
    """One small stand-in (seed 3: has a contact created exactly at 2026-01-01 00:00)."""
    with StandIn(seed=3, contacts=3000, offices=2, agents=8) as s:
        yield s


@pytest.fixture
def make_breakdown_client(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Factory: `make_breakdown_client(standin, **connect_kw)` -> a client with a tmp cache."""
    clients: list[Any] = []

    def make(standin: StandIn, **kw: Any) -> Any:
        kw.setdefault("cache", tmp_path / f"cache{len(clients)}.sqlite")
        client = vitec_nb.connect(
            standin.url,
            standin.username,
            standin.password,
            customer_ids=standin.customer_ids,
            **kw,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def ts(value: str) -> pd.Timestamp:
    """A Stockholm local time."""
    return pd.Timestamp(value).tz_localize(TZ)


def month_edges(start: str, end: str) -> list[pd.Timestamp]:
    """Month starts from `start` to `end` inclusive, Stockholm local midnight."""
    naive = pd.date_range(start, end, freq="MS")
    return [t.tz_localize(TZ) for t in naive]


def _truth_values(rows: pd.DataFrame, by: str, listed: set[str] | None) -> pd.Series:
    """Each truth row's value of `by`, labelled as a breakdown labels it.

    Agents not in `listed` (public users only) and contacts without an agent are "(no agent
    or an unlisted user)"; with every user listed (None), no agent is "(no agent)".
    Multi-valued dimensions come exploded: a row per (contact, value).
    """
    column = rows[TRUTH_COLUMN[by]]
    if by == "agent":
        agent = column.astype(object)
        if listed is None:
            return agent.where(agent.notna(), NO_AGENT).rename(by)
        return agent.where(agent.isin(listed), NO_AGENT_OR_UNLISTED).rename(by)
    if by == "lead_score":
        score = column.astype(object)
        return (
            score.where(score.notna(), NO_LEAD_SCORE)
            .map(lambda v: v if isinstance(v, str) else int(v))
            .rename(by)
        )
    filled = column.map(lambda v: tuple(v) if len(v) else (NO_VALUE[by],))
    return filled.explode().rename(by)


def truth_counts(
    truth: pd.DataFrame,
    offices: Sequence[str],
    start: pd.Timestamp,
    end: pd.Timestamp,
    by: str | None = "agent",
    measure: str = "created",
    period: str = "M",
    listed: set[str] | None = None,
) -> pd.Series:
    """Ground-truth contacts per (period start, value) in [start, end), zero cells dropped."""
    at = truth["created_at"] if measure == "created" else truth["changed_at"]
    rows = truth[truth["customer_id"].isin(offices) & (at >= start) & (at < end)]
    freq = {"D": "D", "W": "W-SUN", "M": "M", "Q": "Q-DEC", "Y": "Y-DEC"}[period]
    at = at.loc[rows.index]
    when = at.dt.tz_localize(None).dt.to_period(freq).dt.start_time.dt.tz_localize(TZ)
    when = when.rename("period").astype(f"datetime64[ns, {TZ}]")
    if by is None:
        counts = when.groupby(when).size()
    else:
        values = _truth_values(rows, by, listed)
        frame = pd.DataFrame({"period": when.loc[values.index], by: values.astype(object)})
        counts = frame.groupby(["period", by]).size()
    return counts[counts > 0].sort_index()


def result_counts(counts: pd.DataFrame, by: str | None = "agent") -> pd.Series:
    """A breakdown's tidy counts as the same shape as `truth_counts` (zero cells dropped)."""
    keys = ["period"] + ([by] if by else [])
    frame = counts.copy()
    if by:
        frame[by] = frame[by].astype(object)
    series = frame.set_index(keys)["contacts"]
    series = series[series > 0].astype("int64")
    series.index = series.index.set_names(keys)
    return series.sort_index()


def naive_counts(
    standin: StandIn,
    office: str,
    edges: Sequence[pd.Timestamp],
    agent_ids: Sequence[Any],
    by: str = "agent",
    rest: str = NO_AGENT,
) -> pd.Series:
    """What an analyst's loop gets: one plain request per (value, period) cell, plus one per
    period for the period's total. For a single-valued dimension the `rest` cell is the
    total minus the values' cells (for a multi-valued one no such cell is made).

    Cells are [period start, next period start − 1 µs]: the stand-in stores and compares
    microseconds, so that edge is exact there (the planner needs no such assumption).
    """
    session = requests.Session()
    session.auth = (standin.username, standin.password)
    url = f"{standin.url}/CRM/Contact/{office}"
    fmt = "%Y-%m-%dT%H:%M:%S.%f"

    def count(params: dict[str, Any]) -> int:
        response = session.get(url, params=params, timeout=30)
        response.raise_for_status()
        body = response.json()
        return sum(len(body.get(k) or ()) for k in ("persons", "companies", "deceasedEstates"))

    cells: dict[tuple[pd.Timestamp, Any], int] = {}
    for lo, hi in itertools.pairwise(edges):
        window = {
            "CreatedAtFrom": lo.strftime(fmt),
            "CreatedAtTo": (hi - pd.Timedelta(1, "us")).strftime(fmt),
        }
        for value in agent_ids:
            cells[(lo, value)] = count({**window, API_NAME[by]: value})
        if by not in NO_VALUE:
            cells[(lo, rest)] = count(window) - sum(cells[(lo, v)] for v in agent_ids)
    session.close()
    series = pd.Series(cells, dtype="int64")
    series.index = series.index.set_names(["period", by])
    return series[series > 0].sort_index()


def assert_counts_equal(got: pd.Series, expected: pd.Series) -> None:
    """Same cells with the same counts (index dtypes may differ: object vs string)."""
    pd.testing.assert_series_equal(
        got, expected, check_names=False, check_index_type=False, check_dtype=False
    )


@contextlib.contextmanager
def ignoring_proxy(standin: StandIn, ignored: Mapping[str, str]) -> Iterator[str]:
    """A server of the test's own on loopback in front of `standin` that ignores some
    filter values (drops `name=value` from the query string), as a server that does not
    filter on them would. Yields its base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
            kept = [(k, v) for k, v in pairs if ignored.get(k) != v]
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            answer = requests.get(
                f"{standin.url}{url.path}", params=kept, headers=headers, timeout=30
            )
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers.get("Content-Type", "text/plain"))
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
