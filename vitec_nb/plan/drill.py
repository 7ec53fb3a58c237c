"""Drill-down: the facts rows behind a breakdown's cells, and those contacts' details."""

from __future__ import annotations

import dataclasses
import logging
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from vitec_nb import activity
from vitec_nb import details as details_mod
from vitec_nb.errors import InvalidQueryError
from vitec_nb.plan.values import _dimension_order
from vitec_nb.provenance import provenance_of, set_provenance

__all__ = ["DetailsCalls", "contacts_in", "details", "details_calls"]

logger = logging.getLogger("vitec_nb")

# cell keys besides the plan's dimensions ("office" is another word for customer_id)
_EXTRA_KEYS = ("period", "kind", "customer_id", "office")
_ISO_LABEL = {"D": "%Y-%m-%d", "M": "%Y-%m", "Y": "%Y"}
_SHOWN = 40  # allowed values listed in an error at most
_YEAR_MONTH = re.compile(r"\d{4}(-\d{2})?")  # "2025-03", "2025": outside the range, still read


@dataclasses.dataclass(frozen=True)
class DetailsCalls:
    """What `details()` of some cells will ask: contacts, calls, and calls the cache holds."""

    contacts: int
    calls: int
    cached: int

    @property
    def to_make(self) -> int:
        """Calls that will reach the server (the rest come from the cache)."""
        return self.calls - self.cached

    def __str__(self) -> str:
        s = "" if self.calls == 1 else "s"
        return (
            f"{self.calls} contact-details call{s} for {self.contacts} contacts "
            f"({self.cached} already cached, {self.to_make} to make; 20 ids a call)"
        )


def contacts_in(result: Any, cell: Mapping[str, Any]) -> pd.DataFrame:
    """The facts rows of the cells `cell` names (a dimension left out: all its values)."""
    facts = result.facts
    keys = _keys(result)
    mask = np.ones(len(facts), dtype=bool)
    chosen: dict[str, Any] = {}
    for name, given in cell.items():
        if name not in keys:
            raise InvalidQueryError(
                name, "is not a dimension of this breakdown", ", ".join(k for k in keys)
            )
        if given is None:
            continue
        column = "customer_id" if name == "office" and name not in facts else name
        value = _resolve(result, column, given, name)
        chosen[column] = value
        mask &= _matches(facts[column], column, value)
    rows = facts[mask]
    return set_provenance(rows, provenance_of(facts).noted(cell=chosen))


def _keys(result: Any) -> tuple[str, ...]:
    extra = [k for k in _EXTRA_KEYS[1:] if k not in result.plan.by]
    return tuple(dict.fromkeys((_EXTRA_KEYS[0], *result.plan.by, *extra)))


def _matches(column: pd.Series, name: str, value: Any) -> np.ndarray:
    if isinstance(column.dtype, (pd.DatetimeTZDtype, pd.CategoricalDtype)):
        # compared as they are: no object per row (~100 ms a form run at 100 000 facts)
        return (column == value).to_numpy(dtype=bool)
    if name not in activity.MULTI_VALUED:
        return (column.astype(object) == value).to_numpy(dtype=bool)
    if isinstance(value, str) and value.startswith("("):  # the remainder: no value at all
        return column.map(lambda vals: len(vals) == 0).to_numpy(dtype=bool)
    return column.map(lambda vals: value in vals).to_numpy(dtype=bool)


def _resolve(result: Any, column: str, given: Any, option: str) -> Any:
    """The facts value `given` stands for: an id, a special label, a name or a period."""
    if column == "period":
        return _period(result, given)
    allowed = _allowed(result, column)
    if any(given == v and type(given) is type(v) for v in allowed):
        return given
    if column == "lead_score" and not isinstance(given, bool):
        number = _score_number(given)
        if number in allowed:
            return number
    names = result.names.get(column, {})
    if isinstance(given, str):
        wanted = given.strip().casefold()
        hits = [v for v in allowed if str(names.get(v, v)).strip().casefold() == wanted]
        hits = hits or [v for v in allowed if str(v).casefold() == wanted]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise InvalidQueryError(
                option,
                f"{given!r} names {len(hits)} values (in different offices): give one id",
                ", ".join(map(str, hits)),
            )
    shown = [_shown(v, names) for v in allowed]
    more = f", … ({len(shown) - _SHOWN} more)" if len(shown) > _SHOWN else ""
    raise InvalidQueryError(
        option, f"{given!r} is not a value of this breakdown", ", ".join(shown[:_SHOWN]) + more
    )


def _score_number(given: Any) -> Any:
    if isinstance(given, numbers.Integral):
        return int(given)
    if isinstance(given, str) and given.strip().isdigit():
        return int(given.strip())
    return None


def _shown(value: Any, names: Mapping[Any, str]) -> str:
    name = names.get(value)
    return f"{name} ({value})" if name and name != value else str(value)


def _allowed(result: Any, column: str) -> list[Any]:
    if column in activity.MULTI_VALUED:
        return list(_dimension_order(result.plan, column))
    series = result.facts[column]
    if isinstance(series.dtype, pd.CategoricalDtype):
        return list(series.cat.categories)
    return list(pd.unique(series.dropna()))


def period_labels(result: Any) -> dict[str, pd.Timestamp]:
    """Every period of the range by its labels: "2025-03" and "Mar 2025" (months), ..."""
    code = result.plan.period
    out: dict[str, pd.Timestamp] = {}
    for p in result.plan.periods:
        local = p.tz_convert(activity.TIMEZONE)
        if code in _ISO_LABEL:
            out[local.strftime(_ISO_LABEL[code])] = p
        if code == "W":
            iso = local.isocalendar()
            out[f"{iso.year}-W{iso.week:02d}"] = p
        out[activity.period_label(p, code, multiline=False)] = p
    return out


