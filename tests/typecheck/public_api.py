"""Type checks of the public API, for mypy only (never run): what a user's editor infers.

`mypy` (configured in pyproject.toml, run by .ci/test) checks this file in full; a public
method that returns `Any` makes an `assert_type` below fail.
"""

from __future__ import annotations

from typing import assert_type

import pandas as pd

import vitec_nb as vnb
from vitec_nb.doctor import DoctorReport
from vitec_nb.lookups import OfficeLookups
from vitec_nb.profile import ServerProfile


def uses_the_client(client: vnb.VitecClient, query: vnb.ContactQuery) -> None:
    assert_type(client.contacts(query), pd.DataFrame)
    assert_type(client.is_demo, bool)
    assert_type(client.customer_ids, tuple[str, ...])
    plan = client.plan(query, by=("agent",))
    assert_type(plan, vnb.BreakdownPlan)
    result = client.breakdown(query, by=("agent",), start="2025-01-01", end="2026-01-01")
    assert_type(result, vnb.BreakdownResult)
    assert_type(client.breakdown(plan), vnb.BreakdownResult)
    assert_type(result.calls, int)
    assert_type(result.facts, pd.DataFrame)
    assert_type(result.counts, pd.DataFrame)
    assert_type(client.lookups("M30011"), OfficeLookups)
    assert_type(client.profile, ServerProfile)
    assert_type(client.doctor(), DoctorReport)


def uses_connect() -> None:
    assert_type(vnb.connect(), vnb.VitecClient)
    assert_type(vnb.ContactQuery("M30011"), vnb.ContactQuery)


def catches_errors() -> None:
    try:
        vnb.connect()
    except vnb.VitecError as exc:
        assert_type(exc, vnb.VitecError)
