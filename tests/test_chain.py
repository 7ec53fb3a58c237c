"""The chain: breakdowns split by office, over a list of offices or an office group."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator

import pandas as pd
import pytest
import requests

from tests.plugins.breakdown import month_edges, result_counts, truth_counts, ts
from vitec_nb import ContactQuery, InvalidQueryError
from vitec_nb.plan import run_breakdown
from vitec_nb.standin import StandIn

START, END, STOP = "2025-01-01", "2025-06-30", "2025-07-01"  # six whole months


@pytest.fixture(scope="module")
def chain() -> Iterator[StandIn]:
    """Five offices (the stand-in's second group holds the first three), 3 agents each."""
    with StandIn(seed=4, contacts=4000, offices=5, agents=3) as s:
        yield s


def contact_requests(standin: StandIn) -> list:
    return [r for r in standin.requests if r.path.startswith("/CRM/Contact/")]


def group_of(standin: StandIn, size: int) -> pd.Series:
    """The stand-in's office group (its own truth) with `size` offices."""
    rows = standin.office_groups[standin.office_groups["offices"].map(len) == size]
    return rows.iloc[0]


def run(client, query, by=("office",), **kw):
    kw.setdefault("start", START)
    kw.setdefault("end", END)
    kw.setdefault("progress", False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean stand-in run raises no BreakdownWarning
        return run_breakdown(client, query, by, **kw)


def truth_by_office(standin: StandIn, offices, by: str | None = None) -> pd.Series:
    """Ground truth per (period, office[, value]), zero cells dropped."""
    parts = []
    for office in offices:
        counts = truth_counts(standin.truth, [office], ts(START), ts(STOP), by=by)
        frame = counts.rename("contacts").reset_index()
        frame["office"] = pd.Series([office] * len(frame), dtype=object)
        parts.append(frame)
    keys = ["period", "office", *([by] if by else [])]
    return pd.concat(parts).set_index(keys)["contacts"].sort_index()


def naive_by_office(standin: StandIn, offices) -> pd.Series:
    """What a per-office loop gets: one plain request per office per month, no filter."""
    session = requests.Session()
    session.auth = (standin.username, standin.password)
    fmt = "%Y-%m-%dT%H:%M:%S.%f"
    cells = {}
    for office in offices:
        for lo, hi in itertools.pairwise(month_edges(START, STOP)):
            params = {
                "CreatedAtFrom": lo.strftime(fmt),
                "CreatedAtTo": (hi - pd.Timedelta(1, "us")).strftime(fmt),
            }
            response = session.get(f"{standin.url}/CRM/Contact/{office}", params=params, timeout=30)
            response.raise_for_status()
            body = response.json()
            n = sum(len(body.get(k) or ()) for k in ("persons", "companies", "deceasedEstates"))
            if n:
                cells[(lo.as_unit("ns"), office)] = n
    return pd.Series(cells, dtype="int64")


def test_by_office_over_a_group_equals_the_truth_and_the_naive_loop(chain, make_breakdown_client):
    group = group_of(chain, 3)
    client = make_breakdown_client(chain)
    result = run(client, ContactQuery(chain.customer_ids[-1]), office_group=group["name"])
    assert result.plan.query.customer_ids == tuple(group["offices"])
    got = result_counts(result.counts, by="office")
    truth = truth_by_office(chain, group["offices"])
    assert got.to_dict() == truth.to_dict() and len(got) > 10
    assert got.to_dict() == naive_by_office(chain, group["offices"]).to_dict()


def test_the_calls_are_the_sum_of_the_offices_plans(chain, make_breakdown_client):
    """Splitting by office costs nothing: the run's calls are each office's own plan."""
    group = group_of(chain, 3)
    client = make_breakdown_client(chain)
    alone = [
        client.plan(ContactQuery(o), by=("agent",), start=START, end=END).n_calls
        for o in group["offices"]
    ]
    chain.clear_requests()
    result = run(
        client, ContactQuery(group["offices"][0]), ("office", "agent"), office_group=group["id"]
    )
    assert result.calls == result.plan.n_calls == len(contact_requests(chain)) == sum(alone)
    # the group is looked up for the query's office only: it knows the group
    assert len([r for r in chain.requests if r.path.startswith("/CRM/Officegroups/")]) == 1
    chain.clear_requests()
    again = run(
        client, ContactQuery(group["offices"][0]), ("office", "agent"), office_group=group["id"]
    )
    assert (again.calls, again.cached_calls, len(contact_requests(chain))) == (0, sum(alone), 0)


def test_by_office_and_agent_over_a_list_of_offices(chain, make_breakdown_client):
    offices = chain.customer_ids[1:4]
    result = run(make_breakdown_client(chain), ContactQuery(offices), ("office", "agent"))
    frame = result.counts.copy()
    frame["office"] = frame["office"].astype(object)
    frame["agent"] = frame["agent"].astype(object)
    got = frame.set_index(["period", "office", "agent"])["contacts"]
    got = got[got > 0].astype("int64").sort_index()
    truth = truth_by_office(chain, offices, by="agent")
    assert got.to_dict() == truth.to_dict() and len(got) > 10
    # every (period, office) cell adds up over agents to the office's total
    by_office = got.groupby(level=["period", "office"]).sum()
    assert by_office.to_dict() == truth_by_office(chain, offices).to_dict()


def test_offices_are_labelled_by_name(chain, make_breakdown_client):
    client = make_breakdown_client(chain)
    offices = chain.customer_ids[:2]
    result = run(client, ContactQuery(offices))
    names = dict(zip(chain.offices["customer_id"], chain.offices["name"], strict=True))
    assert result.names["office"] == {o: f"{names[o]} ({o})" for o in offices}
    assert result.names["office"] == {o: client.office_label(o) for o in offices}
    figure = result.plot()
    legend = [
        t.get_text() for ax in figure.axes if ax.get_legend() for t in ax.get_legend().get_texts()
    ]
    assert f"{names[offices[0]]} ({offices[0]})" in legend
    assert "office group" not in result.plan.describe()


def test_one_progress_for_the_whole_run_under_one_concurrency_limit(
    make_standin, make_breakdown_client
):
    s = make_standin(seed=4, contacts=2000, offices=4, agents=2, latency=0.02)
    client = make_breakdown_client(s, concurrency=3)
    seen: list[tuple[int, int]] = []
    group = group_of(s, 4)
    s.clear_requests()
    result = run(client, ContactQuery(s.customer_ids[0]), office_group=group["name"],
                 progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert {total for _, total in seen} == {result.plan.n_calls}
    assert [done for done, _ in seen] == list(range(result.plan.n_calls + 1))
    assert s.max_in_flight == 3
    assert f"office group {group['name']} ({group['id']})" in result.plan.describe()
    assert f"(office group {group['name']} ({group['id']}))" in result.summary()


def test_by_office_of_changes_equals_the_truth(chain, make_breakdown_client):
    offices = chain.customer_ids[:3]
    result = run(make_breakdown_client(chain), ContactQuery(offices), measure="changed")
    got = result_counts(result.counts, by="office")
    parts = {}
    for office in offices:
        counts = truth_counts(chain.truth, [office], ts(START), ts(STOP), None, "changed")
        parts.update({(p, office): n for p, n in counts.items()})
    assert got.to_dict() == parts and len(parts) > 10


def test_an_unknown_group_lists_the_groups_and_asks_no_contacts(chain, make_breakdown_client):
    client = make_breakdown_client(chain)
    chain.clear_requests()
    with pytest.raises(InvalidQueryError) as caught:
        run(client, ContactQuery(chain.customer_ids[0]), office_group="Nowhere")
    message = str(caught.value)
    assert caught.value.field == "office_group" and "'Nowhere'" in message
    for name in chain.office_groups["name"]:
        assert repr(name) in message
    assert contact_requests(chain) == []


@pytest.mark.parametrize("bad", [3, "", "  ", ["Innerstaden"], "a\nb"])
def test_a_bad_group_is_refused_before_any_request(chain, make_breakdown_client, bad):
    client = make_breakdown_client(chain)
    chain.clear_requests()
    with pytest.raises(InvalidQueryError) as caught:
        run(client, ContactQuery(chain.customer_ids[0]), office_group=bad)
    assert caught.value.field == "office_group"
    assert chain.requests == []


def test_per_office_options_are_checked_against_the_groups_offices(chain, make_breakdown_client):
    group = group_of(chain, 3)
    outside = next(o for o in chain.customer_ids if o not in group["offices"])
    client = make_breakdown_client(chain)
    with pytest.raises(InvalidQueryError) as caught:
        run(client, ContactQuery(outside), ("agent",), office_group=group["name"],
            agent_ids={outside: ["HAN1"]})  # fmt: skip
    assert caught.value.field == "agent_ids" and outside in str(caught.value)


def test_the_chain_benchmark_runs_small_and_is_exact(monkeypatch):
    """Benchmark 9 at smoke size (3 offices, 3 months): every figure has a value and
    vitec_nb's counts equal the ground truth (its calls row carries that condition)."""
    from benchmarks import bench_chain, sides
    from benchmarks.harness import Config

    monkeypatch.setattr(sides, "IN_PROCESS", True)
    log: list[str] = []
    rows = bench_chain.chain(Config.smoke(), log)
    assert [r.figure for r in rows] == list(bench_chain.FIGURES)
    assert all(r.ours is not None and r.base is not None and not r.error for r in rows)
    assert rows[0].condition is True
    assert any("chain vitec_nb" in line and "equal the ground truth" in line for line in log)


def test_pure_planning_refuses_a_group_it_cannot_look_up():
    from vitec_nb.plan import plan_breakdown

    with pytest.raises(InvalidQueryError) as caught:
        plan_breakdown(ContactQuery("M30011"), {}, {"by": ("office",), "office_group": "X"})
    assert caught.value.field == "office_group" and "client.plan" in str(caught.value)
    with pytest.raises(InvalidQueryError) as caught:  # no client to ask
        plan_breakdown(None, ContactQuery("M30011"), ("office",), office_group="X")
    assert caught.value.field == "office_group"