def _period(result: Any, given: Any) -> pd.Timestamp:
    labels = period_labels(result)
    plan = result.plan
    iso = [k for k in labels if k[:1].isdigit()]
    allowed = (
        f"a period of the range ({iso[0]} … {iso[-1]}, per {activity.period_name(plan.period)}): "
        "a label like these, a date or a Timestamp in it"
    )
    if isinstance(given, str):
        for label, start in labels.items():
            if label.casefold() == given.strip().casefold():
                return start
    if isinstance(given, str) and _YEAR_MONTH.fullmatch(given.strip()):
        given = given.strip() + ("-01" if len(given.strip()) == 7 else "-01-01")
    try:
        ts = activity.to_timestamp(given, "period")
    except InvalidQueryError:
        raise InvalidQueryError("period", f"{given!r} is not a period", allowed) from None
    start = activity.floor_period(ts, plan.period)
    if start not in plan.periods or not plan.start <= ts < plan.stop:
        raise InvalidQueryError("period", f"{given!r} is not in the range", allowed)
    return start


# --- details ---------------------------------------------------------------------------------


def _client(result: Any, client: Any) -> Any:
    client = client if client is not None else getattr(result, "client", None)
    if client is None:
        raise InvalidQueryError(
            "client", "this result has no client to ask", "details(..., client=vitec_nb.connect())"
        )
    return client


def _ids_by_office(rows: pd.DataFrame) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for office, ids in zip(rows["customer_id"].astype(str), rows["id"].astype(str), strict=True):
        out.setdefault(office, []).append(ids)
    return out


def details_calls(result: Any, cell: Mapping[str, Any], client: Any = None) -> DetailsCalls:
    """How many contact-details calls `details(**cell)` makes, and how many are cached
    (sends nothing)."""
    rows = contacts_in(result, cell)
    client = _client(result, client)
    calls = cached = 0
    for office, ids in _ids_by_office(rows).items():
        needed, fresh = details_mod.planned_calls(client, office, ids)
        calls, cached = calls + needed, cached + fresh
    return DetailsCalls(len(rows), calls, cached)


def details(
    result: Any,
    cell: Mapping[str, Any],
    fields: Any = None,
    progress: Any = None,
    *,
    refresh: bool = False,
    offline: bool = False,
    client: Any = None,
) -> pd.DataFrame:
    """The cells' facts rows with each contact's name and creation time (and the personal
    data `fields` names: none by default), through `client.contact_details`."""
    asked = details_mod.validate_fields(fields)  # before any request
    _check_progress(progress)
    rows = contacts_in(result, cell)
    client = _client(result, client)
    plan = details_calls(result, cell, client)
    logger.info("Drill-down: %s", plan)
    update, close = _progress(progress, plan.calls)
    frames, done = [], 0
    try:
        for office, ids in _ids_by_office(rows).items():
            step = _offset(update, done)
            frames.append(
                client.contact_details(
                    office, ids, asked, refresh=refresh, offline=offline, progress=step
                )
            )
            done += len(details_mod.batches(ids))
    finally:
        close()
    out = _merged(rows, frames, asked)
    came = provenance_of(rows).noted(
        details_calls=plan.calls,
        details_cached=plan.cached,
        fields=asked,
        missing=tuple(m for f in frames for m in provenance_of(f).missing),
    )
    return set_provenance(out, came)


def _check_progress(progress: Any) -> None:
    if progress is None or isinstance(progress, bool) or callable(progress):
        return
    raise InvalidQueryError(
        "progress", f"{progress!r} is not allowed", "None, True, False or a callable(done, total)"
    )


def _offset(update: Callable[[int], None], done: int) -> Callable[[int, int], None]:
    return lambda n, _total: update(done + n)


def _progress(progress: Any, total: int) -> tuple[Callable[[int], None], Callable[[], None]]:
    """(update(done), close()) over every office's calls: one bar or callable for the lot."""
    if callable(progress):
        return (lambda done: progress(done, total)), (lambda: None)
    if not progress or total == 0:
        return (lambda done: None), (lambda: None)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="Contact details", unit="call", leave=False)
    return (lambda done: bar.update(done - bar.n)), bar.close


def _merged(
    rows: pd.DataFrame, frames: Sequence[pd.DataFrame], asked: tuple[str, ...]
) -> pd.DataFrame:
    """Facts rows (in their order) + name, created_at and the asked fields from the details."""
    extra = ["name", "created_at", *asked]
    if frames:
        found = pd.concat([f[["id", *extra]] for f in frames], ignore_index=True)
    else:
        found = details_mod.details_frame([], "", [], asked)[["id", *extra]]
    found["id"] = found["id"].astype(str).str.upper()
    found = found.drop_duplicates("id").set_index("id")
    keys = rows["id"].astype(str).str.upper()
    out = rows.reset_index(drop=True).copy()
    for name in extra:
        out[name] = found[name].reindex(keys.to_numpy()).to_numpy()
        if name != "created_at":
            out[name] = out[name].astype(pd.StringDtype("pyarrow"))
    out["created_at"] = pd.to_datetime(out["created_at"]).astype(
        pd.DatetimeTZDtype("ns", activity.TIMEZONE)
    )
    first = ["kind", "id", "customer_id", "name"]
    rest = [c for c in out.columns if c not in first and c not in asked]
    return out[[*first, *rest, *asked]]
