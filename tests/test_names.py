"""Names where ids appear: `result.labels`, `result.counts_named`, agents found by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import vitec_nb
from vitec_nb import ContactQuery
from vitec_nb.errors import InvalidQueryError
from vitec_nb.plan.names import agent_id_for, agent_labels, labels
from vitec_nb.standin import StandIn

OFFICE = "M30011"


@pytest.fixture(scope="module")
def namesakes() -> Iterator[StandIn]:
    """Seed 0 with 40 agents an office: two of M30011's users are both "Olof Olsson"."""
    with StandIn(seed=0, contacts=4_000, offices=2, agents=40) as s:
        yield s


def shared_name(s: StandIn) -> tuple[str, list[str]]:
    a = s.agents[s.agents["customer_id"] == OFFICE]
    twice = a[a.duplicated("name", keep=False)]
    name = str(twice["name"].iloc[0])
    return name, list(twice.loc[twice["name"] == name, "user_id"].astype(str))


def test_a_shared_name_gets_the_shortest_id_head_that_tells_them_apart() -> None:
    names = {"agent": {"HAN1A2B9": "Anna Berg", "HAN1A2C0": "Anna Berg", "HAN77": "Bo Ek"}}
    assert labels(names) == {
        "agent": {"HAN1A2B9": "Anna Berg (HAN1A2B…)", "HAN1A2C0": "Anna Berg (HAN1A2C…)",
                  "HAN77": "Bo Ek"},
    }  # fmt: skip
    same_head = {"agent": {"HAN1A2B9": "Anna Berg", "HAN1A2B7": "Anna Berg"}}
    assert set(labels(same_head)["agent"].values()) == {
        "Anna Berg (HAN1A2B9)",
        "Anna Berg (HAN1A2B7)",
    }


def test_counts_named_puts_each_agents_label_after_the_id(
    namesakes: StandIn, tmp_path: Path
) -> None:
    name, ids = shared_name(namesakes)
    with vitec_nb.connect(base_url=namesakes.url, username=namesakes.username,
                          password=namesakes.password, customer_ids=namesakes.customer_ids,
                          cache=tmp_path / "c.sqlite") as client:  # fmt: skip
        result = client.breakdown(ContactQuery(OFFICE), by=("agent",), period="Y",
                                  start="2024-01-01", end="2024-12-31", progress=False)  # fmt: skip
    named = result.counts_named
    assert list(named.columns) == ["period", "agent", "agent_name", "contacts"]
    pd.testing.assert_frame_equal(named.drop(columns="agent_name"), result.counts)
    users = namesakes.agents.set_index(namesakes.agents["user_id"].astype(str))["name"]
    for agent, shown in zip(named["agent"].astype(str), named["agent_name"].astype(str),
                            strict=True):  # fmt: skip
        if agent in ids:
            assert shown.startswith(f"{name} (HAN") and shown.endswith("…)")
        elif agent in users.index:
            assert shown == users[agent]
        else:
            assert shown == agent and agent.startswith("(")  # "(no agent)", "(other)"
    assert named.groupby("agent", observed=True)["agent_name"].nunique().max() == 1
    assert len(set(result.labels["agent"].values())) == len(result.labels["agent"])
    # the counts per label are the truth's per agent
    t = namesakes.truth
    year = t["created_at"].dt.year == 2024
    truth = t[(t["customer_id"] == OFFICE) & year]["agent_id"].value_counts()
    got = named.set_index("agent")["contacts"]
    for agent in ids:
        assert got[agent] == truth.get(agent, 0)


def test_an_agent_is_found_by_name_label_or_id_whatever_the_case(namesakes: StandIn) -> None:
    agents = namesakes.agents[namesakes.agents["customer_id"] == OFFICE]
    row = agents.drop_duplicates("name", keep=False).iloc[0]
    uid, name = str(row["user_id"]), str(row["name"])
    assert agent_id_for(agents, name) == uid
    assert agent_id_for(agents, f"  {name.upper()} ") == uid
    assert agent_id_for(agents, uid) == uid
    _, ids = shared_name(namesakes)
    shown = agent_labels(agents)
    assert [agent_id_for(agents, shown[i]) for i in ids] == ids


def test_a_shared_name_is_refused_listing_the_namesakes(namesakes: StandIn) -> None:
    agents = namesakes.agents[namesakes.agents["customer_id"] == OFFICE]
    shared, ids = shared_name(namesakes)
    with pytest.raises(InvalidQueryError, match=f"2 agents in {OFFICE} are called") as err:
        agent_id_for(agents, shared)
    assert all(agent_labels(agents)[i] in str(err.value) for i in ids)
    assert err.value.field == "agent"


def test_an_unknown_name_lists_close_matches(namesakes: StandIn) -> None:
    agents = namesakes.agents[namesakes.agents["customer_id"] == OFFICE]
    name = str(agents.drop_duplicates("name", keep=False)["name"].iloc[0])
    typo = name[:-2] + name[-1]  # one letter dropped
    with pytest.raises(InvalidQueryError, match="close matches: ") as err:
        agent_id_for(agents, typo, option="--agent")
    assert name in str(err.value) and str(err.value).startswith(
        f"--agent: no agent called {typo!r}"
    )
    with pytest.raises(InvalidQueryError, match="no close match"):
        agent_id_for(agents, "Zzyzx Qwerty")


def test_the_charts_legend_shows_namesakes_as_in_counts_named(
    namesakes: StandIn, tmp_path: Path
) -> None:
    import matplotlib.pyplot as plt

    name, ids = shared_name(namesakes)
    with vitec_nb.connect(base_url=namesakes.url, username=namesakes.username,
                          password=namesakes.password, customer_ids=namesakes.customer_ids,
                          cache=tmp_path / "c.sqlite") as client:  # fmt: skip
        result = client.breakdown(ContactQuery(OFFICE), by=("agent",), period="Y",
                                  start="2024-01-01", end="2024-12-31", progress=False)  # fmt: skip
    fig = result.plot(top=len(result.labels["agent"]))
    try:
        legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
        texts = {t.get_text() for legend in legends if legend for t in legend.get_texts()}
    finally:
        plt.close(fig)
    assert {result.labels["agent"][i] for i in ids} <= texts
    assert name not in texts  # the bare shared name would not say which of the two
