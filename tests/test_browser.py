"""The explorer in a real browser: Voila serves the notebook, Playwright drives chromium.

Debian's /usr/bin/chromium is used as is (never `playwright install`). The test starts its
own stand-in, serves `explore_contacts.ipynb` with Voila on 127.0.0.1 (free port, empty
token) with the environment pointing at it, changes two filters and the split, runs, and
checks the summary against the stand-in's ground truth and that a chart image appears;
then that a changed filter says "Out of date", that "(any)" chosen again is shown, and
that Voila's first render shows every drop-down with a value.

Screenshots go to the test's temporary folder; with VITEC_NB_SCREENSHOTS=<folder> (e.g.
docs/images) the documentation's pictures are written there instead, in demo mode.
"""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.notebook import last_full_months, truth_matching
from vitec_nb.report import EXPLORER_NOTEBOOK

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=en-GB",  # date inputs as day/month/year
]
SCREENSHOTS = os.environ.get("VITEC_NB_SCREENSHOTS")  # a folder: write the docs' pictures
STARTUP_TIMEOUT = 60  # seconds for Voila to say it is listening
FORM_TIMEOUT_MS = 60_000  # Voila runs every cell, then the widget manager restores state


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float) -> list[str]:
    """Read the server's log until a line contains `needle` (no polling, no sleeps)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("Voila did not start:\n" + "".join(seen)) from None
        if line is None:
            raise AssertionError("Voila exited:\n" + "".join(seen))
        seen.append(line)
        if needle in line:
            return seen


@pytest.fixture
def browser_standin() -> Iterator[Any]:
    from vitec_nb.standin import StandIn

    with StandIn(seed=11, contacts=3_000, offices=2) as s:
        yield s


def standin_env(standin: Any, tmp_path: Path) -> dict[str, str]:
    """An environment pointing the kernel at `standin` (None: demo mode), tmp cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITEC_")}
    env["VITEC_NB_CACHE"] = str(tmp_path / "cache.sqlite")
    if standin is not None:
        env.update(
            VITEC_BASE_URL=standin.url,
            VITEC_USERNAME=standin.username,
            VITEC_PASSWORD=standin.password,
            VITEC_CUSTOMER_IDS=",".join(standin.customer_ids),
        )
    return env


