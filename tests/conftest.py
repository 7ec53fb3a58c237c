"""Shared pytest configuration: each area keeps its fixtures in tests/plugins/<area>.py."""

from __future__ import annotations

import os

import pytest

pytest_plugins = [
    "tests.plugins.standin",
    "tests.plugins.client",
    "tests.plugins.breakdown",
    "tests.plugins.notebook",
    "tests.plugins.reliability",
    "tests.plugins.parse",
]

# Under pytest-xdist (.ci/test runs `-n auto --dist loadgroup`): the long tests go first,
# so no worker is left with one of them at the end while the others sit idle, and the
# browser tests share one worker (one Voila and one chromium at a time, never two).
LONG_FIRST = ("browser", "notebook", "slow")
BROWSER_GROUP = "browser"


def pytest_itemcollected(item: pytest.Item) -> None:
    """Before xdist reads the groups (its own modifyitems hook)."""
    if item.get_closest_marker("browser"):
        item.add_marker(pytest.mark.xdist_group(BROWSER_GROUP))


@pytest.hookimpl(trylast=True)  # after pytest's own reordering by fixture scope
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # a plain run keeps pytest's order
    long = [i for i in items if any(i.get_closest_marker(m) for m in LONG_FIRST)]
    rest = [i for i in items if not any(i.get_closest_marker(m) for m in LONG_FIRST)]
    items[:] = long + rest
