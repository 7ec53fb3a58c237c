"""Display labels for a breakdown's values: agents' names, told apart when two share one.

`labels()` turns the plan's names (id -> name per dimension) into labels that are unique
per dimension: a name held by one id stays as it is, a name held by several gets the
shortest id head that tells them apart ("Anna Berg (HAN1A2B…)"). `named()` puts a
`<dimension>_name` column after each named dimension of a counts or facts frame.
`agent_id_for()` finds an agent by name in the users lookup (`vitec-nb --agent`),
`checked_agent()` checks a name or a user id given as a filter, `agents_table()` and
`agents_text()` list the users for people (`vitec-nb agents`).
"""

from __future__ import annotations

import difflib
import warnings
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from vitec_nb.errors import InvalidQueryError
from vitec_nb.provenance import provenance_of
from vitec_nb.vocab import DEMO_SOURCE

__all__ = [
    "agent_id_for",
    "agent_labels",
    "agents_table",
    "agents_text",
    "checked_agent",
    "labels",
    "named",
]

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


def checked_agent(
    agents: pd.DataFrame,
    *,
    agent: str | None = None,
    agent_id: str | None = None,
    note: Callable[[str], object] | None = None,
) -> str | None:
    """The user id to filter on: agent `agent` by name (`agent_id_for`), or `agent_id`
    checked against the users lookup `agents`; None when neither is given.

    A name given as `agent_id` would silently match nobody: it is an `InvalidQueryError`
    saying the agent's id. An id the lookup does not list may still be real (GetUser lists
    public users only): it is kept, and `note` (default: a `UserWarning`) says so.
    """
    if agent is not None and agent_id is not None:
        raise InvalidQueryError(
            "agent", f"give one, got {agent!r} and agent_id {agent_id!r}", "a name or a user id"
        )
    if agent is not None:
        return agent_id_for(agents, agent)
    if agent_id is None or agent_id.strip() in set(map(str, agents["user_id"])):
        return agent_id
    try:
        found = agent_id_for(agents, agent_id, option="agent-id")
    except InvalidQueryError:
        found = None
    if found is not None:
        raise InvalidQueryError(
            "agent-id",
            f"{agent_id!r} is an agent's name, not a user id (its id is {found})",
            f"--agent {agent_id!r}, or --agent-id {found}",
        )
    if " " in agent_id.strip():
        raise InvalidQueryError(
            "agent-id",
            f"{agent_id!r} is neither a listed agent's id nor a name `vitec-nb agents` lists",
            "a user id (see `vitec-nb agents`), or --agent NAME",
        )
    message = f"--agent-id {agent_id} is not among the users the lookup lists; it is sent as given"
    if note is None:
        warnings.warn(message, UserWarning, stacklevel=2)
    else:
        note(message)
    return agent_id


def agents_table(agents: pd.DataFrame) -> pd.DataFrame:
    """The users of a lookup for people, by name: name (told apart, see `agent_labels`),
    id, title, archived ("archived" or ""), public ("public" or "not public"); text only."""
    return pd.DataFrame(
        {
            "name": agents["user_id"].astype(str).map(agent_labels(agents)),
            "id": agents["user_id"].astype(str),
            "title": agents["title"].fillna(""),
            "archived": agents["archived"].map({True: "archived", False: ""}),
            "public": agents["public"].map({True: "public", False: "not public"}),
        }
    ).sort_values("name", key=lambda s: s.str.casefold())


def agents_text(agents: pd.DataFrame, office: str) -> str:
    """The users of office `office` as text: "M30011: 12 agents, every user (GetAllUsers)",
    then `agents_table`, every column left-aligned (names read better so)."""
    came = provenance_of(agents)
    which = "every user (GetAllUsers)" if came.agents_complete else "public users only (GetUser)"
    head = f"{office}: {len(agents)} agents, {which}{f' [{DEMO_SOURCE}]' if came.demo else ''}"
    if agents.empty:
        return head
    table = agents_table(agents)
    widths = {c: max([len(c), *map(len, table[c])]) for c in table.columns}
    rows = [list(table.columns), *table.itertuples(index=False)]
    lines = [
        "  ".join(str(v).ljust(widths[c]) for c, v in zip(table.columns, row, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join([head, *lines])