def serve(args: list[str], env: dict[str, str], cwd: Path, ready: str) -> Iterator[None]:
    """Run a server until the test ends; `ready` is the log line that says it listens."""
    proc = subprocess.Popen(
        args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_for_line(proc, ready, STARTUP_TIMEOUT)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def voila(env: dict[str, str], cwd: Path, notebook: Path = EXPLORER_NOTEBOOK) -> Iterator[str]:
    port = free_port()
    args = [sys.executable, "-m", "voila", str(notebook), f"--port={port}"]
    args += ["--Voila.ip=127.0.0.1", "--token=", "--no-browser", "--show_tracebacks=True"]
    for _ in serve(args, env, cwd, f"127.0.0.1:{port}"):
        yield f"http://127.0.0.1:{port}/"


@pytest.fixture
def voila_url(browser_standin: Any, tmp_path: Path) -> Iterator[str]:
    """Voila serving the explorer notebook against the stand-in, with a tmp cache."""
    yield from voila(standin_env(browser_standin, tmp_path), tmp_path)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def control(page: Any, label: str) -> Any:
    return page.locator(".vnb-explorer .widget-inline-hbox", has_text=label).first


def shown_choices(page: Any) -> list[str]:
    """The text each drop-down of the form shows (blank when it has no selection)."""
    return page.eval_on_selector_all(
        ".vnb-explorer select:not([multiple])",  # a multiple choice may choose none
        "els => els.map(e => e.selectedIndex < 0 ? '' : e.options[e.selectedIndex].text)",
    )


def test_explorer_runs_in_a_browser_and_matches_the_ground_truth(
    voila_url: str, browser_standin: Any, browser: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    office = browser_standin.customer_ids[1]
    start, end = last_full_months(6)
    expected = truth_matching(browser_standin.truth, office, created=(start, end), lead_score=0)

    page = browser.new_page(viewport={"width": 1000, "height": 2000})
    page.goto(voila_url, timeout=FORM_TIMEOUT_MS)
    run = page.locator(".vnb-explorer button", has_text="Run").first
    expect(run).to_be_visible(timeout=FORM_TIMEOUT_MS)
    # Voila's first render: every drop-down shows a value (none blank)
    expect(page.locator(".vnb-explorer select").first).to_be_visible()
    assert all(shown_choices(page)), shown_choices(page)

    offices = browser_standin.offices.set_index("customer_id")["name"]
    # the drop-down shows offices by name, "Vasastan (M30012)"
    control(page, "Office").locator("select").select_option(label=f"{offices[office]} ({office})")
    control(page, "Created from").locator("input[type=date]").fill(f"{start:%Y-%m-%d}")
    control(page, "Created to").locator("input[type=date]").fill(f"{end:%Y-%m-%d}")
    control(page, "Lead score").locator("select").select_option(label="☆☆☆☆☆ 0")
    page.locator(".vnb-split button", has_text="agent").click()
    expect(page.locator(".vnb-status")).to_contain_text("Will make")
    expect(run).to_be_enabled()
    run.click()

    total = page.locator('.vnb-summary .vnb-count[data-kind="total"]')
    expect(total).to_have_text(str(len(expected)), timeout=FORM_TIMEOUT_MS)
    for kind in ("person", "company", "deceased_estate"):
        count = page.locator(f'.vnb-summary .vnb-count[data-kind="{kind}"]')
        expect(count).to_have_text(str(int((expected["kind"] == kind).sum())))
    chart = page.locator(".vnb-explorer .widget-output img")
    expect(chart.first).to_be_visible(timeout=FORM_TIMEOUT_MS)
    assert chart.count() == 1
    expect(page.locator(".vnb-status")).to_contain_text("Done")
    expect(run).to_be_enabled()
    expect(page.locator(".vnb-summary")).to_contain_text("lead score ☆☆☆☆☆ 0")
    assert all(shown_choices(page)), shown_choices(page)
    page.locator(".vnb-explorer").screenshot(path=str(tmp_path / "explorer.png"))

    # Export: the file is written where the kernel runs, and a link carrying the data is
    # offered (Voila serves no /files/ route for a FileLink). The kernel runs in the
    # notebook's folder: export to the test's own folder.
    control(page, "Export to folder").locator("input").fill(str(tmp_path / "exports"))
    page.locator(".vnb-explorer button", has_text="Export CSV").click()
    link = page.locator(".vnb-explorer a[download]")
    expect(link).to_have_attribute("href", re.compile(r"^data:text/csv;base64,"))
    expect(link).to_have_attribute("download", re.compile(rf"contacts-{office}-run1-.*\.csv"))
    assert list((tmp_path / "exports").glob("*.csv"))

    # A filter changed after the run: the outputs say they are out of date
    lead_score = control(page, "Lead score").locator("select")
    lead_score.select_option(label="★★★☆☆ 3")
    expect(page.locator(".vnb-out-of-date")).to_contain_text("Out of date: Run to update")
    # "(any)" chosen again is displayed, not a blank drop-down
    lead_score.select_option(label="(any)")
    agent = control(page, "Agent").locator("select")
    agent.select_option(index=1)
    agent.select_option(label="(any)")
    expect(page.locator(".vnb-status")).to_contain_text("Will make")
    assert lead_score.evaluate("e => e.options[e.selectedIndex].text") == "(any)"
    assert agent.evaluate("e => e.options[e.selectedIndex].text") == "(any)"
    expect(page.locator(".vnb-out-of-date")).to_be_visible()  # lead score 0 was run


@pytest.fixture
def voila_sv_url(browser_standin: Any, tmp_path: Path) -> Iterator[str]:
    """Voila serving the explorer in Swedish (VITEC_NB_LANGUAGE=sv) against the stand-in."""
    env = standin_env(browser_standin, tmp_path) | {"VITEC_NB_LANGUAGE": "sv"}
    yield from voila(env, tmp_path)


def test_the_form_in_swedish_in_a_browser(
    voila_sv_url: str, browser_standin: Any, browser: Any, tmp_path: Path
) -> None:
    """Labels, the chart's title, an error message, the drill-down and compare in Swedish."""
    from playwright.sync_api import expect

    office = browser_standin.customer_ids[0]
    start, end = last_full_months(6)
    page = browser.new_page(viewport={"width": 1000, "height": 2200})
    page.goto(voila_sv_url, timeout=FORM_TIMEOUT_MS)
    run = page.locator(".vnb-explorer button", has_text="Kör").first
    expect(run).to_be_enabled(timeout=FORM_TIMEOUT_MS)
    for label in ("Kontor", "Handläggare", "Skapad från", "Leadpoäng", "Jämför med"):
        expect(control(page, label)).to_be_visible()
    expect(page.locator(".vnb-status")).to_contain_text("Gör ")

    control(page, "Skapad från").locator("input[type=date]").fill(f"{end:%Y-%m-%d}")
    control(page, "Skapad till").locator("input[type=date]").fill(f"{start:%Y-%m-%d}")
    expect(page.locator(".vnb-status")).to_contain_text("Skapad till: ")
    expect(page.locator(".vnb-status")).to_contain_text("är före skapad från")
    expect(run).to_be_disabled()

    control(page, "Skapad från").locator("input[type=date]").fill(f"{start:%Y-%m-%d}")
    control(page, "Skapad till").locator("input[type=date]").fill(f"{end:%Y-%m-%d}")
    page.locator(".vnb-split button", has_text="handläggare").click()
    control(page, "Jämför med").locator("select").select_option(label="samma period i fjol")
    expect(page.locator(".vnb-status")).to_contain_text("Gör ")
    run.click()
    expect(page.locator(".vnb-status")).to_contain_text("Klart", timeout=FORM_TIMEOUT_MS)
    chart = page.locator("img.vnb-chart")
    expect(chart).to_have_attribute(
        "alt", re.compile(r"^Kontakter skapade per månad och handläggare")
    )
    expected = truth_matching(browser_standin.truth, office, created=(start, end))
    total = page.locator('.vnb-summary .vnb-count[data-kind="total"]')
    expect(total).to_have_attribute("data-value", str(len(expected)))
    expect(page.locator(".vnb-summary .vnb-compare")).to_contain_text("jämfört med samma månader")
    drill_down(page, tmp_path)


def drill_down(page: Any, folder: Path) -> None:
    """The Kontakter tab of a Swedish form after a run: Visa kontakter, the table."""
    from playwright.sync_api import expect

    page.locator(".vnb-explorer").screenshot(path=str(folder / "explorer-sv.png"))
    page.locator("img.vnb-chart").screenshot(path=str(folder / "compare-sv.png"))
    tabs = page.locator(".vnb-explorer .lm-TabBar-tab, .vnb-explorer .p-TabBar-tab")
    tabs.filter(has_text="Kontakter").first.click()
    expect(page.locator(".vnb-drill")).to_contain_text("Visa kontakter gör")
    page.locator(".vnb-explorer button", has_text="Visa kontakter").click()
    expect(page.locator(".vnb-drill")).to_contain_text("kontakter i", timeout=FORM_TIMEOUT_MS)
    table = page.locator(".vnb-explorer table.vnb-rows").last
    expect(table).to_contain_text("Namn")
    page.locator(".vnb-explorer").screenshot(path=str(folder / "drilldown-sv.png"))


@pytest.mark.skipif(not SCREENSHOTS, reason="set VITEC_NB_SCREENSHOTS=docs/images to write them")
def test_documentation_screenshots(browser: Any, tmp_path: Path) -> None:
    """The docs' pictures, in demo mode (the DEMO DATA badge): Voila, JupyterLab, report."""
    from playwright.sync_api import expect

    folder = Path(SCREENSHOTS or ".").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    env = standin_env(None, tmp_path)
    page = browser.new_page(viewport={"width": 1000, "height": 1700}, locale="en-GB")
    for url in voila(env, tmp_path):
        page.goto(url, timeout=FORM_TIMEOUT_MS)
        run = page.locator(".vnb-explorer button", has_text="Run").first
        expect(run).to_be_enabled(timeout=FORM_TIMEOUT_MS)
        page.locator(".vnb-split button", has_text="agent").click()
        expect(page.locator(".vnb-status")).to_contain_text("Will make")
        run.click()
        expect(page.locator(".vnb-status")).to_contain_text("Done", timeout=FORM_TIMEOUT_MS)
        expect(page.locator(".vnb-explorer .widget-output img").first).to_be_visible()
        page.locator(".vnb-explorer").screenshot(path=str(folder / "explorer.png"))
    page = browser.new_page(viewport={"width": 1000, "height": 1700}, locale="sv-SE")
    for url in voila(env | {"VITEC_NB_LANGUAGE": "sv"}, tmp_path):  # the form in Swedish
        page.goto(url, timeout=FORM_TIMEOUT_MS)
        run = page.locator(".vnb-explorer button", has_text="Kör").first
        expect(run).to_be_enabled(timeout=FORM_TIMEOUT_MS)
        page.locator(".vnb-split button", has_text="handläggare").click()
        compare = control(page, "Jämför med").locator("select")
        compare.select_option(label="samma period i fjol")
        expect(page.locator(".vnb-status")).to_contain_text("Gör ")
        run.click()
        expect(page.locator(".vnb-status")).to_contain_text("Klart", timeout=FORM_TIMEOUT_MS)
        drill_down(page, folder)
    lab_screenshot(browser, env, tmp_path, folder / "explorer-jupyterlab.png")
    report_screenshot(browser, env, tmp_path, folder / "report.png")
    chart_pictures(tmp_path, folder)


def chart_pictures(tmp_path: Path, folder: Path) -> None:
    """The README's charts: the demo's breakdown by agent and by lead score, 2025."""
    import vitec_nb
    from vitec_nb.form_output import png_bytes

    client = vitec_nb.connect(demo=True, cache=tmp_path / "charts.sqlite")
    try:
        query = vitec_nb.ContactQuery(client.customer_ids[0])
        result = client.breakdown(
            query, ("agent", "lead_score"), start="2025-01-01", end="2025-12-31", progress=False
        )
        for kind in ("agent", "lead_score"):
            fig = result.plot(kind, query=query)
            (folder / f"by_{kind}.png").write_bytes(png_bytes(fig))
    finally:
        client.close()


def lab_screenshot(browser: Any, env: dict[str, str], tmp_path: Path, out: Path) -> None:
    """The explorer notebook in JupyterLab after Run All Cells and a Run of the form."""
    from playwright.sync_api import expect

    port = free_port()
    args = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}"]
    args += ["--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password="]
    args += [f"--ServerApp.root_dir={EXPLORER_NOTEBOOK.parent}", "--LabApp.news_url=None"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers: JupyterLab refuses root
        args.append("--allow-root")
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env = env | {
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings"),
    }
    for _ in serve(args, env, tmp_path, f"127.0.0.1:{port}/lab"):
        page = browser.new_page(viewport={"width": 1280, "height": 1450}, locale="en-GB")
        page.goto(f"http://127.0.0.1:{port}/lab/tree/{EXPLORER_NOTEBOOK.name}?reset")
        expect(page.locator(".jp-Notebook")).to_be_visible(timeout=FORM_TIMEOUT_MS)
        idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
        expect(idle).to_have_count(1, timeout=FORM_TIMEOUT_MS)  # the kernel is ready
        page.locator("[data-command='notebook:restart-run-all']").first.click()
        page.locator(".jp-Dialog-button.jp-mod-accept").click()  # "Restart" and run all
        run = page.locator(".vnb-explorer button", has_text="Run").first
        expect(run).to_be_enabled(timeout=FORM_TIMEOUT_MS)
        page.locator(".vnb-split button", has_text="lead score").click()
        expect(page.locator(".vnb-status")).to_contain_text("Will make")
        run.click()
        expect(page.locator(".vnb-status")).to_contain_text("Done", timeout=FORM_TIMEOUT_MS)
        expect(page.locator(".vnb-explorer .widget-output img").first).to_be_visible()
        page.locator(".vnb-explorer").evaluate("e => e.scrollIntoView({block: 'start'})")
        page.screenshot(path=str(out))


def report_screenshot(browser: Any, env: dict[str, str], tmp_path: Path, out: Path) -> None:
    """The rendered report's first screen."""
    html = tmp_path / "report.html"
    subprocess.run(
        [str(Path(sys.executable).parent / "vitec-nb"), "report", "--out", str(html)],
        env=env,
        cwd=tmp_path,
        check=True,
        timeout=600,
    )
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    page.goto(html.as_uri())
    page.screenshot(path=str(out))


def test_report_page_takes_its_parameters_from_the_url(
    browser_standin: Any, browser: Any, tmp_path: Path
) -> None:
    """The report as a Voila page: the URL's query string sets dimensions and filters."""
    from playwright.sync_api import expect

    report = EXPLORER_NOTEBOOK.parent / "activity_report.ipynb"
    page = browser.new_page(viewport={"width": 1000, "height": 1400}, locale="en-GB")
    for url in voila(standin_env(browser_standin, tmp_path), tmp_path, report):
        page.goto(url + "?dimensions=lead_score&lead_score=4&period=Q", timeout=FORM_TIMEOUT_MS)
        body = page.locator("body")
        expect(body).to_contain_text("Filters: lead score ★★★★☆ 4", timeout=FORM_TIMEOUT_MS)
        expect(body).to_contain_text("By lead score")
        assert "By agent" not in body.inner_text()
