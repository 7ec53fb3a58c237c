"""Packaging stays consistent: conda and pip agree, the public API is complete, the CLI exists."""

from __future__ import annotations

import importlib
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import vitec_nb

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*(?:#.*)?$")


def normalise(requirement: str) -> tuple[str, frozenset[str]]:
    """(PEP 503 name, set of version clauses without spaces) of one requirement line."""
    match = REQUIREMENT.fullmatch(requirement)
    assert match, f"cannot read requirement {requirement!r}"
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    spec = match.group(2).replace(" ", "")
    return name, frozenset(c for c in spec.split(",") if c)


def conda_dependencies(text: str) -> list[str]:
    """The top-level entries of environment.yml's `dependencies:` list.

    A small reader for this file's simple layout (no PyYAML needed): items are `- name spec`
    lines at the list's indentation; the nested `pip:` list is skipped.
    """
    items: list[str] = []
    indent: int | None = None
    inside = False
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped:
            continue
        depth = len(stripped) - len(stripped.lstrip())
        if not inside:
            inside = stripped == "dependencies:"
            continue
        if not stripped.lstrip().startswith("- "):
            if depth == 0:
                break  # the next top-level key
            continue
        if indent is None:
            indent = depth
        if depth == indent:
            items.append(stripped.lstrip()[2:].strip())
    return items


def test_environment_yml_lists_the_same_dependencies_as_pyproject() -> None:
    conda = conda_dependencies((ROOT / "environment.yml").read_text(encoding="utf-8"))
    # conda's own entries: the interpreter, pip, and the nested pip list (the package itself)
    conda_only = {"python", "pip", "pip:"}
    conda_reqs = dict(
        normalise(item) for item in conda if item != "pip:" and normalise(item)[0] not in conda_only
    )
    pip_reqs = dict(normalise(item) for item in PYPROJECT["project"]["dependencies"])
    assert conda_reqs == pip_reqs


def test_environment_yml_installs_the_package_itself_with_pip() -> None:
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    assert re.search(r"^\s+- pip:\s*\n\s+- -e \.\s*$", text, flags=re.MULTILINE)


def test_conda_reader_sees_every_top_level_entry() -> None:
    sample = "name: x\ndependencies:\n  - python>=3.11\n  - requests-cache >=1.3\n  - pip\n"
    sample += "  - pip:\n      - -e .\nchannels:\n  - conda-forge\n"
    assert conda_dependencies(sample) == ["python>=3.11", "requests-cache >=1.3", "pip", "pip:"]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("requests-cache>=1.3.3", "requests_cache >= 1.3.3"),
        ("ipywidgets>=8.1,<9", "IPyWidgets<9,>=8.1"),
    ],
)
def test_requirement_names_and_specifiers_are_compared_normalised(a: str, b: str) -> None:
    assert normalise(a) == normalise(b)


def test_public_names_are_sorted() -> None:
    assert vitec_nb.__all__ == sorted(vitec_nb.__all__)


@pytest.mark.parametrize("name", vitec_nb.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(vitec_nb, name) is not None


def test_console_script_vitec_nb_is_declared_and_points_to_a_function() -> None:
    target = PYPROJECT["project"]["scripts"]["vitec-nb"]
    module, _, attribute = target.partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))


def test_console_script_is_installed_in_this_environment() -> None:
    scripts = metadata.entry_points(group="console_scripts", name="vitec-nb")
    assert [s.value for s in scripts] == [PYPROJECT["project"]["scripts"]["vitec-nb"]]
