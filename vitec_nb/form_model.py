"""The form's rules without widgets: control values to query parts, choices, date checks.

Pure: nothing here imports ipywidgets, directly or through what it imports (a test checks).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from vitec_nb import i18n
from vitec_nb.errors import InvalidQueryError
from vitec_nb.form_messages import ANY_VALUE

__all__: list[str] = []  # internal to the form (widgets.py)


def _check_days(
    pair: str, start: dt.date | None, end: dt.date | None, language: str = "en"
) -> None:
    """A whole-day range whose last day is before its first: name the "to" control."""
    if start is not None and end is not None and end < start:
        raise InvalidQueryError(
            f"{pair}_to",
            i18n.text(
                "err.before", language, end=f"{end:%Y-%m-%d}", start_label=f"{pair}_from",
                start=f"{start:%Y-%m-%d}",
            ),
            i18n.text("err.on_or_after", language, start=f"{start:%Y-%m-%d}"),
        )  # fmt: skip


def _combine(day: dt.date | None, time: dt.time | None, field: str, language: str = "en") -> Any:
    """Date picker + optional time of day -> the day, a naive datetime (Swedish time), None."""
    if day is None:
        if time is not None:
            raise InvalidQueryError(
                field,
                i18n.text("err.time_needs_date", language),
                i18n.text("err.pick_date", language),
            )
        return None
    return day if time is None else dt.datetime.combine(day, time)


def _blank(text: str) -> str | None:
    text = text.strip()
    return text or None


def _chosen(value: Any) -> Any:
    """A drop-down's value for the query: "(any)" is None."""
    return None if value == ANY_VALUE else value


def _agent_options(agents: pd.DataFrame, language: str = "en") -> list[tuple[str, Any]]:
    """Agents as (label, user id): active first, archived marked; names stay unique."""
    archived = " (" + i18n.text("archived", language) + ")"
    rows = agents.sort_values(["archived", "name"], kind="stable")
    seen: dict[str, int] = {}
    options = []
    for r in rows.itertuples():
        label = str(r.name) + (archived if bool(r.archived) else "")
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label += f" [{r.user_id}]"
        options.append((label, str(r.user_id)))
    return options


def _contact_fields(fields: pd.DataFrame) -> pd.DataFrame:
    """Custom fields that can match a contact: valid for Person or Company (when known)."""
    if "valid_for" not in fields.columns:
        return fields
    keep = fields["valid_for"].map(
        lambda v: (
            v is None or not isinstance(v, (tuple, list)) or bool({"Person", "Company"} & set(v))
        )
    )
    return fields[keep.astype(bool)]


def _cached_calls(plan: Any, client: Any) -> int:
    from vitec_nb.plan import cached_calls  # the executor asks the cache (sends nothing)

    return cached_calls(client, plan)


def _pick_options(agent_options: Any) -> list[tuple[str, Any]]:
    """The agent drop-down's choices without "(any)": what the analyst can pick to show."""
    return [(label, value) for label, value in agent_options if value != ANY_VALUE]


def _others(result: Any, picked: tuple[str, ...]) -> int:
    """Agents with contacts in the run who were not picked (the chart's "others" group);
    special values such as "(no agent)" are their own segments, not counted."""
    counts = result.activity(by="agent")
    volume = counts.groupby("agent", observed=True)["contacts"].sum(min_count=1)
    regular = [
        v
        for v, n in volume.items()
        if not (isinstance(v, str) and v.startswith("(")) and (pd.isna(n) or n > 0)
    ]
    return sum(1 for v in regular if v not in set(picked))


def _picked_caption(
    result: Any, picked: tuple[str, ...], names: dict[Any, str], language: str = "en"
) -> str:
    """The pick in words for the run's caption: "agents: Anna Berg, Erik Holm; 17 others
    grouped" (the count is of agents with contacts in the run, not picked)."""
    shown = ", ".join(names.get(a, a) for a in picked)
    n = i18n.number(_others(result, picked), language)
    return i18n.text("caption.picked", language, names=shown, n=n)
