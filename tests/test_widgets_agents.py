"""Picked agents in the split (issue 14): those by name, every other agent in "others".

Driven through the form's controls against the shared stand-in (no browser); what the chart
shows is read from its segments (one `PolyCollection` per legend entry) and compared with
the stand-in's ground truth.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from tests.plugins.notebook import last_full_months, truth_matching
from vitec_nb.widgets import ANY_VALUE, ContactExplorer


def segments(form: ContactExplorer) -> dict[str, float]:
    """Contacts per legend entry of the last chart (the heights of its stacked segments)."""
    ax = form.last_figure.axes[0]
    return {
        c.get_label(): sum(p.vertices[1, 1] - p.vertices[0, 1] for p in c.get_paths())
        for c in ax.collections
        if isinstance(c, PolyCollection)
    }


def two_agents(form: ContactExplorer, rows: Any) -> list[tuple[str, str]]:
    """Two agents with contacts in `rows`: the second and third busiest (label, user id)."""
    busiest = rows["agent_id"].dropna().value_counts().index[1:3]
    labels = {value: label for label, value in form.pick_agents.options}
    return [(labels[str(a)], str(a)) for a in busiest]


class SplitByAgent(NamedTuple):
    """A form split by agent over the last six whole months, and what the truth holds."""

    form: ContactExplorer
    rows: pd.DataFrame  # the stand-in's contacts of the office created in those months
    picked: list[tuple[str, str]]  # two agents with contacts in `rows` (label, user id)


@pytest.fixture
def by_agent(explorer: ContactExplorer, form_standin: Any) -> SplitByAgent:
    start, end = last_full_months(6)
    rows = truth_matching(form_standin.truth, explorer.office.value, created=(start, end))
    picked = two_agents(explorer, rows)
    explorer.split.value = ("agent",)
    explorer.created_from.value, explorer.created_to.value = start, end
    return SplitByAgent(explorer, rows, picked)


def test_picked_agents_are_shown_and_the_rest_grouped_as_the_truth_says(
    by_agent: SplitByAgent,
) -> None:
    explorer, rows, picked = by_agent
    explorer.pick_agents.value = tuple(value for _, value in picked)
    explorer.run_button.click()
    assert explorer.last_error is None, explorer.last_error

    shown = segments(explorer)
    named = [label for label in shown if not label.startswith(("(", "others ("))]
    assert sorted(named) == sorted(label for label, _ in picked)
    ids = {value for _, value in picked}
    with_agent = rows[rows["agent_id"].notna()]
    rest = with_agent[~with_agent["agent_id"].astype(str).isin(ids)]
    k = rest["agent_id"].nunique()
    others = f"others ({k} agents)"
    assert others in shown
    assert shown[others] == len(rest)  # every contact of an agent not picked, and only those
    for label, value in picked:
        assert shown[label] == (with_agent["agent_id"].astype(str) == value).sum()
    names = ", ".join(label for label, _ in picked)
    assert f"agents: {names}; {k} others grouped" in explorer.record.caption.filters
    assert f"{k} others grouped" in explorer.record.caption.subtitle


def test_the_pick_is_part_of_the_run_and_none_picked_is_top_n(by_agent: SplitByAgent) -> None:
    explorer, picked = by_agent.form, by_agent.picked
    explorer.top_agents.value = 3
    explorer.run_button.click()
    named = [label for label in segments(explorer) if not label.startswith(("(", "others ("))]
    assert len(named) == 3  # nothing picked: the top N
    assert not any("others grouped" in f for f in explorer.record.caption.filters)
    explorer.pick_agents.value = (picked[0][1],)
    assert explorer.is_out_of_date  # the shown run was drawn without this pick
    explorer.run_button.click()
    named = [label for label in segments(explorer) if not label.startswith(("(", "others ("))]
    assert named == [picked[0][0]]


def test_archived_agents_can_be_picked_and_are_marked(
    explorer: ContactExplorer, form_standin: Any
) -> None:
    agents = form_standin.agents
    office = explorer.office.value
    archived = agents[agents["archived"].astype(bool) & (agents["customer_id"] == office)]
    offered = dict((value, label) for label, value in explorer.pick_agents.options)
    assert set(offered) == {value for _, value in explorer.agent.options} - {ANY_VALUE}
    assert len(archived) > 0
    for row in archived.itertuples():
        assert offered[str(row.user_id)].endswith("(archived)")
