"""The form's issue-12 pieces against the stand-in: drill-down, the chain, compare with,
save chart, and the form in Swedish (labels, chart title, messages)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.plugins.notebook import last_full_months
from vitec_nb.errors import InvalidQueryError
from vitec_nb.widgets import ContactExplorer

TZ = "Europe/Stockholm"


def run_months(form: ContactExplorer, months: int = 6) -> tuple[dt.date, dt.date]:
    start, end = last_full_months(months)
    form.created_from.value, form.created_to.value = start, end
    form.run()
    assert form.last_error is None, form.last_error
    return start, end


def in_days(truth: pd.DataFrame, first: Any, last: Any) -> pd.DataFrame:
    lo = pd.Timestamp(first, tz=TZ)
    hi = pd.Timestamp(last, tz=TZ) + pd.Timedelta(days=1)
    return truth[(truth["created_at"] >= lo) & (truth["created_at"] < hi)]


def contact_details_calls(standin: Any) -> list[Any]:
    return [r for r in standin.requests if "ContactDetail" in r.path or "Contacts" in r.path]


def test_show_contacts_lists_the_largest_cell_with_names(
    explorer: ContactExplorer, form_standin: Any, tmp_path: Path
) -> None:
    explorer.split.value = ("agent",)
    run_months(explorer)
    result = explorer.last_result
    period, agent = explorer.cell_period.value, explorer.cell_value.value
    biggest = result.counts["contacts"].max()
    cell = result.counts[(result.counts["period"] == period) & (result.counts["agent"] == agent)]
    assert cell["contacts"].iloc[0] == biggest > 0  # pre-filled from the largest segment
    assert explorer.drill_text.startswith("Show contacts will make")  # said before it runs
    planned = result.details_calls(period=period, agent=agent)
    assert f"{planned.calls} contact-details call" in explorer.drill_text

    rows = explorer.show_contacts()
    office = explorer.office.value
    truth = form_standin.truth[
        (form_standin.truth["customer_id"] == office) & (form_standin.truth["agent_id"] == agent)
    ]
    end = (pd.Timestamp(period).tz_convert(TZ) + pd.offsets.MonthBegin(1)).date()
    expected = in_days(
        truth, pd.Timestamp(period).tz_convert(TZ).date(), end - dt.timedelta(days=1)
    )
    assert len(rows) == biggest == len(expected)
    assert set(rows["id"].str.upper()) == set(expected["id"].str.upper())
    assert rows["name"].notna().all() and (rows["name"].str.len() > 0).all()
    shown = ["name", "kind", "agent", "agent_name", "created_at", "changed_at"]
    assert list(rows.columns[:6]) == shown
    assert rows.attrs["details_calls"] == planned.calls

    explorer.export_folder.value = str(tmp_path)
    path = explorer.export_contacts("csv")
    text = path.read_text(encoding="utf-8")
    assert "# Filters: " in text and explorer.cell_value.label in text
    frame = pd.read_csv(path, comment="#")
    assert len(frame) == len(rows) and set(frame["name"]) == set(rows["name"])


def test_contacts_of_a_lead_score_cell_carry_the_agent_filter_and_the_score(
    explorer: ContactExplorer, form_standin: Any
) -> None:
    office = explorer.office.value
    agent = form_standin.truth[form_standin.truth["customer_id"] == office]["agent_id"].mode()[0]
    explorer.agent.value = agent
    explorer.split.value = ("lead_score",)
    run_months(explorer)
    rows = explorer.show_contacts()
    assert len(rows) == explorer.last_result.counts["contacts"].max()
    assert (rows["agent"] == agent).all()
    assert (rows["lead_score"] == explorer.cell_value.value).all()
    assert list(rows.columns[:5]) == ["name", "kind", "agent", "agent_name", "lead_score"]


def test_show_contacts_before_a_run_says_run_first(explorer: ContactExplorer) -> None:
    assert explorer.show_contacts() is None
    assert explorer.drill_text == "Pick a period and a value first."


def test_compare_with_the_same_months_last_year(
    explorer: ContactExplorer, form_standin: Any
) -> None:
    explorer.compare.value = "year"
    start, end = run_months(explorer)
    office = explorer.office.value
    truth = form_standin.truth[form_standin.truth["customer_id"] == office]
    now = len(in_days(truth, start, end))
    then = len(in_days(truth, start.replace(year=start.year - 1), end.replace(year=end.year - 1)))
    result = explorer.last_result
    assert (len(result.facts), len(result.previous.facts)) == (now, then)
    pct = f"{(now - then) / then * 100:+.0f} %"
    said = explorer.last_summary["comparison"]
    assert said.startswith(f"{pct} on the same months of {start.year - 1}")
    assert said in explorer.summary.value
    dashed = [x for x in explorer.last_figure.axes[0].get_lines() if x.get_linestyle() == "--"]
    assert len(dashed) == 1  # the earlier range, lighter, over the bars


def test_compare_with_a_time_of_day_passes_it_as_start_and_end(explorer: ContactExplorer) -> None:
    explorer.compare.value = "previous"
    start, end = last_full_months(3)
    explorer.created_from.value, explorer.created_to.value = start, end
    assert explorer.query.created_from is None and explorer.options["start"] == start
    assert "calls" in explorer.status_text and not explorer.run_button.disabled


def test_several_offices_split_by_office_with_office_names(
    explorer: ContactExplorer, form_standin: Any, form_client: Any
) -> None:
    offices = list(form_standin.customer_ids)
    explorer.more_offices.value = tuple(offices)
    explorer.split.value = ("office",)
    start, end = run_months(explorer)
    truth = in_days(form_standin.truth[form_standin.truth["customer_id"].isin(offices)], start, end)
    assert explorer.last_summary["total"] == len(truth)
    by_office = explorer.last_result.counts.groupby("office", observed=True)["contacts"].sum()
    assert by_office.to_dict() == truth["customer_id"].value_counts().to_dict()
    legend = [t.get_text() for t in explorer.last_figure.axes[0].get_legend().get_texts()]
    assert set(legend) == {form_client.office_label(o) for o in offices}
    assert "Södermalm (M30011)" in legend


def test_an_office_group_replaces_the_offices(explorer: ContactExplorer, form_standin: Any) -> None:
    groups = form_standin.office_groups
    group = groups[groups["offices"].map(len) == 2].iloc[0]
    assert (f"{group['name']} (2)", group["id"]) in explorer.office_group.options
    explorer.office_group.value = group["id"]
    start, end = run_months(explorer)
    assert set(explorer.last_result.plan.query.customer_ids) == set(group["offices"])
    truth = form_standin.truth[form_standin.truth["customer_id"].isin(group["offices"])]
    assert explorer.last_summary["total"] == len(in_days(truth, start, end))


def test_save_chart_writes_png_and_svg_named_by_the_run(
    explorer: ContactExplorer, tmp_path: Path
) -> None:
    explorer.export_folder.value = str(tmp_path)
    assert explorer.save_chart_button.disabled
    run_months(explorer)
    explorer.save_chart_button.click()
    png, svg = explorer.last_chart_files
    office = explorer.office.value.lower()
    assert png.name.startswith(f"chart-{office}-contacts-created-per-month-")
    assert png.name.endswith("-run1.png") and svg.suffix == ".svg"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Contacts created per month" in svg.read_text(encoding="utf-8")
    assert "vnb-download" in explorer.export_link.value


def test_a_swedish_form_speaks_swedish(form_client: Any) -> None:
    form = ContactExplorer(form_client, language="sv")
    assert form.office.description == "Kontor" and form.agent.description == "Handläggare"
    assert (
        form.run_button.description == "Kör"
        and form.save_chart_button.description == "Spara diagram"
    )
    assert form.agent.options[0][0] == "(alla)"
    assert form.status_text.startswith("Gör ")
    run_months(form)
    title = form.last_figure.get_suptitle()
    assert title.startswith("Kontakter skapade per månad")
    assert form.last_figure.axes[0].get_xlabel().startswith("Månad (svensk tid)")
    assert "kontakter" in form.summary.value and "anrop gjorda" in form.summary.value
    start, _ = last_full_months(6)
    form.created_to.value = start - dt.timedelta(days=1)
    assert form.status_text.startswith("Skapad till: ")
    assert "är före skapad från" in form.status_text and form.run_button.disabled


def test_the_language_comes_from_the_environment_and_must_be_known(
    form_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VITEC_NB_LANGUAGE", "sv")
    assert ContactExplorer(form_client).language == "sv"
    with pytest.raises(InvalidQueryError, match="allowed: en, sv"):
        ContactExplorer(form_client, language="de")
