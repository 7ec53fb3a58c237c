"""One vocabulary: no module of vitec_nb restates what `vitec_nb.vocab` defines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import vitec_nb
from vitec_nb import vocab

PACKAGE = Path(vitec_nb.__file__).parent
VOCAB = PACKAGE / "vocab.py"
SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p != VOCAB and "__pycache__" not in p.parts)

# text that is vocab's alone: found inside any string literal (docstrings aside) elsewhere
OWNED_TEXT = {
    vocab.TIMEZONE: "vocab.TIMEZONE",
    vocab.DEMO_BANNER: "vocab.DEMO_BANNER (or DEMO_SOURCE, DEMO_NOTE)",
    "[MSOGT]": "vocab.CUSTOMER_ID_PATTERN / vocab.is_customer_id",
}
# a string literal equal to one of these is a restatement of a vocab constant
OWNED_WORDS = {vocab.DECEASED_ESTATE: "vocab.DECEASED_ESTATE"}
DIMENSION_WORDS = {w for nouns in vocab.DIMENSIONS.values() for w in nouns}
PERIOD_NOUNS = {noun for _, noun in vocab.PERIODS.values()}


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes (module, class, function): prose, not vocabulary."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _strings(node: ast.AST | None) -> list[str]:
    return [n.value for n in ([node] if node else []) if _is_str(n)]


def _is_str(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _labels_dimensions(node: ast.Dict) -> bool:
    """A dict giving at least two dimensions vocab's own label (or its pair of nouns)."""
    hits = 0
    for key, value in zip(node.keys, node.values, strict=True):
        nouns = vocab.DIMENSIONS.get(_strings(key)[0]) if _is_str(key) else None
        if nouns is None:
            continue
        pair = tuple(_strings_of(value)[:2]) if isinstance(value, ast.Tuple) else ()
        hits += any(s in nouns for s in _strings(value)) or pair == nouns
    return hits >= 2


def _strings_of(node: ast.Tuple) -> list[str]:
    return [s for e in node.elts for s in _strings(e)]


