"""Shared pytest configuration: each area keeps its fixtures in tests/plugins/<area>.py."""

pytest_plugins = [
    "tests.plugins.standin",
    "tests.plugins.client",
    "tests.plugins.breakdown",
    "tests.plugins.notebook",
    "tests.plugins.reliability",
    "tests.plugins.parse",
]
