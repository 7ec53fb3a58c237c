"""Pytest fixtures for the stand-in (loaded by tests/conftest.py).

- `standin`: one stand-in for the whole session (seed 0, 10 000 contacts, 3 offices).
  Tests that use it must leave it as they found it: no faults left on, no extra accounts
  relied upon by others. Use `make_standin` for anything that changes server state.
- `make_standin(**kw)`: a factory of started stand-ins (same arguments as `StandIn`),
  each stopped at the end of the test.
- `standin_session`: a `requests.Session` with the demo account of `standin`.
- `dialect_standin`: parametrized over every preset in `DIALECTS`: one small stand-in
  (seed 0, 3 000 contacts, 2 offices) per dialect for the session; `.dialect` says which.
  Leave its dialect and faults as found.

Every stand-in of the suite (subprocesses too: kernels, the CLI) runs on the fixed clock
`TEST_NOW` through $STANDIN_NOW, so its data ends on 2026-10-31 whatever the day.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from vitec_nb.standin import DIALECTS, StandIn
from vitec_nb.standin.data import CLOCK_VARIABLE, TEST_NOW

os.environ[CLOCK_VARIABLE] = TEST_NOW  # set before any stand-in starts; inherited


@pytest.fixture(scope="session")
def standin() -> Iterator[StandIn]:
    """The shared stand-in: seed 0, 10 000 contacts, offices M30011-M30013, no faults."""
    with StandIn(seed=0, contacts=10_000, offices=3) as s:
        yield s


@pytest.fixture
def make_standin() -> Iterator[Callable[..., StandIn]]:
    """Factory: `make_standin(seed=1, contacts=500, error_rate=0.5)` -> a started StandIn."""
    started: list[StandIn] = []

    def make(**kw: Any) -> StandIn:
        s = StandIn(**kw).start()
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def standin_session(standin: StandIn) -> Iterator[requests.Session]:
    """A plain requests session authenticated with the shared stand-in's demo account."""
    with requests.Session() as session:
        session.auth = (standin.username, standin.password)
        yield session


@pytest.fixture(scope="session", params=list(DIALECTS))
def dialect_standin(request: pytest.FixtureRequest) -> Iterator[StandIn]:
    """A small stand-in speaking one preset dialect (the test runs once per preset)."""
    with StandIn(seed=0, contacts=3_000, offices=2, dialect=request.param) as s:
        yield s
