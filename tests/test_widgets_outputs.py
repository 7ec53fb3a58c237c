"""Every output of the form says what it shows, and is drawn from the run that made it.

The form is driven as in test_widgets.py (controls through `.value`, buttons through
`.click()`) against the shared stand-in; what a run showed is read from its record, the
chart's texts, the summary HTML and the files written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.plugins.notebook import last_full_months, truth_matching
from vitec_nb import captions
from vitec_nb.widgets import ANY, ANY_VALUE, STALE_TEXT, ContactExplorer


def chart_texts(form: ContactExplorer) -> str:
    """Every text drawn on the form's last chart (title, subtitle, labels, notes)."""
    fig = form.last_figure
    texts = [t.get_text() for t in fig.texts] + [fig._suptitle.get_text()]
    for ax in fig.axes:
        texts += [ax.get_xlabel(), ax.get_ylabel(), ax.get_title()]
        texts += [t.get_text() for t in ax.texts + ax.get_xticklabels()]
    return "\n".join(texts)


def busiest_agent(standin: Any, office: str) -> tuple[str, str]:
    rows = standin.truth[standin.truth["customer_id"] == office]
    agent = str(rows["agent_id"].value_counts().index[0])
    name = standin.agents.set_index("user_id").loc[agent, "name"]
    return agent, str(name)


def run_months(form: ContactExplorer, months: int = 3) -> tuple[dt.date, dt.date]:
    start, end = last_full_months(months)
    form.created_from.value, form.created_to.value = start, end
    form.run_button.click()
    assert form.last_error is None, form.last_error
    return start, end


def test_every_drop_down_starts_with_a_value(explorer: ContactExplorer) -> None:
    for control in (explorer.agent, explorer.lead_score, explorer.newsletter_list):
        assert control.index is not None and control.label == ANY
    assert explorer.office.index is not None


def test_rechoosing_any_shows_it(explorer: ContactExplorer, form_standin: Any) -> None:
    agent, _ = busiest_agent(form_standin, explorer.office.value)
    explorer.agent.value = agent
    explorer.lead_score.value = 3
    explorer.agent.value = ANY_VALUE
    explorer.lead_score.index = 0  # what a browser sends when "(any)" is picked
    assert explorer.agent.label == ANY and explorer.lead_score.label == ANY
    assert explorer.query.agent_id is None and explorer.query.lead_score is None


def test_chart_title_and_summary_name_the_agent(
    explorer: ContactExplorer, form_standin: Any
) -> None:
    office = explorer.office.value
    agent, name = busiest_agent(form_standin, office)
    explorer.agent.value = agent
    explorer.lead_score.value = 2
    start, end = run_months(explorer)
    texts = chart_texts(explorer)
    assert f"agent {name}" in texts
    assert "lead score ★★☆☆☆ 2" in texts
    assert office in explorer.last_figure._suptitle.get_text()
    assert captions.range_text(start, end) in explorer.last_figure._suptitle.get_text()
    assert f"agent {name}" in explorer.summary.value
    expected = truth_matching(
        form_standin.truth, office, created=(start, end), agent_id=agent, lead_score=2
    )
    assert explorer.last_summary["total"] == len(expected)


def test_chart_says_the_range_as_written_and_the_other_dates_as_a_filter(
    explorer: ContactExplorer,
) -> None:
    explorer.changed_from.value = dt.date(2020, 1, 1)
    explorer.changed_to.value = dt.date(2030, 12, 31)
    start, end = run_months(explorer, 2)
    title = explorer.last_figure._suptitle.get_text()
    assert captions.range_text(start, end) in title
    assert "changed 1 Jan 2020 – 31 Dec 2030 also applies" in chart_texts(explorer)
    assert "Filters: changed 1 Jan 2020" in "\n".join(explorer.record.caption.lines())


def test_changing_a_filter_after_a_run_says_out_of_date(explorer: ContactExplorer) -> None:
    run_months(explorer)
    assert explorer.stale.value == "" and not explorer.is_out_of_date
    explorer.lead_score.value = 4
    assert explorer.is_out_of_date and STALE_TEXT in explorer.stale.value
    explorer.lead_score.index = 0
    assert explorer.stale.value == ""  # back to what the run showed
    explorer.lead_score.value = 4
    explorer.run_button.click()
    assert not explorer.is_out_of_date and explorer.stale.value == ""


