"""The public names: `vitec_nb.__all__` is complete, sorted, lazy, and agrees with itself.

After httpx's test_exported_members.py. `vitec_nb/__init__.py` keeps three lists (the lazy
name -> module map, `__all__`, the imports for type checkers); these tests keep them equal,
and find public classes a user meets (errors, warnings, what the client's methods return)
that are missing from `__all__`.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest

import vitec_nb

INIT = Path(vitec_nb.__file__)
NAMES = [name for name in vitec_nb.__all__ if name != "__version__"]
# exception classes that never reach a user, and why
INTERNAL_ERRORS = {
    # a requests Timeout inside the session; the client raises RequestTimeoutError for it
    "vitec_nb.retries.DeadlineExceeded",
    # a join the codec cannot rebuild exactly; plan/memo.py catches it and keeps nothing
    "vitec_nb.parsed_frames.Unstorable",
}


def type_checking_imports() -> dict[str, str]:
    """name -> module of the `from vitec_nb.X import name` lines under `if TYPE_CHECKING:`."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom), ast.dump(stmt)
                for alias in stmt.names:
                    found[alias.asname or alias.name] = str(stmt.module)
    return found


def package_modules() -> list[str]:
    """Every module of vitec_nb except `__main__` (running it would start a server)."""
    found = pkgutil.walk_packages(vitec_nb.__path__, prefix="vitec_nb.")
    return sorted(m.name for m in found if not m.name.endswith("__main__"))


def test_all_is_sorted_and_has_no_repeats() -> None:
    assert vitec_nb.__all__ == sorted(set(vitec_nb.__all__))


def test_all_lazy_map_and_type_checking_imports_name_the_same_things() -> None:
    lazy = dict(vitec_nb._EXPORTS)
    assert set(vitec_nb.__all__) == {*lazy, "__version__"}
    typed = type_checking_imports()
    assert typed == {name: f"vitec_nb.{module}" for name, module in lazy.items()}


@pytest.mark.parametrize("name", NAMES)
def test_each_name_comes_from_the_module_the_map_names(name: str) -> None:
    member = getattr(vitec_nb, name)
    home = f"vitec_nb.{vitec_nb._EXPORTS[name]}"
    assert member.__module__ == home or member.__module__.startswith(home + ".")
    assert getattr(importlib.import_module(home), name) is member


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="'NoSuchThing'"):
        vitec_nb.NoSuchThing  # noqa: B018


def test_import_vitec_nb_loads_neither_matplotlib_nor_ipywidgets_nor_pandas() -> None:
    heavy = "{'matplotlib', 'ipywidgets', 'pandas'}"
    code = f"import sys, vitec_nb; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_error_and_warning_class_is_exported() -> None:
    """An exception or warning a user can be handed (not the stand-in's: it is the server)."""
    missing = []
    for module_name in package_modules():
        if module_name.startswith("vitec_nb.standin"):
            continue
        module = importlib.import_module(module_name)
        for name, member in vars(module).items():
            if (
                inspect.isclass(member)
                and issubclass(member, (Exception, Warning))
                and member.__module__ == module_name
                and not name.startswith("_")
                and name not in vitec_nb.__all__
            ):
                missing.append(f"{module_name}.{name}")
    assert sorted(set(missing) - INTERNAL_ERRORS) == []
    assert set(missing) >= INTERNAL_ERRORS  # an entry that is gone or exported: drop it


def _vitec_classes(annotation: object) -> set[type]:
    """The vitec_nb classes an annotation names, inside unions and generics too."""
    if inspect.isclass(annotation) and annotation.__module__.startswith("vitec_nb"):
        return {annotation}
    return {c for arg in typing.get_args(annotation) for c in _vitec_classes(arg)}


def _public_members(cls: type) -> dict[str, Any]:
    """`cls`'s public methods and property getters, its bases' included (the nearest
    definition of each name, as attribute lookup finds it)."""
    found: dict[str, Any] = {}
    for klass in reversed(inspect.getmro(cls)[:-1]):  # object left out
        for name, member in vars(klass).items():
            if not name.startswith("_"):
                found[name] = member.fget if isinstance(member, property) else member
    return found


def test_what_connect_and_the_clients_public_methods_return_is_exported() -> None:
    names = {name: getattr(vitec_nb, name) for name in NAMES}  # the TYPE_CHECKING names
    names["CachedSession"] = importlib.import_module("requests_cache").CachedSession
    returned: set[type] = set()
    members = {"connect": vitec_nb.connect, **_public_members(vitec_nb.VitecClient)}
    for member in members.values():
        if callable(member):  # annotations read in the module that defines the member
            namespace = {**vars(sys.modules[member.__module__]), **names}
            hints = typing.get_type_hints(member, globalns=namespace)
            returned |= _vitec_classes(hints.get("return"))
    # the façade's own methods, the sending base's and the lookups' (client.py's layers)
    assert {"contacts", "plan", "breakdown", "doctor", "agents", "offices", "lookups"} <= set(
        members
    )
    assert {"BreakdownPlan", "BreakdownResult", "OfficeLookups", "VitecClient"} <= {
        c.__name__ for c in returned
    }
    assert sorted(c.__name__ for c in returned if c.__name__ not in vitec_nb.__all__) == []


@pytest.mark.parametrize("package", ["vitec_nb.plan", "vitec_nb.standin"])
def test_the_subpackages_all_names_only_what_they_hold(package: str) -> None:
    module = importlib.import_module(package)
    assert len(module.__all__) == len(set(module.__all__))
    assert [name for name in module.__all__ if not hasattr(module, name)] == []
