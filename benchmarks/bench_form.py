"""Benchmark 6: from a changed filter on the form to a drawn chart, warm cache, 100k contacts."""

from __future__ import annotations

from benchmarks.harness import Config, Row


def form(cfg: Config, log: list[str]) -> list[Row]:
    """Time filter change → figure drawn on a ContactExplorer whose answers are all cached."""
    raise NotImplementedError("vitec_nb.widgets.ContactExplorer has not landed yet")