def test_export_after_an_office_change_is_labelled_by_the_runs_office(
    explorer: ContactExplorer, tmp_path: Path
) -> None:
    ran, other = (v for _, v in explorer.office.options[:2])
    explorer.export_folder.value = str(tmp_path)
    run_months(explorer)
    rows = explorer.last_summary["total"]
    explorer.office.value = other  # no new run
    assert STALE_TEXT in explorer.stale.value
    path = explorer.export()
    assert path is not None and f"-{ran}-run1-" in path.name and other not in path.name
    header = [line for line in path.read_text().splitlines() if line.startswith("# ")]
    assert any(line.startswith(f"# Office: {ran}") for line in header)
    assert any(line.startswith("# Fetched: ") for line in header)
    frame = pd.read_csv(path, comment="#")
    assert len(frame) == rows and set(frame["customer_id"]) == {ran}
    assert "changed since that run" in explorer.status_text


def test_swedish_excel_csv_reads_back_as_columns(
    form_client: Any, form_standin: Any, tmp_path: Path
) -> None:
    form = ContactExplorer(form_client, language="sv")
    form.export_folder.value = str(tmp_path)
    form.split.value = ("agent",)
    run_months(form)
    path = form.export("csv")
    raw = path.read_bytes()
    assert raw.startswith("\ufeff# Kontor: ".encode())  # UTF-8 BOM, then the header, in Swedish
    text = raw.decode("utf-8-sig")
    assert "# Tider: svensk lokal tid (Europe/Stockholm)" in text
    frame = pd.read_csv(path, sep=";", encoding="utf-8-sig", comment="#")
    assert len(frame) == form.last_summary["total"] and len(frame.columns) > 5
    assert set(frame["kind"]) <= {"person", "företag", "dödsbo"}
    changed = frame["changed_at"].astype(str)
    assert changed.str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()  # no offset
    names = form_standin.agents.set_index("user_id")["name"]
    known = frame["agent"].isin(names.index)
    assert (frame.loc[known, "agent_name"] == names[frame.loc[known, "agent"]].values).all()


def test_excel_export_puts_the_header_on_an_about_sheet(
    explorer: ContactExplorer, tmp_path: Path
) -> None:
    explorer.export_folder.value = str(tmp_path)
    run_months(explorer)
    path = explorer.export("xlsx")
    about = pd.read_excel(path, sheet_name="about")["about"].tolist()
    assert about[0] == f"Office: {explorer.record.caption.office}"
    assert len(pd.read_excel(path, sheet_name="contacts")) == explorer.last_summary["total"]


def test_a_new_run_removes_the_previous_download_link(
    explorer: ContactExplorer, tmp_path: Path
) -> None:
    explorer.export_folder.value = str(tmp_path)
    run_months(explorer)
    explorer.export("csv")
    assert 'class="vnb-download"' in explorer.export_link.value
    explorer.run_button.click()
    assert explorer.export_link.value == ""


def test_an_empty_result_says_no_contacts_match(explorer: ContactExplorer) -> None:
    explorer.custom_field.index = 1
    explorer.custom_value.value = "no contact has this value"
    run_months(explorer)
    assert explorer.last_summary["total"] == 0
    assert "No contacts match" in explorer.summary.value
    assert "No contacts match" in chart_texts(explorer)
    assert not explorer.last_figure.axes[0].axison  # no empty −0.04…0.04 axis


def test_weekly_chart_marks_partial_first_and_last_weeks(explorer: ContactExplorer) -> None:
    explorer.period.value = "W"
    start, end = last_full_months(2)
    assert start.weekday() != 0 or (end + dt.timedelta(days=1)).weekday() != 0
    run_months(explorer, 2)
    ticks = [t.get_text() for t in explorer.last_figure.axes[0].get_xticklabels()]
    assert ticks[0].endswith("*") == (start.weekday() != 0)
    assert ticks[-1].endswith("*") == ((end + dt.timedelta(days=1)).weekday() != 0)
    assert "partial week" in explorer.last_figure.axes[0].get_xlabel()


def test_first_rows_show_labels_and_agent_names(
    explorer: ContactExplorer, form_standin: Any
) -> None:
    explorer.split.value = ("agent",)
    run_months(explorer)
    from vitec_nb.form_output import _table

    table = _table(explorer.last_frame, explorer.record.names).data
    assert "<th>Agent</th>" in table and "<th>agent</th>" not in table
    assert "white-space:nowrap" in table
    first = explorer.last_frame.iloc[0]
    if pd.notna(first["agent_name"]) and first["agent"] in set(form_standin.agents["user_id"]):
        assert f"<td>{first['agent_name']}</td>" in table
        assert f"<td>{first['agent']}</td>" not in table


