"""Display labels for a breakdown's values: agents' names, told apart when two share one.

`labels()` turns the plan's names (id -> name per dimension) into labels that are unique
per dimension: a name held by one id stays as it is, a name held by several gets the
shortest id head that tells them apart ("Anna Berg (HAN1A2B…)"). `named()` puts a
`<dimension>_name` column after each named dimension of a counts or facts frame.
`agent_id_for()` finds an agent by name in the users lookup (`vitec-nb --agent`).
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import pandas as pd

from vitec_nb.errors import InvalidQueryError

__all__ = ["agent_id_for", "agent_labels", "labels", "named"]

ID_HEAD = 7  # "HAN" + 4 hex digits: the shortest head shown for a shared name


def labels(names: Mapping[str, Mapping[Any, str]]) -> dict[str, dict[Any, str]]:
    """Per dimension, value -> a label unique within the dimension (see the module)."""
    return {dim: _unique(dict(known)) for dim, known in names.items()}


def _unique(known: dict[Any, str]) -> dict[Any, str]:
    by_name: dict[str, list[Any]] = defaultdict(list)
    for value, name in known.items():
        by_name[name].append(value)
    out = dict(known)
    for name, values in by_name.items():
        if len(values) < 2:
            continue
        texts = [str(v) for v in values]
        width = ID_HEAD
        while len({t[:width] for t in texts}) < len(texts) and width < max(map(len, texts)):
            width += 1
        for value, text in zip(values, texts, strict=True):
            head = text[:width] + ("…" if len(text) > width else "")
            out[value] = f"{name} ({head})"
    return out


def named(frame: pd.DataFrame, labels: Mapping[str, Mapping[Any, str]]) -> pd.DataFrame:
    """`frame` with `<dim>_name` after each column `dim` that has labels.

    Values without a label (the special "(no agent)", "(other)", an unlisted user's id)
    are shown as they are. The name column is a categorical in the dimension's order.
    """
    out = frame.copy()
    for dim in [c for c in frame.columns if labels.get(c) and f"{c}_name" not in frame]:
        known = labels[dim]
        column = frame[dim]
        if isinstance(column.dtype, pd.CategoricalDtype):
            order = [known.get(v, str(v)) for v in column.cat.categories]
        else:
            order = [known.get(v, str(v)) for v in pd.unique(column.dropna())]
        text = column.astype(object).map(lambda v, k=known: v if pd.isna(v) else k.get(v, str(v)))
        shown = pd.Categorical(text, categories=list(dict.fromkeys(order)))
        out.insert(out.columns.get_loc(dim) + 1, f"{dim}_name", shown)
    return out


def agent_labels(agents: pd.DataFrame) -> dict[str, str]:
    """User id -> unique label, from a users lookup frame (`client.agents()`)."""
    known = dict(zip(map(str, agents["user_id"]), map(str, agents["name"]), strict=True))
    return _unique(known)


def _plain(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def agent_id_for(agents: pd.DataFrame, name: str, option: str = "agent") -> str:
    """The user id of the agent called `name` in `agents` (one or more offices' users).

    Case and spacing do not matter; a label from `agent_labels` ("Anna Berg (HAN1A2B…)")
    or a user id picks one agent. A name two agents share, or no agent of that name, is an
    `InvalidQueryError` naming `option`: the namesakes' labels, or the close matches.
    """
    shown = agent_labels(agents)
    names = dict(zip(map(str, agents["user_id"]), map(str, agents["name"]), strict=True))
    wanted = _plain(name)
    found = [u for u in names if wanted in (_plain(names[u]), _plain(shown[u]), _plain(u))]
    if len(found) == 1:
        return found[0]
    where = ", ".join(dict.fromkeys(map(str, agents["customer_id"]))) or "these offices"
    if found:
        raise InvalidQueryError(
            option,
            f"{len(found)} agents in {where} are called {name!r}: "
            + "; ".join(shown[uid] for uid in found),
            "one of those labels as written, or --agent-id with the user id",
        )
    by_plain = {_plain(text): text for text in shown.values()}  # what --agent accepts
    close = [by_plain[t] for t in difflib.get_close_matches(wanted, list(by_plain), n=5)]
    hint = f"; close matches: {', '.join(close)}" if close else "; no close match"
    raise InvalidQueryError(
        option,
        f"no agent called {name!r} in {where}{hint}",
        f"a name that `vitec-nb agents {where.split(',')[0]}` lists, or --agent-id",
    )