def restatements(source: str, name: str) -> list[str]:
    """Every place in `source` that restates the vocabulary, as "file:line: what, use X"."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        where = f"{name}:{getattr(node, 'lineno', '?')}"
        if _is_str(node) and id(node) not in skip:
            assert isinstance(node, ast.Constant)
            for text, use in OWNED_TEXT.items():
                if text in node.value:
                    found.append(f"{where}: {text!r} in a literal, use {use}")
            if node.value in OWNED_WORDS:
                found.append(f"{where}: {node.value!r}, use {OWNED_WORDS[node.value]}")
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            kinds = {s for e in node.elts for s in _strings(e)} & set(vocab.KINDS)
            if len(kinds) >= 2:
                found.append(f"{where}: the kinds listed again, use vocab.KINDS")
        if isinstance(node, ast.Dict):
            keys = {s for k in node.keys for s in _strings(k)}
            values = {s for v in node.values for s in _strings(v)}
            if len(keys & set(vocab.KINDS)) >= 2:
                found.append(f"{where}: a table by kind, use vocab.KIND_* tables")
            if _labels_dimensions(node):
                found.append(f"{where}: dimension labels again, use vocab.DIMENSIONS")
            if len((values | keys) & PERIOD_NOUNS) >= 3:
                found.append(f"{where}: a period table again, use vocab.PERIODS")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_restates_the_vocabulary(path: Path) -> None:
    found = restatements(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE)))
    assert found == []


@pytest.mark.parametrize(
    ("snippet", "use"),
    [
        ('TZ = "Europe/Stockholm"', "vocab.TIMEZONE"),
        ('x = f"{n} rows · DEMO DATA"', "vocab.DEMO_BANNER"),
        ('PATTERN = r"[MSOGT][0-9]+"', "vocab.CUSTOMER_ID_PATTERN"),
        ('if kind == "deceased_estate": pass', "vocab.DECEASED_ESTATE"),
        ('ORDER = ("person", "company")', "vocab.KINDS"),
        ('NAMES = {"person": "persons", "company": "companies"}', "vocab.KIND_"),
        ('WORDS = {"agent": "agent", "lead_score": "lead score"}', "vocab.DIMENSIONS"),
        ('N = {"agent": ("agent", "agents"), "office": ("office", "offices")}', "vocab.DIMENSIONS"),
        ('P = {"D": "day", "W": "week", "M": "month"}', "vocab.PERIODS"),
    ],
)
def test_the_check_finds_each_kind_of_restatement(snippet: str, use: str) -> None:
    found = restatements(snippet, "snippet.py")
    assert len(found) == 1
    assert found[0].startswith("snippet.py:1: ")
    assert use in found[0]


def test_the_check_leaves_prose_and_other_words_alone() -> None:
    source = (
        '"""Times are Europe/Stockholm; outputs say DEMO DATA."""\n'
        "def f():\n"
        '    """A deceased_estate has no lead score."""\n'
        '    return {"person": 1}, ("agent",), {"agent": "agent_id", "lead_score": "x"}\n'
        'NEEDS = {"agent": ("agents", "agents"), "newsletter_list": ("lists", "lists")}\n'
    )
    assert restatements(source, "prose.py") == []


def test_vocab_tables_agree_with_each_other() -> None:
    assert vocab.KINDS == tuple(vocab.KIND_API_LISTS) == tuple(vocab.KIND_PLURALS)
    assert tuple(vocab.KIND_TYPES) == vocab.KINDS
    assert all(tuple(table) == vocab.KINDS for table in vocab.KIND_LABELS.values())
    assert set(vocab.PERIOD_PLURALS) == PERIOD_NOUNS
    assert set(vocab.PERIOD_ALIASES.values()) == set(vocab.PERIODS)
    assert vocab.DEMO_SOURCE.startswith(vocab.DEMO_BANNER)
    assert vocab.DEMO_NOTE.startswith(vocab.DEMO_BANNER)


def test_the_restating_modules_now_take_vocabs_values() -> None:
    from vitec_nb import activity, charts, client, form_output, report
    from vitec_nb.plan import values

    assert activity.PERIODS is vocab.PERIODS
    assert set(values.DIMENSIONS) == set(vocab.DIMENSIONS)
    assert values._NOUNS is vocab.DIMENSIONS
    assert {c: noun for c, (_, noun) in vocab.PERIODS.items()} == report.PERIODS
    assert report.DIMENSION_NAMES["lead_score"] == "lead score"
    assert client.DEMO_BANNER == vocab.DEMO_SOURCE  # the client's public name, kept
    assert charts.DEMO_NOTE == vocab.DEMO_NOTE
    assert form_output.KIND_LABELS is vocab.KIND_LABELS
    assert tuple(vocab.DIMENSIONS) == form_output.SPLIT_WORDS


@pytest.mark.parametrize("given", ["m30011", " M30011 ", "s1", "T0042"])
def test_one_customer_id_rule_for_queries_and_settings(given: str) -> None:
    from vitec_nb import options
    from vitec_nb.query import ContactQuery

    expected = given.strip().upper()
    assert vocab.is_customer_id(vocab.normalize_customer_id(given))
    assert ContactQuery(given).customer_id == expected
    assert options.customer_id(given, "VITEC_CUSTOMER_IDS") == expected


@pytest.mark.parametrize("given", ["X30011", "M", "M30011A", "M" + "1" * 40, ""])
def test_one_customer_id_rule_refuses_the_same_ids(given: str) -> None:
    from vitec_nb import options
    from vitec_nb.errors import ConfigurationError, InvalidQueryError
    from vitec_nb.query import ContactQuery

    assert not vocab.is_customer_id(vocab.normalize_customer_id(given))
    with pytest.raises(InvalidQueryError, match="customer_id"):
        ContactQuery(given)
    with pytest.raises(ConfigurationError, match="VITEC_CUSTOMER_IDS"):
        options.customer_id(given, "VITEC_CUSTOMER_IDS")
