"""Pytest fixtures for the form, notebook and browser tests (loaded by tests/conftest.py).

One small stand-in serves every form test of the session (the tests only read from it);
each test gets its own client with a fresh SQLite cache in tmp_path, so cache state never
leaks between tests. Notebook tests reach the stand-in through VITEC_* environment
variables, which the kernel inherits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

FORM_SEED = 7
FORM_CONTACTS = 4_000
FORM_OFFICES = 2


@pytest.fixture(scope="session")
def form_standin() -> Iterator[Any]:
    """A stand-in shared by the form tests (never given faults; tests may add accounts)."""
    from vitec_nb.standin import StandIn

    with StandIn(seed=FORM_SEED, contacts=FORM_CONTACTS, offices=FORM_OFFICES) as s:
        yield s


@pytest.fixture
def form_client(form_standin: Any, tmp_path: Path) -> Any:
    """A client of the shared stand-in with a fresh cache of its own."""
    from vitec_nb import connect

    return connect(
        base_url=form_standin.url,
        username=form_standin.username,
        password=form_standin.password,
        customer_ids=form_standin.customer_ids,
        cache=tmp_path / "cache.sqlite",
    )


@pytest.fixture
def explorer(form_client: Any, form_standin: Any) -> Any:
    """A fresh ContactExplorer; the stand-in's request log is cleared after it is built."""
    from vitec_nb.widgets import ContactExplorer

    form = ContactExplorer(form_client)
    form_standin.clear_requests()
    return form


@pytest.fixture(autouse=True)
def english_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forms, charts and reports in English unless a test asks for a language: the
    default follows VITEC_NB_LANGUAGE and the locale, which differ between machines."""
    monkeypatch.setenv("VITEC_NB_LANGUAGE", "en")


@pytest.fixture
def standin_env(form_standin: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment pointing kernels at the shared stand-in, with a tmp cache; returns it."""
    for name in list(_vitec_env()):
        monkeypatch.delenv(name, raising=False)
    cache = tmp_path / "cache.sqlite"
    monkeypatch.setenv("VITEC_BASE_URL", form_standin.url)
    monkeypatch.setenv("VITEC_USERNAME", form_standin.username)
    monkeypatch.setenv("VITEC_PASSWORD", form_standin.password)
    monkeypatch.setenv("VITEC_CUSTOMER_IDS", ",".join(form_standin.customer_ids))
    monkeypatch.setenv("VITEC_NB_CACHE", str(cache))
    return cache


@pytest.fixture
def demo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment with no credentials at all (demo mode) and a tmp cache; returns it."""
    for name in list(_vitec_env()):
        monkeypatch.delenv(name, raising=False)
    cache = tmp_path / "cache.sqlite"
    monkeypatch.setenv("VITEC_NB_CACHE", str(cache))
    return cache


def _vitec_env() -> list[str]:
    import os

    return [k for k in os.environ if k.startswith("VITEC_")]


def last_full_months(months: int = 6) -> tuple[dt.date, dt.date]:
    """First and last day of the `months` whole months before the stand-in data's end."""
    from vitec_nb.standin.data import DEFAULT_END

    end = pd.Timestamp(DEFAULT_END).to_period("M").start_time  # first day of its last month
    start = (end.to_period("M") - months).start_time
    return start.date(), (end - pd.Timedelta(days=1)).date()


def truth_matching(
    truth: pd.DataFrame,
    office: str,
    *,
    created: tuple[dt.date, dt.date] | None = None,
    agent_id: str | None = None,
    lead_score: int | None = None,
) -> pd.DataFrame:
    """The stand-in's ground truth restricted the way the form's filters describe.

    Dates are whole days in Swedish local time, both ends inclusive (the form's meaning).
    """
    rows = truth[truth["customer_id"] == office]
    if created is not None:
        lo = pd.Timestamp(created[0], tz="Europe/Stockholm")
        hi = pd.Timestamp(created[1], tz="Europe/Stockholm") + pd.Timedelta(days=1)
        rows = rows[(rows["created_at"] >= lo) & (rows["created_at"] < hi)]
    if agent_id is not None:
        rows = rows[rows["agent_id"] == agent_id]
    if lead_score is not None:
        rows = rows[rows["lead_score"] == lead_score]
    return rows
