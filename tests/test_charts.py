"""Charts from real breakdowns: each figure is rendered to PNG and checked.

The PNGs go to a temporary folder, or to $VITEC_NB_ARTIFACTS/charts when set (to look at
them); nothing is written into the repository.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from vitec_nb import ContactQuery, charts
from vitec_nb.plan import plan_breakdown, run_breakdown

ARTIFACTS = Path(os.environ.get("VITEC_NB_ARTIFACTS") or tempfile.gettempdir()) / "charts"
START, END = "2025-01-01", "2025-12-31"  # both days included


@pytest.fixture(scope="module")
def chart_client(tmp_path_factory, standin):
    import vitec_nb

    client = vitec_nb.connect(
        standin.url,
        standin.username,
        standin.password,
        customer_ids=standin.customer_ids,
        cache=tmp_path_factory.mktemp("charts") / "cache.sqlite",
    )
    yield client
    client.close()


@pytest.fixture(scope="module")
def agent_result(chart_client, standin):
    query = ContactQuery(standin.customer_ids[0])
    return run_breakdown(
        chart_client, query, ("agent", "lead_score"), start=START, end=END, progress=False
    )


def save(fig: Figure, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    fig.savefig(path, dpi=80)
    assert path.stat().st_size > 5_000
    return path


def bar_heights(fig: Figure) -> float:
    ax = fig.axes[0]
    patches = sum(p.get_height() for p in ax.patches if np.isfinite(p.get_height()))
    return patches + float(charts.bar_segments(ax).sum())  # stacked bars are collections


def series_heights(fig: Figure) -> dict[str, list[float]]:
    """Legend label -> heights of that series' stacked segments, period by period."""
    from matplotlib.collections import PolyCollection

    return {
        c.get_label(): [p.vertices[1, 1] - p.vertices[0, 1] for p in c.get_paths()]
        for c in fig.axes[0].collections
        if isinstance(c, PolyCollection)
    }


def assert_series_match_counts(fig: Figure, result, names: dict) -> None:
    """Each labelled series is drawn with its own counts (known cells; unknown drawn as 0)."""
    table = result.to_frame("agent")
    drawn = series_heights(fig)
    for agent in table.columns:
        label = names.get(agent, agent)
        expected = table[agent].fillna(0).tolist()
        assert drawn[label] == expected, label


def test_by_agent_chart_stacks_every_contact(agent_result):
    fig = agent_result.plot("agent")
    save(fig, "by_agent")
    assert bar_heights(fig) == len(agent_result.facts)
    title = fig.get_suptitle()
    assert "Contacts created per month by agent" in title
    assert agent_result.plan.query.customer_id in title and "1 Jan – 31 Dec 2025" in title


def test_by_agent_chart_names_agents_and_keeps_the_top_ones(agent_result, standin):
    fig = agent_result.plot("agent", top=5)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(label.startswith("others (") for label in labels)
    assert set(labels) & set(standin.agents["name"])


def test_by_lead_score_chart_orders_scores(agent_result):
    fig = agent_result.plot("lead_score")
    save(fig, "by_lead_score")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()][::-1]
    scores = [label for label in labels if not label.startswith("(")]  # "(no lead score)"
    assert scores[0].startswith("0") and scores[-1].startswith("5")
    assert bar_heights(fig) == len(agent_result.facts)


def test_created_vs_changed_chart_has_both_series(agent_result):
    fig = agent_result.plot("created_vs_changed")
    save(fig, "created_vs_changed")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["created", "last changed"]


def test_bar_chart_totals_per_agent(agent_result):
    fig = agent_result.plot("bar", dimension="agent", top=None)
    save(fig, "bar_agent")
    widths = sum(p.get_width() for p in fig.axes[0].patches)
    assert widths == len(agent_result.facts)


def test_demo_client_charts_say_demo_data(agent_result):
    assert not any("DEMO DATA" in t.get_text() for t in agent_result.plot("agent").texts)
    fig = agent_result.plot("agent", demo=True)  # what a demo-mode client's result gets
    save(fig, "by_agent_demo")
    assert any("DEMO DATA" in t.get_text() for t in fig.texts)


def test_weekly_chart_across_a_year_thins_its_ticks(chart_client, standin):
    result = run_breakdown(
        chart_client,
        ContactQuery(standin.customer_ids),
        (),
        period="W",
        start="2025-01-06",
        end="2025-12-29",
        progress=False,
    )
    fig = result.plot()
    save(fig, "total_weekly")
    assert 0 < len(fig.axes[0].get_xticks()) <= 16


