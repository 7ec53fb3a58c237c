"""What the CLI's commands call, called as a notebook would: export, agents, cache, provenance."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.test_cli import agents_of, busy_agent_with_a_unique_name
from vitec_nb import cache as cache_mod
from vitec_nb.client import VitecClient
from vitec_nb.errors import InvalidQueryError
from vitec_nb.export import (
    breakdown_to_file,
    contacts_written,
    counts_written,
    fetch_to_file,
    query_with_agent,
)
from vitec_nb.plan.names import agents_text, checked_agent
from vitec_nb.provenance import Provenance, combined, provenance_of, set_provenance
from vitec_nb.query import ContactQuery
from vitec_nb.report_render import render_report
from vitec_nb.standin import StandIn


def test_fetch_to_file_writes_parquet_with_the_provenance_as_text(
    standin: StandIn, client: VitecClient, tmp_path: Path
) -> None:
    office = standin.customer_ids[0]
    out = tmp_path / "hot.parquet"
    frame = fetch_to_file(client, ContactQuery(office, lead_score=5), out)
    t = standin.truth
    want = set(t[(t["customer_id"] == office) & (t["lead_score"] == 5)]["id"].astype(str))
    back = pd.read_parquet(out)
    assert set(back["id"].astype(str)) == want == set(frame["id"].astype(str))
    written = back.attrs
    assert written["source"] == standin.url and written["from_cache"] == "False"
    assert "offices" not in written
    line = contacts_written(frame, out)
    assert line.startswith(f"Wrote {len(want)} contacts (") and f"to {out} — " in line
    assert ", fetched at " in line


def test_bad_paths_and_styles_are_refused_before_any_request(
    standin: StandIn, client: VitecClient, tmp_path: Path
) -> None:
    query = ContactQuery(standin.customer_ids[0])
    standin.clear_requests()
    with pytest.raises(InvalidQueryError, match=r"path: x\.json .*allowed: \.csv, \.xlsx"):
        fetch_to_file(client, query, tmp_path / "x.json")
    with pytest.raises(InvalidQueryError, match="csv_style"):
        fetch_to_file(client, query, tmp_path / "x.csv", csv_style="semicolons")
    with pytest.raises(InvalidQueryError, match=r"\(allowed: \.csv, \.xlsx\)$"):
        breakdown_to_file(client, query, tmp_path / "x.parquet")
    assert standin.requests == []


def test_an_agent_by_name_becomes_the_agents_id(standin: StandIn, client: VitecClient) -> None:
    office = standin.customer_ids[0]
    uid, name = busy_agent_with_a_unique_name(standin, office)
    query = query_with_agent(client, ContactQuery(office), agent=f"  {name.lower()} ")
    assert query.agent_id == uid
    unchanged = ContactQuery(office, lead_score=3)
    assert query_with_agent(client, unchanged) is unchanged


def test_an_agent_id_is_checked_against_the_users_lookup(standin: StandIn) -> None:
    office = standin.customer_ids[0]
    users = agents_of(standin, office)
    uid, name = busy_agent_with_a_unique_name(standin, office)
    assert checked_agent(users, agent_id=uid) == uid
    with pytest.raises(InvalidQueryError, match=f"is an agent's name, not a user id.*{uid}"):
        checked_agent(users, agent_id=name)
    with pytest.raises(InvalidQueryError, match="agent: give one"):
        checked_agent(users, agent=name, agent_id=uid)
    heard: list[str] = []
    unlisted = "HAN" + "0" * 32
    assert checked_agent(users, agent_id=unlisted, note=heard.append) == unlisted
    assert heard == [f"--agent-id {unlisted} is not among the users the lookup lists; "
                     "it is sent as given"]  # fmt: skip
    with pytest.warns(UserWarning, match="not among the users"):
        checked_agent(users, agent_id=unlisted)
    assert checked_agent(users) is None


def test_breakdown_to_file_writes_the_counts_and_says_so(
    standin: StandIn, client: VitecClient, tmp_path: Path
) -> None:
    office = standin.customer_ids[0]
    out = tmp_path / "counts.csv"
    result = breakdown_to_file(
        client, ContactQuery(office), out, by=("lead_score",), period="Y",
        start="2024-01-01", end="2024-12-31", progress=False,
    )  # fmt: skip
    written = pd.read_csv(out, comment="#")
    t = standin.truth
    assert written["contacts"].sum() == len(
        t[(t["customer_id"] == office) & (t["created_at"].dt.year == 2024)]
    )
    assert counts_written(result, out) == (
        f"Wrote {len(written)} rows (contacts per period × lead_score) to {out}"
    )


def test_agents_text_lists_each_user_under_a_heading(standin: StandIn, client: VitecClient) -> None:
    office = standin.customer_ids[1]
    frame = client.agents(office)
    lines = agents_text(frame, office).splitlines()
    assert lines[0] == f"{office}: {len(frame)} agents, every user (GetAllUsers)"
    assert lines[1].split() == ["name", "id", "title", "archived", "public"]
    assert sorted(line.split("  ")[0].casefold() for line in lines[2:]) == [
        line.split("  ")[0].casefold() for line in lines[2:]
    ]
    assert len(lines) == 2 + len(agents_of(standin, office))
    empty = set_provenance(frame.head(0), provenance_of(frame).noted(agents_complete=False))
    assert agents_text(empty, office) == f"{office}: 0 agents, public users only (GetUser)"


def test_describe_and_clear_caches(standin: StandIn, client: VitecClient, tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite"
    assert cache_mod.describe_caches(missing)[0]["missing"] is True
    assert not missing.exists()
    client.contacts(ContactQuery(standin.customer_ids[0], lead_score=4))
    where = client.settings.cache
    (info,) = cache_mod.describe_caches(where)
    assert info["responses"] >= 1 and info["fresh"] == info["responses"]
    (done,) = cache_mod.clear_caches(where)
    assert done["removed"] == info["responses"] and done["left"] == 0
    assert cache_mod.describe_caches(where)[0]["responses"] == 0


def test_provenance_round_trips_through_attrs(standin: StandIn, client: VitecClient) -> None:
    frame = client.contacts(ContactQuery(standin.customer_ids[0], lead_score=2))
    came = provenance_of(frame)
    assert came.source == standin.url and came.demo is False and came.from_cache is False
    assert came.query == ContactQuery(standin.customer_ids[0], lead_score=2)
    copy = set_provenance(frame.copy(), came.noted(cell={"period": "2025-03"}))
    assert copy.attrs == {**frame.attrs, "cell": {"period": "2025-03"}}
    assert set_provenance(frame.copy(), None).attrs == {}
    # a frame that says only some of it keeps saying only that
    assert Provenance(demo=True).noted(measure="created").attrs() == {
        "demo": True,
        "measure": "created",
    }
    early, late = pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-02-01", tz="UTC")
    both = combined([
        Provenance(source="s", fetched_at=late, from_cache=True, stale=False, demo=False),
        Provenance(source="s", fetched_at=early, from_cache=False, stale=True, demo=False),
    ])  # fmt: skip
    assert (both.fetched_at, both.from_cache, both.stale) == (early, False, True)


def test_a_bad_report_filter_is_refused_before_a_kernel_starts(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    with pytest.raises(InvalidQueryError, match="lead_score"):
        render_report(out, filters={"lead_score": 9})
    assert not out.exists()
