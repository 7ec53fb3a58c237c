"""The form when the server fails: sentences in the form, controls usable again, no chart.

Each test starts its own small stand-in, because it switches faults on (the shared form
stand-in never has faults). Retries are off so a failure is final at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.notebook import last_full_months
from vitec_nb.widgets import ContactExplorer


@pytest.fixture
def faulty_standin() -> Iterator[Any]:
    from vitec_nb.standin import StandIn

    with StandIn(seed=5, contacts=600, offices=1) as s:
        yield s


@pytest.fixture
def faulty_form(faulty_standin: Any, tmp_path: Path) -> ContactExplorer:
    from vitec_nb import connect

    client = connect(
        base_url=faulty_standin.url,
        username=faulty_standin.username,
        password=faulty_standin.password,
        customer_ids=faulty_standin.customer_ids,
        cache=tmp_path / "cache.sqlite",
        max_retries=0,
        timeout=5,
    )
    form = ContactExplorer(client)
    form.created_from.value, form.created_to.value = last_full_months(6)
    form.split.value = ("lead_score",)
    return form


def test_server_down_says_vitec_cannot_be_reached(
    faulty_form: ContactExplorer, faulty_standin: Any
) -> None:
    faulty_standin.set_faults(down=True)
    faulty_form.run_button.click()
    assert "Could not reach Vitec Connect" in faulty_form.last_error
    assert "Traceback" not in faulty_form.status.value
    assert faulty_form.last_summary is None and faulty_form.figures_shown == 0
    assert not faulty_form.run_button.disabled and not faulty_form.office.disabled


def test_partly_failed_run_names_what_is_missing_and_draws_nothing(
    faulty_form: ContactExplorer, faulty_standin: Any
) -> None:
    faulty_standin.set_faults(seed=3, error_rate=0.5, error_status=500)
    faulty_form.run_button.click()
    message = faulty_form.last_error
    assert message is not None and "calls of the breakdown failed" in message
    missing = faulty_form.last_exception.missing
    failed = sum(1 for r in faulty_standin.requests if r.status >= 500)
    assert f"{len(missing)} of " in message and len(missing) == failed > 0
    for item in missing[:8]:  # each missing call named by what it was for
        assert str(item.call.label) in message
    assert faulty_form.figures_shown == 0 and faulty_form.record is None


def test_run_after_the_fault_clears_fetches_only_what_was_missing(
    faulty_form: ContactExplorer, faulty_standin: Any
) -> None:
    faulty_standin.set_faults(seed=3, error_rate=0.5, error_status=500)
    faulty_form.run_button.click()
    failed = sum(1 for r in faulty_standin.requests if r.status >= 500)
    assert failed > 0
    faulty_standin.set_faults()
    faulty_standin.clear_requests()
    faulty_form.run_button.click()
    assert faulty_form.last_error is None
    assert faulty_form.last_summary["calls"] == failed
    assert faulty_form.figures_shown == 1
