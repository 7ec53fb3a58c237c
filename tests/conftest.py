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

# Under pytest-xdist (.ci/test: `-n auto --maxschedchunk 1`, each worker takes the next test
# when it is free) the long tests go first, so no worker is left with one of them at the end
# while the others sit idle. (xdist's `--dist loadgroup` is not used: with pytest 9 it no
# longer keeps a group on one worker; the tests need no grouping, each starts its own
# servers on free ports and writes only to its own temporary folder.)
LONG_FIRST = ("browser", "slow", "notebook")


@pytest.hookimpl(trylast=True)  # after pytest's own reordering by fixture scope
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # a plain run keeps pytest's order

    def rank(item: pytest.Item) -> int:
        marked = [i for i, m in enumerate(LONG_FIRST) if item.get_closest_marker(m)]
        return marked[0] if marked else len(LONG_FIRST)

    items.sort(key=rank)  # stable: pytest's order within each rank
