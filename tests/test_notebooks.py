"""The shipped notebooks: stored clean, and run top to bottom by a real kernel (nbclient).

The kernel inherits this process's environment: `standin_env` points it at the test
stand-in, `demo_env` removes every credential so the notebook falls back to demo data.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tests.plugins.notebook import last_full_months
from vitec_nb.report import EXPLORER_NOTEBOOK, NOTEBOOKS, REPORT_NOTEBOOK, render_report

SHIPPED = sorted(NOTEBOOKS.glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def execute(path: Path, timeout: int = 120) -> Any:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    return nb


def outputs(nb: Any) -> list[dict[str, Any]]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def errors_in(nb: Any) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for o in outputs(nb) if o.output_type == "error"]


def test_both_notebooks_are_shipped() -> None:
    assert {p.name for p in SHIPPED} >= {EXPLORER_NOTEBOOK.name, REPORT_NOTEBOOK.name}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs_or_widget_state(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert "widgets" not in nb.metadata
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_report_notebook_has_a_parameters_cell() -> None:
    nb = nbformat.read(REPORT_NOTEBOOK, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    source = tagged[0].source
    for name in ("office", "period", "start", "end", "dimensions"):
        assert f"{name} =" in source


@pytest.mark.notebook
def test_explorer_notebook_runs_against_the_standin(standin_env: Path) -> None:
    nb = execute(EXPLORER_NOTEBOOK)
    assert errors_in(nb) == []
    assert any(WIDGET_VIEW in o.get("data", {}) for o in outputs(nb))


@pytest.mark.notebook
def test_explorer_notebook_without_credentials_says_demo_data(demo_env: Path) -> None:
    nb = execute(EXPLORER_NOTEBOOK)
    assert errors_in(nb) == []
    text = json.dumps([o for o in outputs(nb)])
    assert "DEMO DATA" in text


@pytest.mark.notebook
def test_report_notebook_runs_and_draws_charts(standin_env: Path) -> None:
    nb = execute(REPORT_NOTEBOOK)
    assert errors_in(nb) == []
    images = [o for o in outputs(nb) if "image/png" in o.get("data", {})]
    assert len(images) >= 3  # created vs changed, by agent, by lead score
    # nothing that needs a live kernel (no progress-bar widget) in a report
    assert not any(WIDGET_VIEW in o.get("data", {}) for o in outputs(nb))


@pytest.mark.notebook
def test_rendered_report_has_charts_and_no_password_or_code(
    form_standin: Any, standin_env: Path, tmp_path: Path
) -> None:
    start, end = last_full_months(4)
    offices = list(form_standin.customer_ids)  # as `vitec-nb report --office A,B` passes them
    out = render_report(
        tmp_path / "report.html", office=offices, period="M", start=str(start), end=str(end)
    )
    text = out.read_text(encoding="utf-8")
    assert text.count("<img") >= 3
    assert f"Offices {', '.join(offices)}" in text
    secret = form_standin.password
    basic = base64.b64encode(f"{form_standin.username}:{secret}".encode()).decode()
    assert secret not in text and basic not in text
    assert "import vitec_nb" not in text  # input cells are left out
    # a shareable document: a real title, the range as written, times, no author notes
    from vitec_nb.captions import range_text

    title = f"Contact activity · Offices {', '.join(offices)} · month by month · "
    title += range_text(start, end)
    assert f"<title>{title}</title>" in text
    assert "Generated " in text and "data fetched " in text
    assert "for the author" not in text and "Change the values" not in text


@pytest.mark.notebook
def test_report_filters_are_parameters_and_named_in_the_report(
    form_standin: Any, standin_env: Path, tmp_path: Path
) -> None:
    start, end = last_full_months(3)
    out = render_report(
        tmp_path / "report.html",
        start=str(start),
        end=str(end),
        dimensions=["lead_score"],
        filters={"lead_score": 4},
    )
    text = out.read_text(encoding="utf-8")
    assert "Filters: lead score ★★★★☆ 4" in text


@pytest.mark.notebook
def test_report_in_swedish_from_the_cli(
    form_standin: Any, standin_env: Path, tmp_path: Path
) -> None:
    from vitec_nb.cli import main

    start, end = last_full_months(3)
    out = tmp_path / "rapport.html"
    args = ["report", "--out", str(out), "--start", str(start), "--end", str(end)]
    assert main([*args, "--language", "sv"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "Kontaktaktivitet · Kontor " in text and "Per handläggare" in text
    assert "Skapade och ändrade kontakter" in text and "By agent" not in text


@pytest.mark.notebook
def test_report_filters_and_dimensions_from_the_cli(
    form_standin: Any, standin_env: Path, tmp_path: Path
) -> None:
    from vitec_nb.cli import main

    start, end = last_full_months(3)
    out = tmp_path / "report.html"
    args = ["report", "--out", str(out), "--start", str(start), "--end", str(end)]
    assert main([*args, "--by", "lead_score", "--lead-score", "4"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "Filters: lead score ★★★★☆ 4" in text
    assert "By lead score" in text and "By agent" not in text


def test_a_bad_report_filter_from_the_cli_is_refused_before_a_kernel_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vitec_nb.cli import main

    out = tmp_path / "r.html"
    assert main(["report", "--out", str(out), "--lead-score", "9"]) == 1
    assert "lead_score" in capsys.readouterr().err
    assert not out.exists()


def test_url_parameters_override_the_report_parameters_and_the_rest_are_filters() -> None:
    from vitec_nb.report_notebook import url_parameters

    given = {"office": None, "period": "M", "dimensions": ["agent"], "filters": {"agent_id": "X"}}
    got = url_parameters(
        "office=m30011,M30012&period=Q&dimensions=lead_score&lead_score=4", **given
    )
    assert got["office"] == ["m30011", "M30012"] and got["period"] == "Q"
    assert got["dimensions"] == ["lead_score"]
    assert got["filters"] == {"agent_id": "X", "lead_score": "4"}
    assert url_parameters("", **given) == given


def test_bad_report_language_is_refused_before_a_kernel_starts(tmp_path: Path) -> None:
    from vitec_nb.errors import InvalidQueryError

    with pytest.raises(InvalidQueryError, match="allowed: en, sv"):
        render_report(tmp_path / "r.html", language="de")
    assert not (tmp_path / "r.html").exists()


def test_parameters_are_injected_after_the_parameters_cell() -> None:
    from vitec_nb.report import inject_parameters

    nb = inject_parameters(nbformat.read(REPORT_NOTEBOOK, as_version=4), {"period": "Q"})
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    position = tags.index(["parameters"])
    assert tags[position + 1] == ["injected-parameters"]
    assert "period = 'Q'" in nb.cells[position + 1].source


def test_unknown_report_parameter_is_refused_naming_it(tmp_path: Path) -> None:
    from vitec_nb.errors import InvalidQueryError

    with pytest.raises(InvalidQueryError, match="offices") as info:
        render_report(tmp_path / "r.html", offices="M30011")
    assert info.value.field == "offices"
    assert "office, period, start, end, dimensions" in str(info.value)
    assert not (tmp_path / "r.html").exists()


def test_bad_report_period_is_refused_before_a_kernel_starts(tmp_path: Path) -> None:
    from vitec_nb.errors import InvalidQueryError

    with pytest.raises(InvalidQueryError, match="period") as info:
        render_report(tmp_path / "r.html", period="fortnight")
    assert "D, W, M, Q, Y" in str(info.value)


@pytest.mark.notebook
def test_report_for_an_unknown_office_fails_with_a_sentence(
    standin_env: Path, tmp_path: Path
) -> None:
    from vitec_nb.errors import VitecError

    with pytest.raises(VitecError) as info:
        render_report(tmp_path / "r.html", office="M39999")
    message = str(info.value)
    assert "office" in message and "M39999" in message
    assert "Traceback" not in message
    assert not (tmp_path / "r.html").exists()


@pytest.mark.notebook
def test_demo_prints_one_line_with_the_notebooks_url(demo_env: Path, tmp_path: Path) -> None:
    """`vitec-nb demo` prints the explorer notebook's URL (not the Launcher's) and serves it."""
    import os
    import subprocess
    import sys

    import requests

    from tests.test_browser import free_port

    port = free_port()
    command = [str(Path(sys.executable).parent / "vitec-nb"), "demo", "--no-browser"]
    proc = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=tmp_path,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the first line, printed once JupyterLab serves
        prefix = f"Contact explorer: http://127.0.0.1:{port}/lab/tree/explore_contacts.ipynb?token="
        assert line.startswith(prefix), line
        url = line.split()[2]
        token = url.rsplit("=", 1)[1]
        assert requests.get(url, timeout=30).status_code == 200
        api = f"http://127.0.0.1:{port}/api/contents/explore_contacts.ipynb"
        answer = requests.get(api, params={"content": 0, "token": token}, timeout=30)
        assert answer.json()["type"] == "notebook"
    finally:
        proc.terminate()  # SIGTERM stops JupyterLab too
        assert proc.wait(timeout=60) is not None
    assert proc.stdout.read().strip() == ""  # one line: the server's log went to its file
