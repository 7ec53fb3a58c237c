"""Everything public is documented: each name of `vitec_nb.__all__` and each CLI command.

After sqlite-utils' test_docs.py: a name counts as documented when README.md or a page of
docs/ shows it as code (in backticks or a code block), e.g. `ContactQuery` or
`vnb.ContactQuery(...)`; a command when the docs show `vitec-nb COMMAND`.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

import vitec_nb
from vitec_nb.cli import main

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def code_spans(text: str) -> str:
    """The text of every inline code span and fenced code block, one per line."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return "\n".join([*(b.rstrip("\n") for b in blocks), *re.findall(r"`([^`\n]+)`", prose)])


CODE = "\n".join(code_spans(page.read_text(encoding="utf-8")) for page in PAGES)


def help_text(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stop:
        main([*argv, "--help"])
    assert stop.value.code == 0
    return out.getvalue()


def commands(text: str) -> list[str]:
    """The command names listed in an argparse help text (`  name   help` rows or `{a,b}`)."""
    listed = re.findall(r"^ {4}([a-z][a-z-]*)(?: {2,}|\n)", text, flags=re.MULTILINE)
    choices = re.search(r"^ {2}\{([a-z,-]+)\}", text, flags=re.MULTILINE)
    return listed or (choices.group(1).split(",") if choices else [])


def test_code_spans_are_read_from_inline_code_and_fenced_blocks() -> None:
    text = "Use `vnb.connect()` here.\n\n```python\nresult = client.breakdown(q)\n```\nnot connect"
    assert code_spans(text).split("\n") == ["result = client.breakdown(q)", "vnb.connect()"]


@pytest.mark.parametrize("name", [n for n in vitec_nb.__all__ if n != "__version__"])
def test_every_public_name_is_shown_in_the_docs(name: str) -> None:
    assert re.search(rf"(?<![\w.]){name}\b|\bvnb\.{name}\b|\bvitec_nb\.{name}\b", CODE), (
        f"{name} is in vitec_nb.__all__ but no page of README.md or docs/ shows it as code"
    )


def test_the_cli_lists_its_commands() -> None:
    assert {"fetch", "cache", "doctor"} <= set(commands(help_text()))


@pytest.mark.parametrize("command", commands(help_text()))
def test_every_cli_command_is_documented(command: str) -> None:
    assert re.search(rf"\bvitec-nb {command}\b", CODE), f"`vitec-nb {command}` is not in the docs"
    for sub in commands(help_text(command)):
        assert re.search(rf"\bvitec-nb {command} {sub}\b", CODE), (
            f"`vitec-nb {command} {sub}` is not in the docs"
        )
