"""The import contracts of pyproject.toml hold, and break when the shape is broken.

`lint-imports` (import-linter) checks the layers of docs/architecture.md, the planner's own
layers, that planning does no I/O, that nothing below the form imports ipywidgets, that the
stand-in imports no client-side module, and that no sibling modules import each other in a
cycle. Each test below runs it on a temporary copy of the package with one bad import added,
and reads which contract it names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(
    not LINT_IMPORTS.exists(), reason="import-linter is not installed (pip install -e '.[dev]')"
)


def lint_imports(tree: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the package and pyproject.toml in `tree` (the copy, not the install),
    limited to the `contracts` named (ids in pyproject.toml) if any."""
    env = {**os.environ, "PYTHONPATH": str(tree), "NO_COLOR": "1"}
    only = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(tree / "pyproject.toml"), *only],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of vitec_nb/ and pyproject.toml to break."""
    shutil.copytree(
        ROOT / "vitec_nb", tmp_path / "vitec_nb", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_line(path: Path, line: str) -> None:
    """Append a module-level line (after the module's own imports: every import is allowed
    anywhere by Python, and import-linter reads them all)."""
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_package_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_lower_module_importing_a_higher_one_breaks_the_layers(copy: Path) -> None:
    assert lint_imports(copy, "layers").returncode == 0
    add_line(copy / "vitec_nb" / "query.py", "from vitec_nb import client  # noqa")
    result = lint_imports(copy, "layers")
    assert result.returncode == 1
    assert "Data flows one way" in result.stdout
    assert "vitec_nb.query is not allowed to import vitec_nb.client" in result.stdout
    assert "- vitec_nb.query -> vitec_nb.client (l." in result.stdout


def test_an_import_cycle_in_the_planner_breaks_its_layers_and_the_cycle_check(copy: Path) -> None:
    add_line(copy / "vitec_nb" / "plan" / "values.py", "from vitec_nb.plan import join  # noqa")
    result = lint_imports(copy, "plan-layers", "no-cycles")
    assert result.returncode == 1
    assert "vitec_nb.plan.values is not allowed to import vitec_nb.plan.join" in result.stdout
    assert "No cycles are allowed in vitec_nb.plan" in result.stdout


def test_planning_that_imports_an_http_library_breaks_pure_planning(copy: Path) -> None:
    assert lint_imports(copy, "pure-planning").returncode == 0
    add_line(copy / "vitec_nb" / "plan" / "planning.py", "import requests  # noqa")
    result = lint_imports(copy, "pure-planning")
    assert result.returncode == 1
    assert "vitec_nb.plan.planning is not allowed to import requests" in result.stdout


def test_the_standin_importing_the_client_side_breaks_its_contract(copy: Path) -> None:
    assert lint_imports(copy, "standin-is-the-server").returncode == 0
    add_line(copy / "vitec_nb" / "standin" / "params.py", "from vitec_nb import query  # noqa")
    result = lint_imports(copy, "standin-is-the-server")
    assert result.returncode == 1
    assert "vitec_nb.standin is not allowed to import vitec_nb.query" in result.stdout
    assert "vitec_nb.standin.params -> vitec_nb.query (l." in result.stdout