def test_unknown_cells_are_drawn_as_unknown_not_zero(make_standin, make_breakdown_client):
    s = make_standin(seed=5, contacts=2000, offices=1, agents=5)
    client = make_breakdown_client(s, max_retries=0)
    plan = plan_breakdown(client, ContactQuery(s.customer_ids[0]), ("agent",), start=START, end=END)
    lost = next(c for c in plan.calls if c.dimension == "created" and c.value == 5)
    for call in plan.calls:
        if call is not lost:
            client.contacts(call.query)
    s.set_faults(down=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_breakdown(client, plan, allow_partial=True, progress=False)
    s.set_faults()
    fig = result.plot("agent")
    save(fig, "by_agent_incomplete")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "unknown (a call failed)" in labels
    assert sum(1 for t in fig.axes[0].texts if t.get_text() == "?") == 2
    names = dict(zip(s.agents["user_id"], s.agents["name"], strict=True))
    assert_series_match_counts(fig, result, names)


def test_special_values_are_hatched_apart_from_values_and_unknown(agent_result):
    fig = agent_result.plot("agent")
    hatches = {c.get_label(): c.get_hatch() for c in fig.axes[0].collections}
    assert hatches.get("(no agent)"), "the (no agent) segment has a hatch"
    assert hatches["(no agent)"] != charts.UNKNOWN_HATCH
    assert all(h is None for label, h in hatches.items() if not label.startswith("("))


def test_long_names_keep_legend_and_labels_inside_the_figure(agent_result, standin):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    long = {a: f"Anna-Karin {a} Johansson-Lindqvist af Ekenstam" for a in standin.agents["user_id"]}
    for fig in (agent_result.plot("agent", names=long), agent_result.plot("bar", names=long)):
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        ax, page = fig.axes[0], fig.bbox
        assert page.x0 <= ax.yaxis.get_tightbbox(renderer).x0
        assert ax.xaxis.get_tightbbox(renderer).x1 <= page.x1
        legend = ax.get_legend()
        if legend is not None:
            box = legend.get_window_extent(renderer)
            assert ax.bbox.x1 < box.x0 and box.x1 <= page.x1
        save(fig, "long_names_" + ("bar" if legend is None else "by_agent"))


def test_services_are_named_as_published(chart_client, standin):
    import pandas as pd

    counts = pd.DataFrame(
        {
            "period": [pd.Timestamp("2025-01-01", tz="Europe/Stockholm")] * 3,
            "scheduled_order_type": [1, 2, 7],
            "contacts": [3, 4, 5],
        }
    )
    fig = charts.bar(counts, "scheduled_order_type")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert set(labels) == {"Home valuation", "Final prices in the area", "service 7"}
    assert "by service" in fig.get_suptitle()
    sv = charts.bar(counts, "scheduled_order_type", language="sv")
    assert "Ditt bostadsvärde" in [t.get_text() for t in sv.axes[0].get_yticklabels()]


def test_a_chart_names_its_filters_from_the_query(agent_result):
    query = agent_result.plan.query.replace(lead_score=3)
    counts = agent_result.activity(by=())
    fig = charts.stacked(counts, None, query=query)
    assert "Filters: lead score ★★★☆☆ 3" in [t.get_text() for t in fig.texts]


def test_an_empty_chart_says_no_contacts_match(agent_result):
    counts = agent_result.activity(by=()).assign(contacts=0)
    fig = charts.stacked(counts, None)
    assert any("No contacts match" in t.get_text() for t in fig.axes[0].texts)
    assert not fig.axes[0].axison


def test_partial_first_and_last_weeks_are_marked(agent_result):
    counts = agent_result.activity(by=(), period="M")
    weekly = counts.attrs | {"period": "W"}
    import pandas as pd

    periods = pd.date_range("2024-12-30", "2025-12-29", freq="W-MON", tz="Europe/Stockholm")
    frame = pd.DataFrame({"period": periods, "contacts": 1})
    frame.attrs = weekly  # 1 Jan 2025 is a Wednesday, 31 Dec 2025 too
    fig = charts.stacked(frame, None)
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks[0].endswith("*") and ticks[-1].endswith("*")
    assert sum(t.endswith("*") for t in ticks) == 2
    assert "partial week" in fig.axes[0].get_xlabel()


def test_a_chart_drawn_into_an_earlier_one_is_the_same_picture_as_a_new_one(agent_result):
    """The form draws each run into its last figure (`figure=`): nothing of the earlier
    chart (bars, an empty chart's axis off, the earlier range's line and legend, the
    filters line, its limits) may remain, and the pixels equal a new figure's."""
    import dataclasses
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    from vitec_nb.plan.compare import draw_previous

    def pixels(fig: Figure) -> np.ndarray:
        buffer = io.BytesIO()
        FigureCanvasAgg(fig).print_png(buffer)
        return np.asarray(Image.open(buffer))

    counts = agent_result.activity(by=("agent",))
    by_score = agent_result.activity(by=("lead_score",))
    empty = agent_result.activity(by=()).assign(contacts=0)
    new = pixels(charts.by_agent(counts, top=3))
    earlier = [
        charts.stacked(empty, None, subtitle="Filters: lead score 5"),
        charts.by_lead_score(by_score.assign(contacts=by_score["contacts"] * 40)),
    ]
    itself = dataclasses.replace(agent_result, previous=agent_result)  # a dashed line
    earlier.append(draw_previous(charts.by_agent(counts, top=5), itself))
    for fig in earlier:
        pixels(fig)  # drawn once, as the form shows it
        again = charts.by_agent(counts, top=3, figure=fig)
        assert again is fig
        assert np.array_equal(pixels(again), new)
    other = Figure()
    other.add_subplot()
    assert charts.by_agent(counts, top=3, figure=other) is not other  # not a chart: left alone