def test_switching_offline_off_reloads_lookups_and_status(explorer: ContactExplorer) -> None:
    explorer.offline.value = True
    explorer.office.index = 1  # its lookups were never fetched: offline, they cannot load
    assert "could not load" in explorer.status_text
    assert [v for _, v in explorer.agent.options] == [ANY_VALUE]
    explorer.offline.value = False
    assert "could not load" not in explorer.status_text
    assert explorer.status_text.startswith("Will make")
    assert len(explorer.agent.options) > 1


def test_offline_message_says_the_range_as_written_and_that_nothing_was_sent(
    explorer: ContactExplorer,
) -> None:
    explorer.offline.value = True
    explorer.created_from.value, explorer.created_to.value = (
        dt.date(2025, 1, 1),
        dt.date(2025, 12, 31),
    )
    explorer.run_button.click()
    message = explorer.last_error
    assert "1 Jan – 31 Dec 2025" in message and "nothing" in message
    assert "calls failed" not in message and "2026-01-01" not in message


@pytest.mark.parametrize(
    ("valid_for", "kept"),
    [(("Person",), True), (("Company", "House"), True), (("House",), False), ((), False)],
)
def test_custom_field_choices_only_fields_valid_for_contacts(
    valid_for: tuple[str, ...], kept: bool
) -> None:
    from vitec_nb.form_model import _contact_fields

    fields = pd.DataFrame({"name": ["f"], "label": ["F"], "valid_for": [valid_for]})
    assert len(_contact_fields(fields)) == int(kept)
    assert len(_contact_fields(fields.drop(columns="valid_for"))) == 1


def test_the_cli_writes_the_same_export_for_swedish_excel(
    form_standin: Any, standin_env: Path, tmp_path: Path
) -> None:
    from vitec_nb.cli import main

    office = form_standin.customer_ids[0]
    out = tmp_path / "contacts.csv"
    args = ["fetch", office, "--lead-score", "4", "--created-to", "2025-12-31"]
    assert main([*args, "--out", str(out), "--csv-style", "excel-sv"]) == 0
    text = out.read_bytes().decode("utf-8-sig")  # as written: CRLF line ends
    assert f"# Office: {office}\r\n" in text and "# Filters: lead score ★★★★☆ 4" in text
    assert "created until 31 Dec 2025" in text or "created up to 31 Dec 2025" in text
    frame = pd.read_csv(out, sep=";", encoding="utf-8-sig", comment="#")
    truth = form_standin.truth
    end = pd.Timestamp("2026-01-01", tz="Europe/Stockholm")
    want = truth[
        (truth["customer_id"] == office) & (truth["lead_score"] == 4) & (truth["created_at"] < end)
    ]
    assert set(frame["id"]) == set(want["id"].astype(str))
    assert list(frame.columns[:4]) == ["kind", "id", "customer_id", "changed_at"]


def test_measuring_changes_shows_its_own_range_and_the_created_dates_as_a_filter(
    explorer: ContactExplorer,
) -> None:
    from vitec_nb.form_layout import default_range

    assert explorer.changed_from.value is None and explorer.changed_to.value is None
    explorer.measure.value = "changed"
    first, last = default_range()
    assert (explorer.changed_from.value, explorer.changed_to.value) == (first, last)
    created = (explorer.created_from.value, explorer.created_to.value)
    explorer.run_button.click()
    assert explorer.last_error is None, explorer.last_error
    caption = explorer.record.caption
    assert caption.measure == "changed" and caption.range == captions.range_text(first, last)
    assert f"created {captions.range_text(*created)} also applies" in caption.filters
    assert "last changed per month" in explorer.last_figure.get_suptitle()


def test_the_analyst_chooses_how_many_agents_the_chart_names(
    explorer: ContactExplorer, form_standin: Any
) -> None:
    explorer.split.value = ("agent",)
    explorer.top_agents.value = 3
    run_months(explorer, 6)
    legend = [t.get_text() for t in explorer.last_figure.axes[0].get_legend().get_texts()]
    named = [t for t in legend if not t.startswith(("(", "others (", "unknown"))]
    assert len(named) == 3 and any(t.startswith("others (") for t in legend)
    agents = form_standin.agents
    archived = set(agents.loc[agents["archived"].astype(bool), "name"])
    for label in named:  # archived agents are marked as in the drop-down
        assert label.removesuffix(" (archived)") not in archived or label.endswith("(archived)")
    explorer.top_agents.value = 5
    assert explorer.is_out_of_date
