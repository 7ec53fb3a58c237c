"""The contact explorer form, driven without a browser against the stand-in.

Controls are set through `.value` and buttons through `.click()`, which run the same
handlers a browser would; what the form displayed is read from its recording attributes
(`last_summary`, `figures_shown`, ...) because `Output.outputs` stays empty outside a
front end. What reached the server is read from the stand-in's request log.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.plugins.notebook import last_full_months, truth_matching
from vitec_nb.query import PARAMETERS
from vitec_nb.widgets import ANY_VALUE, ContactExplorer

CONTROL_FOR_FIELD = {
    "customer_id": "office",
    "agent_id": "agent",
    "created_from": "created_from",
    "created_to": "created_to",
    "changed_from": "changed_from",
    "changed_to": "changed_to",
    "custom_field_name": "custom_field",
    "custom_field_value": "custom_value",
    "lead_score": "lead_score",
    "scheduled_order_type": "scheduled_order_type",
    "newsletter_list_id": "newsletter_list",
}


def contact_calls(standin: Any) -> list[Any]:
    return [r for r in standin.requests if r.path.lstrip("/").startswith("CRM/Contact/")]


def set_range(form: ContactExplorer, months: int = 3) -> tuple[Any, Any]:
    start, end = last_full_months(months)
    form.created_from.value, form.created_to.value = start, end
    return start, end


def agent_with_contacts(standin: Any, office: str) -> str:
    rows = standin.truth[standin.truth["customer_id"] == office]
    return str(rows["agent_id"].value_counts().index[0])


def test_every_filter_has_a_labelled_control(explorer: ContactExplorer) -> None:
    assert set(CONTROL_FOR_FIELD) == set(PARAMETERS)
    for name in CONTROL_FOR_FIELD.values():
        control = getattr(explorer, name)
        assert control.description, name
        assert control.tooltip, name
        assert control in explorer._inputs


def test_office_choices_are_the_clients_customer_ids(
    explorer: ContactExplorer, form_client: Any
) -> None:
    assert [v for _, v in explorer.office.options] == list(form_client.customer_ids)


def test_agent_choices_are_the_offices_agents_with_archived_marked(
    explorer: ContactExplorer, form_standin: Any
) -> None:
    agents = form_standin.agents[form_standin.agents["customer_id"] == explorer.office.value]
    options = dict((value, label) for label, value in explorer.agent.options)
    assert explorer.agent.value == ANY_VALUE and options[ANY_VALUE] == "(any)"
    assert set(options) - {ANY_VALUE} == set(agents["user_id"].astype(str))
    for row in agents.itertuples():
        assert options[str(row.user_id)].endswith("(archived)") == bool(row.archived)


def test_changing_the_office_reloads_the_agents(
    explorer: ContactExplorer, form_standin: Any
) -> None:
    other = explorer.office.options[1][1]
    explorer.office.value = other
    agents = form_standin.agents[form_standin.agents["customer_id"] == other]
    assert {v for _, v in explorer.agent.options} - {ANY_VALUE} == set(
        agents["user_id"].astype(str)
    )


def test_lead_score_choices_show_stars(explorer: ContactExplorer) -> None:
    labels = dict((v, label) for label, v in explorer.lead_score.options)
    assert labels[3].startswith("★★★☆☆")
    assert sorted(v for v in labels if v != ANY_VALUE) == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("change", "label"),
    [
        ({"created_from": (2025, 5, 2), "created_to": (2025, 5, 1)}, "Created to"),
        ({"changed_from": (2025, 5, 2), "changed_to": (2025, 5, 1)}, "Changed to"),
        ({"custom_value": "Hemnet"}, "Field value"),
        ({"scheduled_order_type": "often"}, "Scheduled order"),
        ({"scheduled_order_type": "-1"}, "Scheduled order"),
        ({"created_from": None, "created_from_time": (9, 30)}, "Created from"),
    ],
)
def test_invalid_input_disables_run_and_names_the_field(
    explorer: ContactExplorer, form_standin: Any, change: dict[str, Any], label: str
) -> None:
    for name, value in change.items():
        if isinstance(value, tuple):  # (y, m, d) is a date, (h, m) a time of day
            value = dt.date(*value) if len(value) == 3 else dt.time(*value)
        getattr(explorer, name).value = value
    assert explorer.run_button.disabled
    assert explorer.refresh_button.disabled
    assert explorer.status_text.startswith(f"{label}:")
    explorer.run_button.click()
    assert explorer.last_summary is None
    assert form_standin.requests == []


def test_fixing_the_input_enables_run_again(explorer: ContactExplorer) -> None:
    explorer.scheduled_order_type.value = "often"
    assert explorer.run_button.disabled
    explorer.scheduled_order_type.value = "1"
    assert not explorer.run_button.disabled
    assert explorer.query.scheduled_order_type == 1


def test_scheduled_order_offers_the_published_services_and_accepts_them(
    explorer: ContactExplorer,
) -> None:
    from vitec_nb.vocab import SCHEDULED_ORDER_TYPES

    options = list(explorer.scheduled_order_type.options)
    assert options == [
        "Home valuation (1 EstateValue)",
        "Final prices in the area (2 FinalPricesInArea)",
        "Boneo search profile (3 BoneoSearchProfile)",
    ]
    for option, number in zip(options, SCHEDULED_ORDER_TYPES, strict=True):
        explorer.scheduled_order_type.value = option
        assert not explorer.run_button.disabled
        assert explorer.query.scheduled_order_type == number
    explorer.scheduled_order_type.value = "7"  # an unpublished service: kept by number
    assert explorer.query.scheduled_order_type == 7


def test_the_swedish_form_offers_vitecs_swedish_service_names(form_client: Any) -> None:
    form = ContactExplorer(form_client, language="sv")
    assert "Ditt bostadsvärde (1 EstateValue)" in form.scheduled_order_type.options
    assert form.csv_style.value == "excel-sv"
    assert ContactExplorer(form_client).csv_style.value == "plain"


def test_status_says_how_many_calls_a_run_makes(
    explorer: ContactExplorer, form_client: Any, form_standin: Any
) -> None:
    set_range(explorer)
    explorer.split.value = ("lead_score",)
    plan = form_client.plan(explorer.build_query(), **explorer.chart_options())
    assert explorer.status_text.startswith(f"Will make {plan.n_calls} calls (0 cached)")
    assert contact_calls(form_standin) == []


def test_run_sends_the_chosen_filters(explorer: ContactExplorer, form_standin: Any) -> None:
    office = explorer.office.value
    agent = agent_with_contacts(form_standin, office)
    start, end = set_range(explorer)
    explorer.agent.value = agent
    explorer.lead_score.value = 2
    explorer.run_button.click()
    assert explorer.last_error is None
    calls = contact_calls(form_standin)
    assert calls
    for call in calls:
        assert call.path.rstrip("/").endswith(office)
        assert call.params["AgentId"] == agent
        assert call.params["LeadScore"] == "2"
        assert call.params["CreatedAtFrom"] >= f"{start:%Y-%m-%d}T00:00:00"
        assert call.params["CreatedAtTo"] <= f"{end + dt.timedelta(days=1):%Y-%m-%d}T00:00:00"


def test_summary_counts_match_the_ground_truth(
    explorer: ContactExplorer, form_standin: Any
) -> None:
    office = explorer.office.value
    start, end = set_range(explorer)
    explorer.lead_score.value = 1
    explorer.split.value = ("agent",)
    explorer.run_button.click()
    expected = truth_matching(form_standin.truth, office, created=(start, end), lead_score=1)
    summary = explorer.last_summary
    assert summary["total"] == len(expected) > 0
    for kind in ("person", "company", "deceased_estate"):
        assert summary[kind] == int((expected["kind"] == kind).sum())
    assert summary["office"] == office
    assert summary["calls"] == len(contact_calls(form_standin))
    assert f'data-kind="total">{len(expected)}<' in explorer.summary.value


def test_a_run_shows_exactly_one_figure(explorer: ContactExplorer) -> None:
    set_range(explorer)
    explorer.split.value = ("lead_score",)
    explorer.run_button.click()
    assert explorer.figures_shown == 1
    assert explorer.last_figure is not None
    assert explorer.last_figure.axes and explorer.last_figure.axes[0].has_data()  # bars drawn
    assert explorer.last_png.startswith(b"\x89PNG")  # shown as a rendered image
    explorer.run_button.click()
    assert explorer.figures_shown == 2


def test_run_again_is_answered_from_the_cache(explorer: ContactExplorer, form_standin: Any) -> None:
    set_range(explorer)
    before = pd.Timestamp.now(tz="UTC").floor("s")
    explorer.run_button.click()
    after = pd.Timestamp.now(tz="UTC")
    first = explorer.last_summary
    form_standin.clear_requests()
    assert first["calls"] > 0
    assert explorer.status_text == (
        f"Done: {first['total']} contacts; {first['calls']} calls made, "
        f"{first['cached']} answered from the cache."
    )
    explorer.run_button.click()
    assert contact_calls(form_standin) == []
    assert explorer.last_summary["calls"] == 0
    assert explorer.last_summary["cached"] == first["calls"] + first["cached"]
    assert explorer.last_summary["total"] == first["total"]
    # a cached run says when its answers were fetched, not when it ran
    assert before <= first["fetched_at"] <= after  # when the first run fetched them
    assert explorer.last_summary["fetched_at"] == first["fetched_at"]
    assert explorer.status_text == (
        f"Done: {first['total']} contacts; 0 calls made, "
        f"{first['calls'] + first['cached']} answered from the cache."
    )


def test_refresh_asks_the_server_again(explorer: ContactExplorer, form_standin: Any) -> None:
    set_range(explorer)
    explorer.run_button.click()
    made = explorer.last_summary["calls"]
    form_standin.clear_requests()
    explorer.refresh_button.click()
    assert len(contact_calls(form_standin)) == made


def test_offline_run_with_an_empty_cache_explains_instead_of_fetching(
    explorer: ContactExplorer, form_standin: Any
) -> None:
    set_range(explorer)
    explorer.offline.value = True
    explorer.run_button.click()
    assert explorer.last_summary is None
    assert "offline" in explorer.last_error.lower()
    assert "Traceback" not in explorer.status.value
    assert contact_calls(form_standin) == []


def test_controls_are_disabled_during_a_run_and_enabled_after(
    explorer: ContactExplorer,
) -> None:
    set_range(explorer)
    seen: list[bool] = []
    explorer.office.observe(lambda change: seen.append(change["new"]), names="disabled")
    explorer.run_button.click()
    assert seen == [True, False]
    assert not explorer.run_button.disabled


def test_progress_bar_counts_every_call(explorer: ContactExplorer, form_client: Any) -> None:
    set_range(explorer)
    explorer.split.value = ("lead_score",)
    n_calls = explorer.plan.n_calls
    values: list[int] = []
    explorer.progress.observe(lambda change: values.append(change["new"]), names="value")
    explorer.run_button.click()
    assert explorer.progress.max == n_calls
    assert values[-1] == n_calls


def test_csv_export_writes_the_result(explorer: ContactExplorer, tmp_path: Path) -> None:
    set_range(explorer)
    explorer.export_folder.value = str(tmp_path / "out")
    assert explorer.csv_button.disabled
    explorer.run_button.click()
    explorer.csv_button.click()
    path = explorer.last_export
    assert path.parent == (tmp_path / "out").resolve()
    frame = pd.read_csv(path, comment="#")
    assert len(frame) == explorer.last_summary["total"]
    assert set(frame["id"].astype(str)) == set(explorer.last_frame["id"].astype(str))
    assert 'download="' in explorer.export_link.value


def test_excel_export_writes_the_result(explorer: ContactExplorer, tmp_path: Path) -> None:
    set_range(explorer)
    explorer.export_folder.value = str(tmp_path)
    explorer.run_button.click()
    explorer.excel_button.click()
    frame = pd.read_excel(explorer.last_export)
    assert len(frame) == explorer.last_summary["total"]


def test_wrong_password_says_check_user_name_and_password(
    form_standin: Any, tmp_path: Path
) -> None:
    from vitec_nb import connect

    client = connect(
        base_url=form_standin.url,
        username=form_standin.username,
        password="not-the-password",
        customer_ids=form_standin.customer_ids,
        cache=tmp_path / "cache.sqlite",
    )
    form = ContactExplorer(client)
    set_range(form)
    form.run_button.click()
    assert "check user name and password" in form.last_error
    assert "not-the-password" not in form.status.value
    assert form.last_summary is None


def test_office_without_access_says_no_access_to_that_office(
    form_standin: Any, tmp_path: Path
) -> None:
    from vitec_nb import connect

    allowed, refused = form_standin.customer_ids[:2]
    form_standin.add_account("kontor-ett", passwords={allowed: "hemligt-1"})
    client = connect(
        base_url=form_standin.url,
        username="kontor-ett",
        passwords={allowed: "hemligt-1", refused: "hemligt-1"},
        cache=tmp_path / "cache.sqlite",
    )
    form = ContactExplorer(client)
    form.office.value = refused
    set_range(form)
    form.run_button.click()
    assert f"No access to office {refused}" in form.last_error
    assert "hemligt" not in form.status.value


def test_without_configured_offices_the_office_is_typed(form_standin: Any, tmp_path: Path) -> None:
    from vitec_nb import connect

    client = connect(
        base_url=form_standin.url,
        username=form_standin.username,
        password=form_standin.password,
        cache=tmp_path / "cache.sqlite",
    )
    assert client.customer_ids == ()
    form = ContactExplorer(client)
    assert form.office.value == "" and form.run_button.disabled
    assert form.status_text.startswith("Office:")
    office = form_standin.customer_ids[1]
    form.office.value = office.lower()
    agents = form_standin.agents[form_standin.agents["customer_id"] == office]
    assert {v for _, v in form.agent.options} - {ANY_VALUE} == set(agents["user_id"].astype(str))
    set_range(form)
    form.run_button.click()
    assert form.last_error is None
    assert form.last_summary["office"] == office
