"""The explorer in a real browser: Voila serves the notebook, Playwright drives chromium.

Debian's /usr/bin/chromium is used as is (never `playwright install`). The test starts its
own stand-in, serves `explore_contacts.ipynb` with Voila on 127.0.0.1 (free port, empty
token) with the environment pointing at it, changes two filters and the split, runs, and
checks the summary against the stand-in's ground truth and that a chart image appears.
A screenshot is saved to artifacts/explorer.png.
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
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
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


@pytest.fixture
def voila_url(browser_standin: Any, tmp_path: Path) -> Iterator[str]:
    """Voila serving the explorer notebook against the stand-in, with a tmp cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITEC_")}
    env.update(
        VITEC_BASE_URL=browser_standin.url,
        VITEC_USERNAME=browser_standin.username,
        VITEC_PASSWORD=browser_standin.password,
        VITEC_CUSTOMER_IDS=",".join(browser_standin.customer_ids),
        VITEC_NB_CACHE=str(tmp_path / "cache.sqlite"),
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voila",
            str(EXPLORER_NOTEBOOK),
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
            "--token=",
            "--no-browser",
            "--show_tracebacks=True",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_line(proc, f"127.0.0.1:{port}", STARTUP_TIMEOUT)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_explorer_runs_in_a_browser_and_matches_the_ground_truth(
    voila_url: str, browser_standin: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    office = browser_standin.customer_ids[1]
    start, end = last_full_months(6)
    expected = truth_matching(browser_standin.truth, office, created=(start, end), lead_score=0)
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 2000})
            page.goto(voila_url, timeout=FORM_TIMEOUT_MS)
            run = page.locator(".vnb-explorer button", has_text="Run").first
            expect(run).to_be_visible(timeout=FORM_TIMEOUT_MS)

            def control(label: str) -> Any:
                return page.locator(".vnb-explorer .widget-inline-hbox", has_text=label).first

            control("Office").locator("select").select_option(office)
            control("Created from").locator("input[type=date]").fill(f"{start:%Y-%m-%d}")
            control("Created to").locator("input[type=date]").fill(f"{end:%Y-%m-%d}")
            control("Lead score").locator("select").select_option(label="☆☆☆☆☆ 0")
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
            expect(control("Agent").locator("select")).to_have_value(re.compile(".+"))
            page.locator(".vnb-explorer").screenshot(path=str(ARTIFACTS / "explorer.png"))

            # Export: the file is written where the kernel runs, and a link carrying the
            # data is offered (Voila serves no /files/ route for a FileLink).
            # (The kernel runs in the notebook's folder: export to the test's own folder.)
            control("Export to folder").locator("input").fill(str(tmp_path / "exports"))
            page.locator(".vnb-explorer button", has_text="Export CSV").click()
            link = page.locator(".vnb-explorer a[download]")
            expect(link).to_have_attribute("href", re.compile(r"^data:text/csv;base64,"))
            expect(link).to_have_attribute("download", re.compile(rf"contacts-{office}-.*\.csv"))
            assert list((tmp_path / "exports").glob("*.csv"))
        finally:
            browser.close()
