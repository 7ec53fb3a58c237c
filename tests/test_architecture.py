"""The import contracts of pyproject.toml hold, and break when the shape is broken.

`lint-imports` (import-linter) checks the layers of docs/architecture.md, the planner's own
layers, that planning does no I/O, that nothing below the form imports ipywidgets, that the
stand-in imports no client-side module, and that no sibling modules import each other in a
cycle. Each test below runs it on a temporary copy of the package with one bad import added,
and reads which contract it names.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
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


def test_the_client_imports_nothing_above_it_unlisted() -> None:
    """The façade's debt is paid: no contract ignores an import of the client's modules."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    ignored = [
        line
        for contract in config["tool"]["importlinter"]["contracts"]
        for line in contract.get("ignore_imports", [])
        if line.split("->")[0].strip() in {"vitec_nb.client", "vitec_nb._base_client"}
    ]
    assert ignored == []


@pytest.mark.parametrize(
    ("module", "line", "complaint"),
    [
        # the client that only sends reaching up into the planner or the doctor
        ("_base_client", "from vitec_nb.plan import exact", "vitec_nb.plan"),
        ("_base_client", "from vitec_nb import doctor", "vitec_nb.doctor"),
        # the doctor reaching up into the façade that calls it
        ("doctor", "from vitec_nb import client", "vitec_nb.client"),
    ],
)
def test_the_sending_client_and_the_doctor_reaching_up_break_the_layers(
    copy: Path, module: str, line: str, complaint: str
) -> None:
    add_line(copy / "vitec_nb" / f"{module}.py", f"{line}  # noqa")
    result = lint_imports(copy, "layers")
    assert result.returncode == 1
    assert f"vitec_nb.{module} is not allowed to import {complaint}" in result.stdout


# --- the size guide: classes ~300 lines, functions ~60 (docs/architecture.md) ---------------

CLASS_LINES = 300
FUNCTION_LINES = 60
# name (path:qualified name) -> why it may stay over the guide for now (Known debt)
OVER_THE_GUIDE = {
    # nobody's this round (named in docs/architecture.md, Known debt)
    "vitec_nb/settings.py:Settings.resolve": "its signature, connect()'s options and two test "
    "hooks, is 20 lines; the order of precedence (arguments, environment, keyring) in one "
    "place",
    "vitec_nb/standin/times.py:creation_times": "the stand-in's one seeded stream of creation "
    "times (growth, seasons, office hours, planted boundary cases): a split must keep the "
    "draws' order, or every seeded data set and the tests' ground truth changes",
    "vitec_nb/activity.py:activity_counts": "one line over: its Args docstring is 30 of its "
    "61 lines",
}


def measured_sizes(package: Path) -> dict[str, tuple[str, int]]:
    """`path:qualified name` -> ("class" | "function", lines) for every class and function
    (methods and nested ones too) of `package`, decorators included."""
    sizes: dict[str, tuple[str, int]] = {}

    def visit(node: ast.AST, where: str, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                kind = "class" if isinstance(child, ast.ClassDef) else "function"
                sizes[f"{where}:{name}"] = (kind, (child.end_lineno or first) - first + 1)
                visit(child, where, f"{name}.")
            else:
                visit(child, where, prefix)

    for path in sorted(package.rglob("*.py")):
        where = path.relative_to(package.parent).as_posix()
        visit(ast.parse(path.read_text(encoding="utf-8")), where, "")
    return sizes


def over_the_guide(package: Path) -> dict[str, int]:
    limit = {"class": CLASS_LINES, "function": FUNCTION_LINES}
    return {
        name: lines
        for name, (kind, lines) in measured_sizes(package).items()
        if lines > limit[kind]
    }


def test_no_class_over_300_lines_and_no_function_over_60_but_the_listed() -> None:
    over = over_the_guide(ROOT / "vitec_nb")
    assert sorted(set(over) - set(OVER_THE_GUIDE)) == []
    assert sorted(set(OVER_THE_GUIDE) - set(over)) == []  # back under the guide: drop it


def test_the_size_measure_counts_a_class_and_a_nested_function(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    body = "\n".join(f"        x{i} = {i}" for i in range(60))
    (package / "m.py").write_text(
        f"class Big:\n    @staticmethod\n    def long():\n{body}\n" + "    y = 0\n" * 238,
        encoding="utf-8",
    )
    sizes = measured_sizes(package)
    assert sizes["pkg/m.py:Big.long"] == ("function", 62)  # decorator, def and 60 lines
    assert sizes["pkg/m.py:Big"] == ("class", 301)
    assert over_the_guide(package) == {"pkg/m.py:Big": 301, "pkg/m.py:Big.long": 62}
