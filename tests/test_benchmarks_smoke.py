"""The benchmark command runs end to end on small sizes and prints a row for every figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.harness import FIGURES

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_benchmark_run_prints_every_figure_measured() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("figure "))
    table = "\n".join(lines[header:])
    for figure in FIGURES:
        assert figure in table, f"no row for {figure!r}"
    assert "not measured" not in table, done.stdout[-3000:]
